import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A promotion as a team runs it: the built CLI against `cairn server --auth`;
// an admin sets the project's policy, an editor asks for `champion`, an
// approver approves, and everyone can read the story. Needs `npm run build`.
const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'packages/cli/bin/cairn.js');
const run = promisify(execFile);
const ADMIN_TOKEN = 'e2e-promotions-admin-0123456789abcdef0123456789abcd';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe('cairn policy and cairn promotions against cairn server --auth', () => {
  let server: ChildProcess;
  let url: string;
  let dataDir: string;
  const tokens = new Map<string, string>([['admin', ADMIN_TOKEN]]);

  /** The CLI as `who`, with a clean environment. */
  async function cairn(who: string, ...args: string[]): Promise<Result> {
    const { CAIRN_TOKEN: _t, CAIRN_ADMIN_TOKEN: _a, CAIRN_URL: _u, ...inherited } = process.env;
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--url', url], {
        cwd: dataDir,
        env: { ...inherited, CAIRN_TOKEN: tokens.get(who) ?? '' },
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
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
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const { CAIRN_ADMIN_TOKEN: _a, ...inherited } = process.env;
    server = spawn(
      process.execPath,
      [CLI, 'server', '--auth', '--port', String(port), '--data-dir', dataDir],
      {
        env: { ...inherited, CAIRN_LOG_LEVEL: 'warn', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${url}/readyz`)).ok) break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
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
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('close', resolve));
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
