import { LineageGraph } from '@cairn/contract';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuthWorld, type AuthWorld } from '../../testing/auth-world.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';

const ADMIN_TOKEN = 'lineage-admin-token-0123456789abcdef0123456789';
const ML = '/api/2.0/mlflow';
const COMMIT = 'abcdef1234567890abcdef1234567890abcdef12';

interface GraphNode {
  kind: string;
  id: string;
  label: string;
  attributes: Record<string, unknown>;
  redacted?: boolean;
}

describeEachDatabase('lineage reads with auth on (HTTP)', ({ database }) => {
  let t: TestApp;
  let world: AuthWorld;
  /** p1: a training run with a dataset input and a commit; p2: a run whose parent is that run. */
  let trainRun: string;
  let childRun: string;

  async function run(project: string, tags: Array<{ key: string; value: string }>): Promise<string> {
    const experiment = await world.call('admin', 'POST', '/api/v1/experiments', {
      name: `e-${project}`,
      project,
    });
    const created = await world.call('admin', 'POST', `${ML}/runs/create`, {
      experiment_id: experiment.body.experimentId,
      run_name: `secret-name-${project}`,
      tags,
    });
    return created.body.run.info.run_id as string;
  }

  const graph = async (who: string, path: string) => {
    const response = await world.call(who, 'GET', `/api/v1/lineage/${path}`);
    return {
      status: response.status,
      body: response.body,
      nodes: (response.body.nodes ?? []) as GraphNode[],
    };
  };

  beforeAll(async () => {
    t = await createTestApp(database(), { env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN } });
    world = await createAuthWorld(t.app, {
      adminToken: ADMIN_TOKEN,
      projects: ['p1', 'p2'],
      members: [
        { user: 'alice', roles: { p1: 'viewer' } },
        { user: 'carol', roles: { p2: 'viewer' } },
        { user: 'eve', roles: {} },
      ],
    });
    trainRun = await run('p1', [{ key: 'mlflow.source.git.commit', value: COMMIT }]);
    await world.call('admin', 'POST', `${ML}/runs/log-inputs`, {
      run_id: trainRun,
      datasets: [{ dataset: { name: 'secret-dataset', digest: 'd1', source_type: 'local', source: '/d' } }],
    });
    childRun = await run('p2', [{ key: 'mlflow.parentRunId', value: trainRun }]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('an admin sees every node described', async () => {
    const { status, nodes } = await graph('admin', `run/${childRun}/upstream?depth=5`);
    expect(status).toBe(200);
    expect(nodes.filter((n) => n.redacted)).toEqual([]);
    expect(nodes.find((n) => n.id === trainRun)?.label).toBe('secret-name-p1');
  });

  it('nodes of projects the caller cannot read keep only kind and id; the rest of the graph stays', async () => {
    const { status, body, nodes } = await graph('carol', `run/${childRun}/upstream?depth=5`);
    expect(status).toBe(200);
    expect(Value.Check(LineageGraph, body)).toBe(true);
    const byKind = Object.fromEntries(
      nodes.map((n) => [n.kind === 'run' && n.id === childRun ? 'root' : n.kind, n]),
    );
    expect(byKind['root']).toMatchObject({ label: 'secret-name-p2' });
    expect(byKind['root']?.redacted).toBeUndefined();
    expect(byKind['run']).toEqual({
      kind: 'run',
      id: trainRun,
      label: trainRun,
      attributes: {},
      redacted: true,
    });
    expect(byKind['dataset']).toMatchObject({ label: byKind['dataset']?.id, attributes: {}, redacted: true });
    // A commit belongs to no project: nothing to hide.
    expect(byKind['code_version']).toMatchObject({ label: COMMIT.slice(0, 12) });
    expect(body.edges).toHaveLength(3);
    expect(JSON.stringify(body)).not.toContain('secret-name-p1');
    expect(JSON.stringify(body)).not.toContain('secret-dataset');
  });

  it('the OpenLineage export redacts the same way', async () => {
    const { status, body } = await graph('carol', `run/${childRun}/openlineage?direction=upstream&depth=5`);
    expect(status).toBe(200);
    expect(JSON.stringify(body)).not.toContain('secret-name-p1');
    expect(JSON.stringify(body)).not.toContain('secret-dataset');
  });

  it.each([
    ['upstream', 'eve', `run/CHILD/upstream`],
    ['downstream', 'alice', `run/CHILD/downstream`],
    ['provenance', 'alice', `run/CHILD/provenance`],
    ['openlineage', 'eve', `run/CHILD/openlineage`],
  ])('%s from a node the caller cannot read (%s): 403 PERMISSION_DENIED', async (_walk, who, path) => {
    const { status, body } = await graph(who, path.replace('CHILD', childRun));
    expect(status).toBe(403);
    expect(body.error.code).toBe('PERMISSION_DENIED');
    expect(JSON.stringify(body)).not.toContain('secret');
  });

  it('a reader of the start node walks into other projects, redacted', async () => {
    const { status, nodes } = await graph('alice', `run/${trainRun}/downstream`);
    expect(status).toBe(200);
    expect(nodes.find((n) => n.id === childRun)).toMatchObject({ label: childRun, redacted: true });
  });
});
