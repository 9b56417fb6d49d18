import { randomUUID } from 'node:crypto';
import { isCairnError } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { createSqlStores, createSqlTransactor } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { AccessControl } from '../governance/index.js';
import type { LineageEdge, NodeKind, NodeRef } from './entities.js';
import { LineageService } from './lineage.service.js';
import type { NodeDescriber } from './node-describer.js';
import { recordEdges } from './record-edges.js';

const clock = { now: () => 1_700_000_000_000 };

/** Describes every id it is asked about, and remembers each call. */
class CountingDescriber implements NodeDescriber {
  readonly calls: Array<{ kind: NodeKind; ids: string[] }> = [];
  constructor(private readonly known: (id: string) => boolean = () => true) {}
  async describe(kind: NodeKind, ids: readonly string[]) {
    this.calls.push({ kind, ids: [...ids] });
    return new Map(
      ids
        .filter(this.known)
        .map((id) => [id, { label: `${kind} ${id.slice(-2)}`, attributes: { seen: true } }]),
    );
  }
}

describeEachDatabase('LineageService', ({ database }) => {
  const stores = () => createSqlStores(database().db, database().helpers);
  const access = new AccessControl({ authEnabled: false });
  const service = () => new LineageService({ store: stores().lineage, clock, access });
  const ref = (kind: NodeKind, name: string, prefix: string): NodeRef => ({ kind, id: `${prefix}-${name}` });
  const edge = (from: NodeRef, relation: LineageEdge['relation'], to: NodeRef): LineageEdge => ({
    from,
    to,
    relation,
    createdAt: 5,
  });

  /** dataset -input-> child <-parent- sweep; child -produced-> model version. */
  async function smallGraph() {
    const p = randomUUID().slice(0, 8);
    const g = {
      data: ref('dataset', 'data', p),
      sweep: ref('run', 'sweep', p),
      child: ref('run', 'child', p),
      mv: ref('model_version', 'mv', p),
    };
    await recordEdges(stores(), [
      edge(g.data, 'input', g.child),
      edge(g.sweep, 'parent', g.child),
      edge(g.child, 'produced', g.mv),
    ]);
    return g;
  }

  it('labels nodes through one describe call per kind', async () => {
    const g = await smallGraph();
    const lineage = service();
    const runs = new CountingDescriber();
    const datasets = new CountingDescriber();
    lineage.registerDescriber('run', runs);
    lineage.registerDescriber('dataset', datasets);

    const graph = await lineage.provenance(g.mv);
    expect(graph.root).toEqual(g.mv);
    expect(graph.truncated).toBe(false);
    expect(graph.nodes.map((n) => n.id)).toEqual([g.mv.id, g.child.id, g.data.id, g.sweep.id]);
    expect(runs.calls).toEqual([{ kind: 'run', ids: [g.child.id, g.sweep.id] }]);
    expect(datasets.calls).toHaveLength(1);
    // No model_version describer registered: labelled by its id.
    expect(graph.nodes[0]).toEqual({ ...g.mv, label: g.mv.id, attributes: {} });
    expect(graph.nodes[1]).toEqual({ ...g.child, label: 'run ld', attributes: { seen: true } });
    expect(graph.edges).toEqual([
      { from: g.child, to: g.mv, relation: 'produced', depth: 1, createdAt: 5 },
      { from: g.data, to: g.child, relation: 'input', depth: 2, createdAt: 5 },
      { from: g.sweep, to: g.child, relation: 'parent', depth: 2, createdAt: 5 },
    ]);
  });

  it('walks downstream to the asked depth', async () => {
    const g = await smallGraph();
    const one = await service().downstream(g.data, { depth: 1 });
    expect(one.edges.map((e) => e.to)).toEqual([g.child]);
    const two = await service().downstream(g.data, { depth: 2 });
    expect(two.nodes.map((n) => n.id)).toEqual([g.data.id, g.child.id, g.mv.id]);
    const up = await service().upstream(g.child, { depth: 1 });
    expect(up.nodes).toHaveLength(3);
  });

  it('answers an unknown node with a graph of that node alone', async () => {
    const lineage = service();
    const runs = new CountingDescriber(() => false);
    lineage.registerDescriber('run', runs);
    const graph = await lineage.upstream({ kind: 'run', id: 'nobody' });
    expect(graph).toEqual({
      root: { kind: 'run', id: 'nobody' },
      nodes: [{ kind: 'run', id: 'nobody', label: 'nobody', attributes: {} }],
      edges: [],
      truncated: false,
    });
  });

  it('cuts provenance at 10,000 edges and says so', async () => {
    const p = randomUUID().slice(0, 8);
    const run = ref('run', 'big', p);
    await recordEdges(
      stores(),
      Array.from({ length: 10_001 }, (_, i) => edge(ref('dataset', `d${i}`, p), 'input', run)),
    );
    const graph = await service().provenance(run);
    expect(graph.truncated).toBe(true);
    expect(graph.edges).toHaveLength(10_000);
    expect(graph.nodes).toHaveLength(10_001);
  });

  it('refuses bad input with the field named', async () => {
    const field = async (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (isCairnError(e) ? `${e.code}:${e.field}` : String(e)),
      );
    const lineage = service();
    expect(await field(lineage.upstream({ kind: 'model', id: 'x' }))).toBe('INVALID_ARGUMENT:kind');
    expect(await field(lineage.upstream({ kind: 'run', id: 'x' }, { depth: 0 }))).toBe(
      'INVALID_ARGUMENT:depth',
    );
    expect(await field(lineage.downstream({ kind: 'run', id: 'x' }, { depth: 65 }))).toBe(
      'INVALID_ARGUMENT:depth',
    );
    expect(await field(lineage.provenance({ kind: 'run', id: '' }))).toBe('INVALID_ARGUMENT:id');
    expect(await field(lineage.openLineage({ kind: 'run', id: 'x' }, { direction: 'up' }))).toBe(
      'INVALID_ARGUMENT:direction',
    );
  });

  it('allows one describer per kind', () => {
    const lineage = service();
    lineage.registerDescriber('run', new CountingDescriber());
    expect(() => lineage.registerDescriber('run', new CountingDescriber())).toThrow(/already registered/);
  });

  describe('recordEdges', () => {
    it('commits and rolls back with the transaction it is given', async () => {
      const p = randomUUID().slice(0, 8);
      const transactor = createSqlTransactor(database());
      const kept = edge(ref('dataset', 'a', p), 'input', ref('run', 'r', p));
      const lost = edge(ref('dataset', 'b', p), 'input', ref('run', 'r', p));
      await transactor.run((s) => recordEdges(s, [kept]));
      await expect(
        transactor.run(async (s) => {
          await recordEdges(s, [lost]);
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      const graph = await service().upstream(ref('run', 'r', p));
      expect(graph.edges.map((e) => e.from)).toEqual([kept.from]);
    });

    it('drops self-edges and refuses a malformed edge', async () => {
      const p = randomUUID().slice(0, 8);
      const r = ref('run', 'r', p);
      await recordEdges(stores(), [edge(r, 'parent', r)]);
      expect((await service().upstream(r)).edges).toEqual([]);
      await expect(
        recordEdges(stores(), [{ ...edge(ref('dataset', 'd', p), 'input', r), relation: 'fed' as 'input' }]),
      ).rejects.toMatchObject({ code: 'INTERNAL' });
    });
  });
});
