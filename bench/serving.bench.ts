/**
 * Serving figures of issue #6, against a `cairn server` child process, each
 * beside its baseline measured in the same run:
 * - one client, one row: p50/p99 latency of in-process onnxruntime (the
 *   ceiling), Cairn's v2 route and its predict route (target: v2 p99 ≤ 1 ms
 *   above in-process);
 * - 64 concurrent clients, one row each, for 10 s (autocannon): predictions/s
 *   with adaptive batching and with batching off (targets ≥ 10,000/s and ≥ 3×);
 * - under that load: canary weight changes and a rollback, counting every
 *   request that did not get a 200 (target: none).
 * For the 20 → 64 → 64 → 2 MLP and a 20-feature logistic regression.
 *
 *   node --import tsx bench/serving.bench.ts [--dialect sqlite|postgres|both] [--seconds 10]
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { logisticModel, mlpModel } from '../packages/server/src/testing/onnx-builder.js';
import { dialectsFrom, pgSchemaUrl, REPO, saveFigures, startCairn } from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    seconds: { type: 'string', default: '10' },
    latencyRequests: { type: 'string', default: '5000' },
  },
});
const SECONDS = Number(values.seconds);
const LATENCY_REQUESTS = Number(values.latencyRequests);
const CONNECTIONS = 64;
const ROW = Array.from({ length: 20 }, (_, i) => (i % 7) / 3 - 1);

interface ModelCase {
  name: string;
  bytes: Uint8Array;
  input: string;
}
const MODELS: ModelCase[] = [
  { name: 'mlp', bytes: mlpModel({ seed: 1 }).bytes(), input: 'input' },
  { name: 'logistic', bytes: logisticModel({ seed: 1 }).bytes(), input: 'features' },
];

const percentile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/** p50/p99 of `op` run back to back, after a warm-up. */
async function latency(op: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 500; i++) await op();
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS; i++) {
    const t = performance.now();
    await op();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

async function inProcess(model: ModelCase): Promise<{ p50: number; p99: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-ort-'));
  const file = path.join(dir, 'model.onnx');
  writeFileSync(file, model.bytes);
  // As the server creates its sessions: idle threads sleep rather than spin (a spinning pool left in
  // this process would take a core from the load generator).
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: os.availableParallelism(),
    interOpNumThreads: 1,
    extra: { 'session.intra_op.allow_spinning': '0' },
  });
  const data = Float32Array.from(ROW);
  const result = await latency(async () => {
    await session.run({ [model.input]: new ort.Tensor('float32', data, [1, 20]) });
  });
  await session.release();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** One keep-alive connection, one request at a time: what a single client sees. */
function client(url: string): (path: string, body: string) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return (path, body) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        `${url}${path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

async function load(
  url: string,
  body: string,
  seconds = SECONDS,
): Promise<{ perSecond: number; non200: number; errors: number; p99: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body,
  });
  return {
    perSecond: result.requests.average,
    non200: result.non2xx,
    errors: result.errors + result.timeouts,
    p99: result.latency.p99,
  };
}

interface ApiCall {
  method: string;
  path: string;
  body?: unknown;
}

/** A call to the native API; throws with the server's words on anything but 2xx. */
async function api(
  url: string,
  call: ApiCall,
): Promise<{ deployment: { revision: number; status: { servedRevision: number | null } } }> {
  const res = await fetch(`${url}/api/v1${call.path}`, {
    method: call.method,
    headers: { 'content-type': 'application/json' },
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${call.method} ${call.path} → ${res.status}: ${text}`);
  return text === '' ? ({} as never) : JSON.parse(text);
}

async function register(url: string, model: string, bytes: Uint8Array): Promise<void> {
  const created = await fetch(`${url}/api/v1/models`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: model }),
  });
  if (!created.ok && created.status !== 409) throw new Error(await created.text());
  const upload = await fetch(`${url}/api/v1/model-uploads/${crypto.randomUUID()}/model.onnx`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  const { source } = (await upload.json()) as { source: string };
  await api(url, { method: 'POST', path: `/models/${model}/versions`, body: { source } });
}

async function served(url: string, name: string, revision: number): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const { deployment } = await api(url, { method: 'GET', path: `/deployments/${name}` });
    if (deployment.status.servedRevision === revision) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not serve revision ${revision} in time`);
}

/**
 * The floor of any HTTP route here: a Fastify server in its own process that
 * echoes the same body, called the same way. Tail latency across two
 * processes on this 2-vCPU machine is the scheduler's, whatever the route does.
 */
async function bareHttp(body: string): Promise<{ p50: number; p99: number }> {
  const source = `import Fastify from 'fastify';
const app = Fastify();
app.post('/echo', async (request) => request.body);
await app.listen({ host: '127.0.0.1', port: 0 });
process.send(app.server.address().port);`;
  const file = path.join(REPO, 'bench/.work/echo-server.mjs');
  writeFileSync(file, source);
  const child = fork(file, [], { stdio: 'ignore' });
  try {
    const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(p as number)));
    const send = client(`http://127.0.0.1:${port}`);
    return await latency(() => send('/echo', body));
  } finally {
    child.kill();
  }
}

const results: Record<string, Record<string, number>> = {};
for (const dialect of dialectsFrom(values.dialect)) {
  const pg = dialect === 'postgres' ? await pgSchemaUrl('serving') : undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-serving-'));
  const server = await startCairn({ dataDir, ...(pg ? { dbUrl: pg.url } : {}) });
  try {
    const figures: Record<string, number> = {};
    for (const model of MODELS) {
      const m = model.name;
      await register(server.url, m, model.bytes);
      await register(server.url, m, model.bytes);
      let { deployment } = await api(server.url, {
        method: 'POST',
        path: '/deployments',
        body: {
          name: m,
          model: `${m}/1`,
          port: null,
        },
      });
      await served(server.url, m, deployment.revision);
      const v2Body = JSON.stringify({
        inputs: [{ name: model.input, datatype: 'FP32', shape: [1, 20], data: ROW }],
      });
      const predictBody = JSON.stringify({ instances: [ROW] });

      const send = client(server.url);
      const viaV2 = await latency(() => send(`/v2/models/${m}/infer`, v2Body));
      const viaPredict = await latency(() => send(`/deployments/${m}/predict`, predictBody));
      const bare = await bareHttp(v2Body);
      figures[`${m}_bare_http_p50_ms`] = bare.p50;
      figures[`${m}_bare_http_p99_ms`] = bare.p99;
      Object.assign(figures, {
        [`${m}_v2_p50_ms`]: viaV2.p50,
        [`${m}_v2_p99_ms`]: viaV2.p99,
        [`${m}_predict_p50_ms`]: viaPredict.p50,
        [`${m}_predict_p99_ms`]: viaPredict.p99,
      });

      const infer = `${server.url}/v2/models/${m}/infer`;
      await load(infer, v2Body, 2); // warm-up: JIT, connection set-up, first batches
      const batched = await load(infer, v2Body);
      const predictLoad = await load(`${server.url}/deployments/${m}/predict`, predictBody);
      ({ deployment } = await api(server.url, {
        method: 'PATCH',
        path: `/deployments/${m}`,
        body: {
          settings: { maxBatchSize: 1 },
        },
      }));
      await served(server.url, m, deployment.revision);
      const unbatched = await load(infer, v2Body);
      ({ deployment } = await api(server.url, {
        method: 'PATCH',
        path: `/deployments/${m}`,
        body: {
          settings: { maxBatchSize: 64 },
        },
      }));
      await served(server.url, m, deployment.revision);
      Object.assign(figures, {
        [`${m}_v2_64c_batched_per_s`]: batched.perSecond,
        [`${m}_v2_64c_batched_p99_ms`]: batched.p99,
        [`${m}_predict_64c_batched_per_s`]: predictLoad.perSecond,
        [`${m}_v2_64c_unbatched_per_s`]: unbatched.perSecond,
        [`${m}_batched_over_unbatched`]: batched.perSecond / unbatched.perSecond,
        [`${m}_load_non200`]: batched.non200 + batched.errors + unbatched.non200 + unbatched.errors,
      });

      // Weight changes and a rollback while 64 clients keep sending.
      const during = load(infer, v2Body);
      const changes: Array<() => Promise<unknown>> = [
        () =>
          api(server.url, {
            method: 'PATCH',
            path: `/deployments/${m}`,
            body: { canary: [{ model: `${m}/2`, weight: 10 }] },
          }),
        () =>
          api(server.url, {
            method: 'PATCH',
            path: `/deployments/${m}`,
            body: { canary: [{ model: `${m}/2`, weight: 50 }] },
          }),
        () => api(server.url, { method: 'POST', path: `/deployments/${m}/rollback`, body: {} }),
        () => api(server.url, { method: 'PATCH', path: `/deployments/${m}`, body: { canary: [] } }),
      ];
      for (const change of changes) {
        await new Promise((r) => setTimeout(r, (SECONDS * 1000) / (changes.length + 1)));
        await change();
      }
      const rolled = await during;
      Object.assign(figures, {
        [`${m}_rollout_per_s`]: rolled.perSecond,
        [`${m}_rollout_non200`]: rolled.non200,
        [`${m}_rollout_errors`]: rolled.errors,
      });
      // Last, so onnxruntime in this process never shares the machine with the HTTP figures.
      const ceiling = await inProcess(model);
      Object.assign(figures, {
        [`${m}_inprocess_p50_ms`]: ceiling.p50,
        [`${m}_inprocess_p99_ms`]: ceiling.p99,
        [`${m}_v2_p99_over_inprocess_ms`]: figures[`${m}_v2_p99_ms`]! - ceiling.p99,
      });
      console.log(`${dialect} ${m}:`, JSON.stringify(figures));
    }
    results[dialect] = figures;
  } finally {
    await server.stop();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
saveFigures('serving', results);
