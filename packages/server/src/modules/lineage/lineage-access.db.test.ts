import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createSqlStores, createSqlTransactor } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { AccessControl, runAsCaller, type Caller } from '../governance/index.js';
import type { NodeKind, NodeRef } from './entities.js';
import { LineageService } from './lineage.service.js';
import { recordEdges } from './record-edges.js';

const clock = { now: () => 1_700_000_000_000 };

const viewerOf = (projectId: string): Caller => ({
  actor: `viewer-of-${projectId}`,
  userId: null,
  isAdmin: false,
  roles: new Map([[projectId, new Set(['viewer' as const])]]),
});

describeEachDatabase('LineageService permissions', ({ database }) => {
  /** dataset (p1) -input-> run (p1) -produced-> model version (p2); a commit (no project) -source_code-> run. */
  async function crossProjectGraph() {
    const p = randomUUID().slice(0, 8);
    const node = (kind: NodeKind, name: string): NodeRef => ({ kind, id: `${p}-${name}` });
    const [dataset, run, version, commit] = [
      node('dataset', 'd'),
      node('run', 'r'),
      node('model_version', 'v'),
      node('code_version', 'c'),
    ];
    const db = database();
    await createSqlTransactor(db, clock).run((stores) =>
      recordEdges(stores, [
        { from: dataset, to: run, relation: 'input', createdAt: 1 },
        { from: commit, to: run, relation: 'source_code', createdAt: 1 },
        { from: run, to: version, relation: 'produced', createdAt: 1 },
      ]),
    );
    const project: Record<string, string | null> = {
      dataset: 'p1',
      run: 'p1',
      model_version: 'p2',
      code_version: null,
    };
    const lineage = new LineageService({
      store: createSqlStores(db.db, db.helpers).lineage,
      clock,
      access: new AccessControl({ authEnabled: true }),
    });
    for (const kind of Object.keys(project) as NodeKind[]) {
      lineage.registerDescriber(kind, {
        describe: async (k, ids) =>
          new Map(
            ids.map((id) => [id, { label: `${k} label`, attributes: { a: 1 }, projectId: project[k] }]),
          ),
      });
    }
    return { lineage, dataset, run, version, commit };
  }

  it('a reader of the start node sees nodes of unreadable projects as kind and id only', async () => {
    const g = await crossProjectGraph();
    const graph = await runAsCaller(viewerOf('p2'), () => g.lineage.provenance(g.version));
    const shown = Object.fromEntries(graph.nodes.map((n) => [n.kind, n]));
    expect(shown['model_version']).toMatchObject({ label: 'model_version label', attributes: { a: 1 } });
    expect(shown['run']).toEqual({ ...g.run, label: g.run.id, attributes: {}, redacted: true });
    expect(shown['dataset']).toEqual({ ...g.dataset, label: g.dataset.id, attributes: {}, redacted: true });
    expect(shown['code_version']).toMatchObject({ label: 'code_version label' });
    expect(graph.edges).toHaveLength(3);
  });

  it('a caller who cannot read the start node is refused, whatever the walk', async () => {
    const g = await crossProjectGraph();
    for (const walk of [
      () => g.lineage.upstream(g.version),
      () => g.lineage.downstream(g.version),
      () => g.lineage.provenance(g.version),
      () => g.lineage.openLineage(g.version),
    ] as Array<() => Promise<unknown>>) {
      await expect(runAsCaller(viewerOf('p1'), walk)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    }
  });

  it('a start node no project owns (a commit) is open; what it leads to is still redacted', async () => {
    const g = await crossProjectGraph();
    const graph = await runAsCaller(viewerOf('p2'), () => g.lineage.downstream(g.commit, { depth: 5 }));
    expect(graph.nodes.map((n) => [n.kind, n.redacted ?? false])).toEqual([
      ['code_version', false],
      ['run', true],
      ['model_version', false],
    ]);
  });
});
