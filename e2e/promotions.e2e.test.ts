import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWithout, runCairn, startCairnServer, type CairnResult, type CairnServer } from './helpers.js';

// A promotion as a team runs it: the built CLI against `cairn server --auth`;
// an admin sets the project's policy, an editor asks for `champion`, an
// approver approves, and everyone can read the story. Needs `npm run build`.
const ADMIN_TOKEN = 'e2e-promotions-admin-0123456789abcdef0123456789abcd';

describe('cairn policy and cairn promotions against cairn server --auth', () => {
  let server: CairnServer;
  let url: string;
  let dataDir: string;
  const tokens = new Map<string, string>([['admin', ADMIN_TOKEN]]);

  /** The CLI as `who`, with a clean environment. */
  async function cairn(who: string, ...args: string[]): Promise<CairnResult> {
    return runCairn([...args, '--url', url], {
      cwd: dataDir,
      env: envWithout(['CAIRN_TOKEN', 'CAIRN_ADMIN_TOKEN', 'CAIRN_URL'], {
        CAIRN_TOKEN: tokens.get(who) ?? '',
      }),
    });
  }
  async function ok(who: string, ...args: string[]): Promise<string> {
    const result = await cairn(who, ...args);
    expect(result.code, `cairn ${args.join(' ')}\n${result.stderr}`).toBe(0);
    return result.stdout;
  }
  /** The native API as alice, for the set-up a training script would do. */
  async function api(method: string, p: string, body?: unknown): Promise<any> {
    const response = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens.get('alice')}`,
        'content-type': body === undefined ? 'application/octet-stream' : 'application/json',
      },
      body: body === undefined ? 'weights' : JSON.stringify(body),
    });
    expect(response.status, `${method} ${p}: ${await response.clone().text()}`).toBeLessThan(300);
    return response.status === 204 ? undefined : response.json();
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-promotions-'));
    server = await startCairnServer({
      args: ['--auth'],
      env: { ...process.env, CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
      dataDir,
    });
    url = server.url;
    await ok('admin', 'projects', 'create', 'ml');
    for (const [name, role] of [
      ['alice', 'editor'],
      ['bob', 'approver'],
    ] as const) {
      await ok('admin', 'users', 'create', name);
      const token = JSON.parse(await ok('admin', 'tokens', 'create', '--user', name, '--json'));
      tokens.set(name, token.token);
      await ok('admin', 'projects', 'grant', 'ml', name, role);
    }
    const experiment = await api('POST', '/experiments', { name: 'churn', project: 'ml' });
    const trained = await api('POST', '/runs', { experimentId: experiment.experimentId, runName: 'train' });
    const runId: string = trained.info.runId;
    await api('POST', `/runs/${runId}/log-batch`, { metrics: [{ key: 'auc', value: 0.93, step: 0 }] });
    await api('POST', `/runs/${runId}/inputs`, {
      datasets: [{ dataset: { name: 'customers', digest: 'c0ffee', sourceType: 'local', source: 'c.csv' } }],
    });
    await api('PUT', `/runs/${runId}/artifacts/model/weights.bin`);
    await api('POST', '/models', { name: 'churn', project: 'ml' });
    await api('POST', '/models/churn/versions', { source: `runs:/${runId}/model` });
    await api('PATCH', '/models/churn/versions/1/card', { intendedUse: 'retention offers', riskTier: 'low' });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sets a YAML policy from a file and shows it, with its history', async () => {
    const file = path.join(dataDir, 'policy.yaml');
    writeFileSync(
      file,
      'protect: { aliases: [champion] }\nchecks:\n  metrics: ["auc >= 0.9"]\n  trainingData: true\n',
    );
    const set = await ok('admin', 'policy', 'set', 'ml', file, '-m', 'gate champion');
    expect(set).toContain('Stored policy version 1 of project ml.');
    const shown = await ok('alice', 'policy', 'show', 'ml');
    expect(shown).toContain('Protected    aliases: champion; stages: none');
    expect(shown).toContain('Metrics      auc >= 0.9');
    expect(shown).toContain('gate champion');
    expect(await ok('alice', 'policy', 'show', 'ml', '--source')).toContain(
      'protect: { aliases: [champion] }',
    );
    expect(await ok('alice', 'policy', 'history', 'ml')).toMatch(
      /1\s+\S+ \S+\s+admin\s+yaml\s+champion\s+gate/,
    );

    const bad = path.join(dataDir, 'bad.json');
    writeFileSync(bad, '{"checks": {"metrics": ["auc high"]}}');
    const refused = await cairn('admin', 'policy', 'set', 'ml', bad);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('checks.metrics[0]: expected "<metric> <op> <number>"');
  });

  it('requests, approves and shows a promotion; the alias moves only through it', async () => {
    const direct = await cairn('alice', 'models', 'alias', 'churn@champion', '1');
    expect(direct.code).toBe(5);
    expect(direct.stderr).toContain('cairn promotions request churn/1 --alias champion');

    const requested = JSON.parse(
      await ok(
        'alice',
        'promotions',
        'request',
        'churn/1',
        '--alias',
        'champion',
        '-m',
        'auc 0.93',
        '--json',
      ),
    );
    expect(requested).toMatchObject({ status: 'pending', requester: 'alice', reason: 'auc 0.93' });
    const id: string = requested.id;

    const pending = await ok('bob', 'promotions', 'show', id);
    expect(pending).toContain('PENDING');
    expect(pending).toMatch(/✓ metric:auc >= 0\.9\s+auc = 0\.93 \(run \w+\)/);
    expect(pending).toMatch(/✓ training_data\s+datasets: customers/);
    expect(pending).toMatch(/✗ approvals\s+0 of 1 \(risk tier low\)/);
    expect(pending).toContain('Approvals    0/1 (risk tier low)');
    expect(pending).toMatch(/Expires {6}\S+ \S+ \(in 1[34] days\)/);

    const own = await cairn('alice', 'promotions', 'approve', id);
    expect(own.code).toBe(5);
    expect(own.stderr).toContain('PERMISSION_DENIED');

    const approved = await ok('bob', 'promotions', 'approve', id, '-m', 'ship it');
    expect(approved).toContain('APPLIED');
    const shown = await ok('alice', 'promotions', 'show', id);
    expect(shown).toMatch(/✓ approvals\s+1 of 1 \(risk tier low\): bob/);
    expect(shown).toMatch(/bob {2}approve {2}\S+ \S+ {2}ship it/);
    expect(shown).toMatch(/Decided {6}applied \S+ \S+ by bob/);
    const model = JSON.parse(await ok('alice', 'models', 'show', 'churn', '--json'));
    expect(model.aliases).toEqual({ champion: 1 });

    const listed = await ok('bob', 'promotions', 'ls', '--status', 'applied');
    expect(listed).toMatch(
      new RegExp(`${id}\\s+applied\\s+churn/1\\s+alias champion\\s+1/1\\s+passed\\s+alice`),
    );
    const unknown = await cairn('bob', 'promotions', 'reject', id);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('-m COMMENT');
    const late = await cairn('bob', 'promotions', 'reject', id, '-m', 'too late');
    expect(late.code).toBe(8);
    expect(late.stderr).toContain('already applied');
  });
});
