import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCairn, startCairnServer, type CairnResult, type CairnServer } from './helpers.js';

// Drives the built CLI as a user would: `cairn server` in its own process, then
// `cairn …` commands against it. Needs `npm run build` (npm test does it first).
const run = promisify(execFile);

/** The CLI with this shell's environment and `env` on top. */
const cairn = (args: string[], env: Record<string, string> = {}): Promise<CairnResult> =>
  runCairn(args, { env: { ...process.env, ...env } });

describe('cairn CLI against a running server', () => {
  let server: CairnServer;
  let url: string;
  let dataDir: string;
  let runId: string;

  const post = async (p: string, body: unknown): Promise<any> => {
    const res = await fetch(`${url}/api/2.0/mlflow/${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-'));
    server = await startCairnServer({ args: ['--host', '127.0.0.1'], dataDir });
    url = server.url;
    const exp = await post('experiments/create', { name: 'cli-e2e' });
    const created = await post('runs/create', {
      experiment_id: exp.experiment_id,
      run_name: 'cli-run',
      start_time: Date.now(),
    });
    runId = created.run.info.run_id;
    await post('runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'acc', value: 0.93, timestamp: Date.now(), step: 1 }],
      params: [{ key: 'model', value: 'tree' }],
    });
    await post('runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps its SQLite database and blobs under --data-dir', async () => {
    const { existsSync } = await import('node:fs');
    expect(existsSync(path.join(dataDir, 'cairn.db'))).toBe(true);
  });

  it('lists experiments as a table and as JSON', async () => {
    const table = await cairn(['experiments', 'ls', '--url', url]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ID\s+NAME/);
    expect(table.stdout).toContain('cli-e2e');
    const json = await cairn(['experiments', 'ls', '--json'], { CAIRN_URL: url });
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.experiments.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining(['Default', 'cli-e2e']),
    );
  });

  it('lists runs of an experiment by name, with filters, and shows one run', async () => {
    const list = await cairn([
      'runs',
      'ls',
      '--experiment',
      'cli-e2e',
      '--filter',
      'metrics.acc > 0.9',
      '--url',
      url,
    ]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(runId);
    expect(list.stdout).toContain('FINISHED');
    const json = await cairn(['runs', 'ls', '-e', 'cli-e2e', '--json', '--url', url]);
    expect(JSON.parse(json.stdout).runs[0].info.runId).toBe(runId);
    const show = await cairn(['runs', 'show', runId, '--url', url]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('cli-run');
    expect(show.stdout).toMatch(/model\s+tree/);
    expect(show.stdout).toMatch(/acc\s+0\.93/);
    const showJson = JSON.parse((await cairn(['runs', 'show', runId, '--json', '--url', url])).stdout);
    expect(showJson.info.runId).toBe(runId);
    expect(showJson.data.params).toEqual({ model: 'tree' });
  });

  it('explains failures with a headline, a message and an exit code', async () => {
    const missing = await cairn(['runs', 'show', 'f'.repeat(32), '--url', url]);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain('Not found (NOT_FOUND)');
    expect(missing.stderr).toContain('request id');
    const badFilter = await cairn(['runs', 'ls', '--filter', 'metrics.acc >', '--url', url]);
    expect(badFilter.code).toBe(3);
    expect(badFilter.stderr).toContain('INVALID_ARGUMENT');
    const unknownExperiment = await cairn(['runs', 'ls', '-e', 'no-such-experiment', '--url', url]);
    expect(unknownExperiment.code).toBe(6);
    const down = await cairn(['experiments', 'ls', '--url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(10);
    expect(down.stderr).toContain('cairn server');
    const usage = await cairn(['runs', 'ls', '--max-results', 'lots', '--url', url]);
    expect(usage.code).toBe(2);
    const badUrl = await cairn(['experiments', 'ls', '--url', 'not a url']);
    expect(badUrl.code).toBe(2);
  });

  it('explains itself: --help lists commands, server --help lists the environment', async () => {
    const help = await cairn(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['server', 'experiments', 'runs']) expect(help.stdout).toContain(command);
    const serverHelp = await cairn(['server', '--help']);
    for (const name of [
      'CAIRN_DB_URL',
      'CAIRN_BLOB_URL',
      'CAIRN_DATA_DIR',
      '--db-url',
      '--blob-url',
      '--data-dir',
    ]) {
      expect(serverHelp.stdout).toContain(name);
    }
  });

  it('is reachable as `npx cairn` from the repository root', async () => {
    const { stdout } = await run('npx', ['--no-install', 'cairn', '--version'], {
      cwd: REPO,
      timeout: 60_000,
    });
    expect(stdout.trim()).toBe('0.1.0');
  });
});

describe('cairn server refuses what it must', () => {
  it('will not bind a non-loopback address without auth', async () => {
    const result = await cairn([
      'server',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--data-dir',
      mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-')),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/loopback/);
  });

  it('says when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const result = await cairn([
      'server',
      '--port',
      String(port),
      '--data-dir',
      mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-')),
    ]);
    blocker.close();
    expect(result.code).toBe(10);
    expect(result.stderr).toContain('already in use');
  });

  it('names a bad setting', async () => {
    const result = await cairn(['server', '--port', 'eighty']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('--port');
  });
});
