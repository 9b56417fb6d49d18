import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateMlp, mlpModel } from '../packages/server/src/testing/onnx-builder.js';
import { CLI, REPO, envWithout, freePort, runCairn, startCairnServer, type CairnServer } from './helpers.js';

// `cairn deploy` and `cairn serve` as a user runs them: the built CLI against
// `cairn server` on 127.0.0.1, real ONNX models and a real Python model
// program. Needs `npm run build`.

const ROW = Array.from({ length: 20 }, (_, i) => (i % 7) / 3 - 1);
const v2 = (rows: number[][]) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 20], data: rows.flat() }],
});

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cairn deploy and cairn serve against a running server', () => {
  let server: CairnServer;
  let dataDir: string;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  const cairn = (...args: string[]) =>
    runCairn([...args, '--url', server.url], { cwd: work, env, timeoutMs: 60_000 });
  const ok = async (...args: string[]): Promise<string> => {
    const result = await cairn(...args);
    expect(result.code, `cairn ${args.join(' ')}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const json = async (...args: string[]): Promise<any> => JSON.parse(await ok(...args, '--json'));
  const ready = (name: string, revision: number) =>
    until(async () => {
      const d = await json('deploy', 'get', name);
      return d.status.servedRevision === revision ? d : undefined;
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-deploy-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-deploy-work-'));
    env = envWithout(['CAIRN_URL', 'CAIRN_TOKEN']);
    server = await startCairnServer({ dataDir, env });
    for (const seed of [1, 2]) writeFileSync(path.join(work, `mlp-${seed}.onnx`), mlpModel({ seed }).bytes());
    const python = path.join(work, 'logistic');
    mkdirSync(python);
    copyFileSync(
      path.join(REPO, 'packages/serving/src/command/fixtures/logistic_regression.py'),
      path.join(python, 'logistic_regression.py'),
    );
    writeFileSync(
      path.join(python, 'weights.json'),
      JSON.stringify({
        coef: Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 0.5 : -0.25)),
        intercept: 0.1,
      }),
    );
    writeFileSync(
      path.join(python, 'cairn-model.json'),
      JSON.stringify({
        command: ['python3', 'logistic_regression.py'],
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 20] }],
        outputs: [
          { name: 'probability', datatype: 'FP64', shape: [-1] },
          { name: 'label', datatype: 'INT64', shape: [-1] },
        ],
      }),
    );
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys an alias, serves it on its own port and the API port, then shifts, rolls back and reports', async () => {
    expect((await json('models', 'register', 'mlp', 'mlp-1.onnx')).format).toBe('onnx');
    await json('models', 'register', 'mlp', 'mlp-2.onnx');
    await ok('models', 'alias', 'mlp@champion', '1');

    const created = await json('deploy', 'create', 'churn', '--model', 'mlp@champion');
    expect(created).toMatchObject({
      name: 'churn',
      revision: 1,
      routes: [{ ref: 'mlp@champion', model: 'mlp', version: 1, weight: 100 }],
    });
    expect(created.port).toBeGreaterThan(0);
    const served = await ready('churn', 1);
    const expected = evaluateMlp([ROW], { seed: 1 })[0]!;
    for (const base of [server.url, served.endpoints.own as string]) {
      const answer = await post(`${base}/v2/models/churn/infer`, v2([ROW]));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.model_version).toBe('1');
      answer.body.outputs[0].data.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i]!, 4));
    }
    const predicted = await json('deploy', 'predict', 'churn', '--instances', JSON.stringify([ROW]));
    expect(predicted).toMatchObject({ model: 'mlp', version: 1, requestId: expect.any(String) });

    const shifted = await json('deploy', 'update', 'churn', '--canary', 'mlp/2:10');
    expect(shifted.routes.map((r: any) => [r.version, r.weight])).toEqual([
      [1, 90],
      [2, 10],
    ]);
    const back = await json('deploy', 'rollback', 'churn');
    expect(back).toMatchObject({ revision: 3, routes: [{ version: 1, weight: 100 }] });
    const revisions = await json('deploy', 'revisions', 'churn');
    expect(revisions.map((r: any) => r.revision)).toEqual([3, 2, 1]);
    const list = await ok('deploy', 'list');
    expect(list).toMatch(/churn/);
    const logged = await until(async () => {
      const rows = await json('deploy', 'predictions', 'churn');
      return rows.length >= 3 ? rows : undefined;
    });
    expect(logged[0]).toMatchObject({ kind: 'live', model: 'mlp' });
  });

  it('refuses bad deploy input with usage or not-found exit codes', async () => {
    expect((await cairn('deploy', 'create', 'x', '--model', 'mlp/1', '--canary', 'mlp/2')).code).toBe(2);
    expect((await cairn('deploy', 'create', 'x', '--model', 'mlp/1', '--canary', 'mlp/2:100')).code).toBe(2);
    const missing = await cairn('deploy', 'create', 'x', '--model', 'nosuch/1');
    expect(missing.code).toBe(6);
    expect(missing.stderr).toMatch(/nosuch/);
    expect((await cairn('deploy', 'get', 'x')).code).toBe(6);
  });

  it('serves a Python command model over JSON Lines', async () => {
    const version = await json('models', 'register', 'logreg', 'logistic');
    expect(version.format).toBe('command');
    await json('deploy', 'create', 'scorer', '--model', 'logreg/1');
    await ready('scorer', 1);
    const answer = await post(`${server.url}/deployments/scorer/predict`, {
      instances: [ROW, ROW.map((x) => -x)],
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.predictions).toHaveLength(2);
    expect(answer.body.predictions[0]).toMatchObject({
      probability: expect.any(Number),
      label: expect.any(Number),
    });
  });

  it('runs a standalone cairn serve that follows the deployment’s revisions', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--deployment', 'churn', '--port', String(port), '--data-dir', dataDir],
      {
        env: { ...env, CAIRN_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    await until(async () => ((await fetch(`${url}/v2/health/ready`)).ok ? true : undefined));
    const first = await post(`${url}/v2/models/churn/infer`, v2([ROW]));
    expect(first.status, stderr).toBe(200);
    expect(first.body.model_version).toBe('1');
    await json('deploy', 'update', 'churn', '--model', 'mlp/2');
    await until(async () => {
      const answer = await post(`${url}/v2/models/churn/infer`, v2([ROW]));
      return answer.body.model_version === '2' ? true : undefined;
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/cairn_serving_requests_total\{deployment="churn"/);
    const other = await post(`${url}/v2/models/scorer/infer`, v2([ROW]));
    expect(other.status).toBe(404);
  });

  it('drains on shutdown: requests in flight when SIGTERM arrives are answered, none with an error status', async () => {
    const own = await startCairnServer({
      dataDir: mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-drain-')),
      env,
    });
    try {
      const on = (...args: string[]) =>
        runCairn([...args, '--url', own.url], { cwd: work, env, timeoutMs: 60_000 });
      expect((await on('models', 'register', 'mlp', 'mlp-1.onnx')).code).toBe(0);
      expect((await on('deploy', 'create', 'drained', '--model', 'mlp/1')).code).toBe(0);
      await until(async () => ((await fetch(`${own.url}/v2/models/drained/ready`)).ok ? true : undefined));
      const statuses: number[] = [];
      let stopping = false;
      // Twenty clients in a loop until the server stops answering: SIGTERM lands while requests flow.
      const clients = Array.from({ length: 20 }, async () => {
        for (;;) {
          try {
            statuses.push((await post(`${own.url}/v2/models/drained/infer`, v2([ROW]))).status);
          } catch {
            if (stopping) return; // refused or closed once the server stopped accepting
          }
        }
      });
      await until(async () => (statuses.length >= 200 ? true : undefined));
      const exited = new Promise<number | null>((resolve) => own.child.once('exit', (code) => resolve(code)));
      stopping = true;
      own.child.kill('SIGTERM');
      await Promise.all(clients);
      expect(await exited).toBe(0);
      expect(statuses.length).toBeGreaterThanOrEqual(200);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
    } finally {
      await own.stop();
    }
  });
});
