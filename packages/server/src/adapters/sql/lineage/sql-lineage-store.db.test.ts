import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LineageEdge, NodeKind, NodeRef, Relation, WalkedEdge } from '../../../modules/lineage/index.js';
import { describeEachDatabase } from '../../../testing/test-databases.js';
import { SqlLineageStore } from './sql-lineage-store.js';

const T0 = 1_700_000_000_000;

/** Nodes private to one test: the suite shares one database. */
function nodes(): (name: string, kind?: NodeKind) => NodeRef {
  const prefix = randomUUID().slice(0, 8);
  return (name, kind = 'run') => ({ kind, id: `${prefix}-${name}` });
}

const edge = (from: NodeRef, to: NodeRef, relation: Relation = 'input', createdAt = T0): LineageEdge => ({
  from,
  to,
  relation,
  createdAt,
});

/** `from>to@depth` per edge, sorted, for compact assertions. */
const shape = (edges: readonly WalkedEdge[]): string[] =>
  edges.map((e) => `${e.from.id.slice(9)}>${e.to.id.slice(9)}@${e.depth}`).sort();

describeEachDatabase('SqlLineageStore', ({ database }) => {
  const store = (): SqlLineageStore => new SqlLineageStore(database().db, database().helpers);
  const walk = (start: NodeRef, direction: 'upstream' | 'downstream', maxDepth = 64, maxEdges = 10_000) =>
    store().walk(start, { direction, maxDepth, maxEdges });

  describe('addEdges', () => {
    it('keeps the first copy of an edge, within a batch and across batches', async () => {
      const n = nodes();
      await store().addEdges([
        edge(n('d', 'dataset'), n('r'), 'input', T0),
        edge(n('d', 'dataset'), n('r'), 'input', T0 + 1),
      ]);
      await store().addEdges([edge(n('d', 'dataset'), n('r'), 'input', T0 + 2)]);
      const result = await walk(n('r'), 'upstream');
      expect(result.edges).toEqual([
        { from: n('d', 'dataset'), to: n('r'), relation: 'input', createdAt: T0, depth: 1 },
      ]);
    });

    it('stores two relations between the same nodes as two edges', async () => {
      const n = nodes();
      await store().addEdges([edge(n('a'), n('b'), 'parent'), edge(n('a'), n('b'), 'step')]);
      const result = await walk(n('b'), 'upstream');
      expect(result.edges.map((e) => e.relation)).toEqual(['parent', 'step']);
    });

    it('writes batches larger than one statement takes', async () => {
      const n = nodes();
      const run = n('run');
      const inputs = Array.from({ length: 2500 }, (_, i) => edge(n(`d${i}`, 'dataset'), run));
      await store().addEdges(inputs);
      const result = await walk(run, 'upstream', 1, 10_000);
      expect(result.edges).toHaveLength(2500);
      expect(result.truncated).toBe(false);
    });

    it('accepts an empty list', async () => {
      await expect(store().addEdges([])).resolves.toBeUndefined();
    });
  });

  describe('walk', () => {
    it('follows a chain upstream and downstream with the depth of each edge', async () => {
      const n = nodes();
      // d -input-> r1 -parent-> r2 -produced-> mv
      await store().addEdges([
        edge(n('d', 'dataset'), n('r1'), 'input'),
        edge(n('r1'), n('r2'), 'parent'),
        edge(n('r2'), n('mv', 'model_version'), 'produced'),
      ]);
      const up = await walk(n('mv', 'model_version'), 'upstream');
      expect(shape(up.edges)).toEqual(['d>r1@3', 'r1>r2@2', 'r2>mv@1']);
      expect(up.edges.map((e) => e.depth)).toEqual([1, 2, 3]);
      expect(up.edges[2]).toMatchObject({ from: n('d', 'dataset'), to: n('r1'), relation: 'input' });

      const down = await walk(n('d', 'dataset'), 'downstream');
      expect(shape(down.edges)).toEqual(['d>r1@1', 'r1>r2@2', 'r2>mv@3']);
      expect(up.truncated || down.truncated).toBe(false);
    });

    it('stops at the depth limit', async () => {
      const n = nodes();
      await store().addEdges(
        Array.from({ length: 10 }, (_, i) => edge(n(`r${i + 1}`), n(`r${i}`), 'parent')),
      );
      const result = await walk(n('r0'), 'upstream', 3);
      expect(shape(result.edges)).toEqual(['r1>r0@1', 'r2>r1@2', 'r3>r2@3']);
      expect(result.truncated).toBe(false);
      expect((await walk(n('r0'), 'upstream', 1)).edges).toHaveLength(1);
    });

    it('returns each edge of a diamond once, at its smallest depth', async () => {
      const n = nodes();
      // a feeds b and c, both feed d; a also feeds d directly.
      await store().addEdges([
        edge(n('a'), n('b')),
        edge(n('a'), n('c')),
        edge(n('b'), n('d')),
        edge(n('c'), n('d')),
        edge(n('a'), n('d')),
      ]);
      const up = await walk(n('d'), 'upstream');
      expect(shape(up.edges)).toEqual(['a>b@2', 'a>c@2', 'a>d@1', 'b>d@1', 'c>d@1']);
      const down = await walk(n('a'), 'downstream');
      expect(shape(down.edges)).toEqual(['a>b@1', 'a>c@1', 'a>d@1', 'b>d@2', 'c>d@2']);
    });

    it('walks a ladder of 60 stacked diamonds (2^60 paths) quickly', async () => {
      const n = nodes();
      const edges: LineageEdge[] = [];
      for (let i = 0; i < 60; i++) {
        for (const a of ['x', 'y'])
          for (const b of ['x', 'y']) edges.push(edge(n(`${a}${i + 1}`), n(`${b}${i}`)));
      }
      await store().addEdges(edges);
      const started = performance.now();
      const result = await walk(n('x0'), 'upstream', 64);
      expect(performance.now() - started).toBeLessThan(2000);
      // Level 1 has the two edges into x0; every later level all four.
      expect(result.edges).toHaveLength(2 + 59 * 4);
      expect(new Set(result.edges.map((e) => `${e.from.id}>${e.to.id}`)).size).toBe(result.edges.length);
      expect(Math.max(...result.edges.map((e) => e.depth))).toBe(60);
    });

    it('terminates on cycles, each edge once at its smallest depth', async () => {
      const n = nodes();
      await store().addEdges([
        edge(n('a'), n('b')),
        edge(n('b'), n('c')),
        edge(n('c'), n('a')),
        edge(n('a'), n('a'), 'parent'),
      ]);
      const up = await walk(n('a'), 'upstream', 64);
      expect(shape(up.edges)).toEqual(['a>a@1', 'a>b@3', 'b>c@2', 'c>a@1']);
      const down = await walk(n('a'), 'downstream', 64);
      expect(shape(down.edges)).toEqual(['a>a@1', 'a>b@1', 'b>c@2', 'c>a@3']);
      expect(up.truncated || down.truncated).toBe(false);
    });

    it('returns nothing for a node without edges', async () => {
      const n = nodes();
      expect(await walk(n('alone'), 'upstream')).toEqual({ edges: [], truncated: false });
      expect(await walk(n('alone'), 'downstream')).toEqual({ edges: [], truncated: false });
    });

    it('does not cross between directions', async () => {
      const n = nodes();
      // b's other input is not upstream of c: it enters b, which c does not depend on through it.
      await store().addEdges([edge(n('a'), n('b')), edge(n('b'), n('c')), edge(n('z'), n('a'))]);
      expect(shape((await walk(n('b'), 'upstream')).edges)).toEqual(['a>b@1', 'z>a@2']);
      expect(shape((await walk(n('b'), 'downstream')).edges)).toEqual(['b>c@1']);
    });
  });

  describe('truncation', () => {
    it('cuts at maxEdges, nearest edges first, and says so', async () => {
      const n = nodes();
      const root = n('root');
      const edges: LineageEdge[] = [];
      for (let i = 0; i < 5; i++) {
        edges.push(edge(n(`p${i}`), root));
        for (let j = 0; j < 5; j++) edges.push(edge(n(`g${i}${j}`), n(`p${i}`)));
      }
      await store().addEdges(edges);
      const all = await walk(root, 'upstream', 64, 30);
      expect(all.edges).toHaveLength(30);
      expect(all.truncated).toBe(false);

      const cut = await walk(root, 'upstream', 64, 7);
      expect(cut.truncated).toBe(true);
      expect(cut.edges).toHaveLength(7);
      expect(cut.edges.slice(0, 5).every((e) => e.depth === 1)).toBe(true);
      expect(cut.edges.slice(5).every((e) => e.depth === 2)).toBe(true);
      // Deterministic: the same cut every time.
      expect(await walk(root, 'upstream', 64, 7)).toEqual(cut);
    });

    it('is exact on a cycle walked to depth 64: the walk is cut only when edges are really missing', async () => {
      const n = nodes();
      await store().addEdges([edge(n('a'), n('b')), edge(n('b'), n('a'))]);
      expect(await walk(n('a'), 'upstream', 64, 2)).toMatchObject({ truncated: false });
      const cut = await walk(n('a'), 'upstream', 64, 1);
      expect(cut.truncated).toBe(true);
      expect(shape(cut.edges)).toEqual(['b>a@1']);
    });

    it('stops early in a large graph instead of walking all of it', async () => {
      const n = nodes();
      // A dataset feeding 3000 runs, each feeding a model version.
      const d = n('d', 'dataset');
      const edges: LineageEdge[] = [];
      for (let i = 0; i < 3000; i++) {
        edges.push(edge(d, n(`r${i}`)), edge(n(`r${i}`), n(`m${i}`, 'model_version'), 'produced'));
      }
      await store().addEdges(edges);
      const result = await walk(d, 'downstream', 64, 100);
      expect(result.truncated).toBe(true);
      expect(result.edges).toHaveLength(100);
      expect(result.edges.every((e) => e.depth === 1)).toBe(true);
    });
  });

  describe('removeEdges', () => {
    it('removes exactly the named edges', async () => {
      const n = nodes();
      await store().addEdges([
        edge(n('a'), n('b'), 'parent'),
        edge(n('a'), n('b'), 'step'),
        edge(n('c'), n('b')),
      ]);
      await store().removeEdges([
        { from: n('a'), to: n('b'), relation: 'parent' },
        { from: n('x'), to: n('b'), relation: 'input' },
      ]);
      expect(shape((await walk(n('b'), 'upstream')).edges)).toEqual(['a>b@1', 'c>b@1']);
      expect((await walk(n('b'), 'upstream')).edges.map((e) => e.relation).sort()).toEqual(['input', 'step']);
    });

    it('removes long lists in parts', async () => {
      const n = nodes();
      const edges = Array.from({ length: 450 }, (_, i) => edge(n(`d${i}`, 'dataset'), n('r')));
      await store().addEdges(edges);
      await store().removeEdges(edges.slice(0, 449));
      expect((await walk(n('r'), 'upstream')).edges).toHaveLength(1);
    });
  });
});
