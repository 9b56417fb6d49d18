/**
 * Serving figures of issue #6, against a `cairn server` child process, each
 * beside its baseline measured in the same run:
 * - one client, one row: p50/p99 latency of in-process onnxruntime (the
 *   ceiling), Cairn's v2 route and its predict route (target: v2 p99 ≤ 1 ms
 *   above in-process);
 * - 64 concurrent clients, one row each, for 10 s: predictions/s with adaptive
 *   batching and with batching off (targets ≥ 10,000/s and ≥ 3×);
 * - the floors of any HTTP route on this machine, loaded the same way: a bare
 *   node:http JSON echo and a bare Fastify echo, each in its own process.
 * Load comes from wrk when installed (http-load.ts), autocannon otherwise.
 * - under that load: canary weight changes and a rollback, counting every
 *   request that did not get a 200 (target: none).
 * For the 20 → 64 → 64 → 2 MLP and a 20-feature logistic regression.
 *
 *   node --import tsx bench/serving.bench.ts [--dialect sqlite|postgres|both] [--seconds 10]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { logisticModel, mlpModel } from '../packages/server/src/testing/onnx-builder.js';
import { dialectsFrom, pgSchemaUrl, REPO, saveFigures, startCairn } from './harness.js';
import { load, LOAD_GENERATOR, type LoadResult } from './http-load.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    seconds: { type: 'string', default: '10' },
    latencySeconds: { type: 'string', default: '10' },
  },
});
const SECONDS = Number(values.seconds);
const LATENCY_SECONDS = Number(values.latencySeconds);
const IN_PROCESS_RUNS = 20_000;
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
  for (let i = 0; i < IN_PROCESS_RUNS; i++) {
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

/** One client, one request at a time on a kept-alive connection: what a single caller sees. */
async function oneClient(url: string, body: string): Promise<LoadResult> {
  await load({ url, body, connections: 1, seconds: 2 });
  return load({ url, body, connections: 1, seconds: LATENCY_SECONDS });
}

function many(url: string, body: string, seconds = SECONDS): Promise<LoadResult> {
  return load({ url, body, connections: CONNECTIONS, seconds });
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

const FLOORS = {
  // What any Node.js route costs here: parse the JSON body, answer a small JSON body.
  node: `import http from 'node:http';
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const text = JSON.stringify({ model_name: 'echo', outputs: [{ name: 'p', datatype: 'FP32', shape: [1, 2], data: [body.inputs.length, 0.5] }] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));`,
  // The least a served model costs: node:http around the same onnxruntime session options, one run per
  // request, no checks, no batching, no log.
  ort: `import http from 'node:http';
import * as ort from 'onnxruntime-node';
const [file, input] = process.argv.slice(2);
const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: 2, interOpNumThreads: 1, extra: { 'session.intra_op.allow_spinning': '0' },
});
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const feed = { [input]: new ort.Tensor('float32', Float32Array.from(body.inputs[0].data), body.inputs[0].shape) };
    const out = Object.values(await session.run(feed))[0];
    const text = JSON.stringify({ outputs: [{ name: 'p', datatype: 'FP32', shape: out.dims, data: Array.from(out.data) }] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));`,
  fastify: `import Fastify from 'fastify';
const app = Fastify();
app.post('/echo', async (request) => request.body);
await app.listen({ host: '127.0.0.1', port: 0 });
process.send(app.server.address().port);`,
};

/**
 * The floors of any HTTP route here: an echo server (or the bare model
 * server) in its own process, loaded exactly as Cairn is. Tail latency and throughput across two
 * processes on this 2-vCPU machine are mostly the machine's, whatever the route does.
 */
async function floor(
  kind: keyof typeof FLOORS,
  body: string,
  args: string[],
): Promise<{ one: LoadResult; many: LoadResult }> {
  const file = path.join(REPO, `bench/.work/echo-${kind}.mjs`);
  writeFileSync(file, FLOORS[kind]);
  const child = fork(file, args, { stdio: 'ignore' });
  try {
    const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(p as number)));
    const url = `http://127.0.0.1:${port}/echo`;
    await many(url, body, 2);
    return { one: await oneClient(url, body), many: await many(url, body) };
  } finally {
    child.kill();
  }
}

const results: Record<string, Record<string, number>> = {};
console.log(`load generator: ${LOAD_GENERATOR}`);
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

      const viaV2 = await oneClient(`${server.url}/v2/models/${m}/infer`, v2Body);
      const viaPredict = await oneClient(`${server.url}/deployments/${m}/predict`, predictBody);
      const modelFile = path.join(REPO, `bench/.work/${m}.onnx`);
      writeFileSync(modelFile, model.bytes);
      for (const kind of ['node', 'fastify', 'ort'] as const) {
        const bare = await floor(kind, v2Body, [modelFile, model.input]);
        Object.assign(figures, {
          [`${m}_bare_${kind}_p50_ms`]: bare.one.p50Ms,
          [`${m}_bare_${kind}_p99_ms`]: bare.one.p99Ms,
          [`${m}_bare_${kind}_64c_per_s`]: bare.many.perSecond,
        });
      }
      Object.assign(figures, {
        [`${m}_v2_p50_ms`]: viaV2.p50Ms,
        [`${m}_v2_p99_ms`]: viaV2.p99Ms,
        [`${m}_predict_p50_ms`]: viaPredict.p50Ms,
        [`${m}_predict_p99_ms`]: viaPredict.p99Ms,
      });

      const infer = `${server.url}/v2/models/${m}/infer`;
      await many(infer, v2Body, 2); // warm-up: JIT, connection set-up, first batches
      const batched = await many(infer, v2Body);
      const predictLoad = await many(`${server.url}/deployments/${m}/predict`, predictBody);
      ({ deployment } = await api(server.url, {
        method: 'PATCH',
        path: `/deployments/${m}`,
        body: {
          settings: { maxBatchSize: 1 },
        },
      }));
      await served(server.url, m, deployment.revision);
      const unbatched = await many(infer, v2Body);
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
        [`${m}_v2_64c_batched_p99_ms`]: batched.p99Ms,
        [`${m}_v2_64c_over_bare_node`]: batched.perSecond / figures[`${m}_bare_node_64c_per_s`]!,
        [`${m}_v2_64c_over_bare_ort`]: batched.perSecond / figures[`${m}_bare_ort_64c_per_s`]!,
        [`${m}_predict_64c_batched_per_s`]: predictLoad.perSecond,
        [`${m}_v2_64c_unbatched_per_s`]: unbatched.perSecond,
        [`${m}_batched_over_unbatched`]: batched.perSecond / unbatched.perSecond,
        [`${m}_load_non200`]: batched.non2xx + batched.errors + unbatched.non2xx + unbatched.errors,
      });

      // Weight changes and a rollback while 64 clients keep sending.
      const during = many(infer, v2Body);
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
        [`${m}_rollout_non200`]: rolled.non2xx,
        [`${m}_rollout_errors`]: rolled.errors,
      });
      // Last, so onnxruntime in this process never shares the machine with the HTTP figures.
      const ceiling = await inProcess(model);
      Object.assign(figures, {
        [`${m}_inprocess_p50_ms`]: ceiling.p50,
        [`${m}_inprocess_p99_ms`]: ceiling.p99,
        [`${m}_v2_p99_over_inprocess_ms`]: figures[`${m}_v2_p99_ms`]! - ceiling.p99,
        [`${m}_bare_node_p99_over_inprocess_ms`]: figures[`${m}_bare_node_p99_ms`]! - ceiling.p99,
        [`${m}_bare_ort_p99_over_inprocess_ms`]: figures[`${m}_bare_ort_p99_ms`]! - ceiling.p99,
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
