import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, loadConfig } from '@cairn/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cairn, isCairnError, type CairnError } from './index.js';

/** A real server on 127.0.0.1:<free port>, SQLite and blobs in a temp folder. */
async function startServer(): Promise<{ url: string; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-sdk-'));
  const app = await buildApp(loadConfig({ cwd: dir, env: {}, flags: { dataDir: dir } }), { logger: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fetch that records `METHOD /path` of every call and can be told to fail some. */
function recordingFetch(
  fail?: (call: { method: string; path: string; n: number }) => Response | Error | undefined,
) {
  const calls: string[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    const { pathname } = new URL(String(input));
    calls.push(`${method} ${pathname}`);
    const failure = fail?.({ method, path: pathname, n: calls.length });
    if (failure instanceof Error) throw failure;
    if (failure !== undefined) return failure;
    return fetch(input, init);
  };
  return { calls, fetch: wrapped };
}

async function rejection(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

function syncError(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

const connectionRefused = (): Error =>
  Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });

describe('@cairn/sdk against a listening server', () => {
  let server: { url: string; close(): Promise<void> };
  let cairn: Cairn;
  let workDir: string;
  beforeAll(async () => {
    server = await startServer();
    cairn = new Cairn({ url: server.url });
    workDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-sdk-files-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('answers health and takes its URL from options or CAIRN_URL', async () => {
    expect(await cairn.health()).toEqual({ status: 'ok' });
    expect(cairn.url).toBe(server.url);
    const previous = process.env['CAIRN_URL'];
    process.env['CAIRN_URL'] = 'http://127.0.0.1:1234/';
    try {
      expect(new Cairn().url).toBe('http://127.0.0.1:1234');
    } finally {
      if (previous === undefined) delete process.env['CAIRN_URL'];
      else process.env['CAIRN_URL'] = previous;
    }
    expect(syncError(() => new Cairn({ url: 'not a url' })).code).toBe('INVALID_ARGUMENT');
  });

  it('manages experiments', async () => {
    const created = await cairn.experiments.create({ name: 'sdk-exp', tags: { team: 'risk' } });
    expect(created).toMatchObject({ name: 'sdk-exp', lifecycleStage: 'active', tags: { team: 'risk' } });
    expect(await cairn.experiments.get(created.experimentId)).toEqual(created);
    expect((await cairn.experiments.getByName('sdk-exp'))?.experimentId).toBe(created.experimentId);
    expect(await cairn.experiments.getByName('sdk-no-such-experiment')).toBeUndefined();

    const renamed = await cairn.experiments.rename(created.experimentId, 'sdk exp/renamed');
    expect(renamed.name).toBe('sdk exp/renamed');
    expect((await cairn.experiments.getByName('sdk exp/renamed'))?.experimentId).toBe(created.experimentId);
    await cairn.experiments.setTag(created.experimentId, 'owner/name', 'ml');
    expect((await cairn.experiments.get(created.experimentId)).tags).toEqual({
      team: 'risk',
      'owner/name': 'ml',
    });

    const listed = await cairn.experiments.list({ orderBy: ['name DESC'], maxResults: 1 });
    expect(listed.experiments).toHaveLength(1);
    expect(listed.nextPageToken).toEqual(expect.any(String));
    await cairn.experiments.delete(created.experimentId);
    const deleted = await cairn.experiments.list({ viewType: 'DELETED_ONLY' });
    expect(deleted.experiments.map((e) => e.experimentId)).toEqual([created.experimentId]);
    await cairn.experiments.restore(created.experimentId);
    expect((await cairn.experiments.get(created.experimentId)).lifecycleStage).toBe('active');
  });

  it('logs params, metrics and tags in batches, flushes and ends a run', async () => {
    const recorder = recordingFetch();
    const client = new Cairn({ url: server.url, fetch: recorder.fetch });
    const run = await client.startRun({
      experiment: 'sdk-training',
      runName: 'first',
      tags: { stage: 'train' },
      params: { lr: 0.01, epochs: 3, shuffle: true, optimizer: 'adam' },
    });
    expect(run.info).toMatchObject({ runName: 'first', status: 'RUNNING', experimentId: run.experimentId });
    expect((await client.experiments.getByName('sdk-training'))?.experimentId).toBe(run.experimentId);

    for (let step = 0; step < 2500; step++) run.logMetric('loss', 1 / (step + 1), { step });
    run.logMetrics({ acc: 0.75, nan: Number.NaN, inf: Number.POSITIVE_INFINITY }, { step: 7 });
    run.logParam('batch_size', 32);
    run.logParam('lr', 0.01); // the same value again is fine
    run.setTag('note', 'hello');
    await run.flush();
    expect(run.pendingCount).toBe(0);
    const batches = recorder.calls.filter((c) => c.endsWith('/log-batch'));
    expect(batches.length).toBeGreaterThanOrEqual(3);

    const stored = await client.runs.get(run.runId);
    expect(stored.data.params).toEqual({
      lr: '0.01',
      epochs: '3',
      shuffle: 'true',
      optimizer: 'adam',
      batch_size: '32',
    });
    expect(stored.data.tags).toMatchObject({ stage: 'train', note: 'hello', 'mlflow.runName': 'first' });
    const latest = Object.fromEntries(stored.data.metrics.map((m) => [m.key, m.value]));
    expect(latest).toMatchObject({ loss: 1 / 2500, acc: 0.75, nan: 'NaN', inf: 'Infinity' });

    const history = await client.runs.metricHistory(run.runId, 'loss');
    expect(history.metrics).toHaveLength(2500);
    expect(history.metrics[10]).toMatchObject({ key: 'loss', value: 1 / 11, step: 10 });
    const page = await client.runs.metricHistory(run.runId, 'loss', { maxResults: 100 });
    expect(page.metrics).toHaveLength(100);
    const next = await client.runs.metricHistory(run.runId, 'loss', {
      maxResults: 100,
      pageToken: page.nextPageToken,
    });
    expect(next.metrics[0]?.step).toBe(100);

    await run.end();
    expect(run.info.status).toBe('FINISHED');
    expect(run.info.endTime).toEqual(expect.any(Number));
    const ended = await client.runs.get(run.runId);
    expect(ended.info.status).toBe('FINISHED');
    expect(ended.info.endTime).toBe(run.info.endTime);
    expect(syncError(() => run.logMetric('late', 1)).code).toBe('FAILED_PRECONDITION');
    await run.end(); // idempotent
  });

  it('sends in the background within about a second, without flush()', async () => {
    const run = await cairn.startRun({ experiment: 'sdk-training' });
    run.logMetric('background', 42);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(run.pendingCount).toBe(0);
    expect((await cairn.runs.get(run.runId)).data.metrics).toEqual([
      expect.objectContaining({ key: 'background', value: 42 }),
    ]);
    await run.end('KILLED');
    expect((await cairn.runs.get(run.runId)).info.status).toBe('KILLED');
  });

  it('starts child runs, searches, updates, deletes and restores runs', async () => {
    const parent = await cairn.startRun({ experiment: 'sdk-search', runName: 'parent' });
    const child = await cairn.startRun({
      experimentId: parent.experimentId,
      parentRunId: parent.runId,
      runName: 'child',
    });
    child.logMetric('acc', 0.9);
    await child.end();
    await parent.end();
    expect((await cairn.runs.get(child.runId)).data.tags['mlflow.parentRunId']).toBe(parent.runId);

    const found = await cairn.runs.search({
      experimentIds: [parent.experimentId],
      filter: 'metrics.acc > 0.5',
      orderBy: ['start_time DESC'],
    });
    expect(found.runs.map((r) => r.info.runId)).toEqual([child.runId]);
    const info = await cairn.runs.update(child.runId, { runName: 'child-renamed' });
    expect(info.runName).toBe('child-renamed');
    await cairn.runs.delete(child.runId);
    expect((await cairn.runs.get(child.runId)).info.lifecycleStage).toBe('deleted');
    await cairn.runs.restore(child.runId);
    expect((await cairn.runs.get(child.runId)).info.lifecycleStage).toBe('active');
  });

  it('uploads files and folders (streamed) and downloads them', async () => {
    const run = await cairn.startRun({ experiment: 'sdk-artifacts' });
    const file = path.join(workDir, 'model.bin');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    big.write('header', 0);
    writeFileSync(file, big);
    const folder = path.join(workDir, 'report');
    mkdirSync(path.join(folder, 'plots', 'deep'), { recursive: true });
    writeFileSync(path.join(folder, 'summary.md'), '# summary\n');
    writeFileSync(path.join(folder, 'plots', 'loss.csv'), 'step,loss\n0,1\n');
    writeFileSync(path.join(folder, 'plots', 'deep', 'empty.txt'), '');

    await run.logArtifact(file);
    await run.logArtifact(file, 'models/v1/');
    await run.logArtifacts(folder);
    await run.logArtifacts(folder, 'report');

    const root = await cairn.runs.listArtifacts(run.runId);
    expect(root.rootUri).toBe(run.info.artifactUri);
    expect(root.files.map((f) => [f.path, f.isDir])).toEqual([
      ['model.bin', false],
      ['models', true],
      ['plots', true],
      ['report', true],
      ['summary.md', false],
    ]);
    expect(root.files[0]?.sizeBytes).toBe(big.length);
    const plots = await cairn.runs.listArtifacts(run.runId, 'report/plots');
    expect(plots.files.map((f) => f.path)).toEqual(['report/plots/deep', 'report/plots/loss.csv']);

    expect(Buffer.from(await cairn.runs.downloadArtifact(run.runId, 'models/v1/model.bin')).equals(big)).toBe(
      true,
    );
    expect(
      Buffer.from(await cairn.runs.downloadArtifact(run.runId, 'report/plots/loss.csv')).toString(),
    ).toBe('step,loss\n0,1\n');
    expect((await cairn.runs.downloadArtifact(run.runId, 'plots/deep/empty.txt')).length).toBe(0);

    expect((await rejection(run.logArtifact(path.join(workDir, 'missing.bin')))).code).toBe('NOT_FOUND');
    expect((await rejection(run.logArtifact(folder))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(cairn.runs.downloadArtifact(run.runId, 'nope.txt'))).code).toBe('NOT_FOUND');
    await run.end();
  });

  it('rebuilds server errors with their code, field and request id', async () => {
    const missing = await rejection(cairn.experiments.get('987654'));
    expect(missing).toMatchObject({ name: 'CairnError', code: 'NOT_FOUND', retryable: false });
    expect(missing.requestId).toEqual(expect.any(String));
    await cairn.experiments.create({ name: 'sdk-dup' });
    expect((await rejection(cairn.experiments.create({ name: 'sdk-dup' }))).code).toBe('ALREADY_EXISTS');
    const bad = await rejection(cairn.runs.search({ experimentIds: ['0'], filter: 'metrics.acc >' }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    const field = await rejection(
      cairn.runs.update('0123456789abcdef0123456789abcdef', { status: 'DONE' as 'FINISHED' }),
    );
    expect(field).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'status' });

    const down = new Cairn({ url: 'http://127.0.0.1:9', retries: 0 });
    const unreachable = await rejection(down.health());
    expect(unreachable).toMatchObject({ code: 'UNAVAILABLE', retryable: true });

    const html = new Cairn({
      url: server.url,
      retries: 0,
      fetch: async () =>
        new Response('<html>Bad gateway</html>', { status: 502, headers: { 'x-request-id': 'proxy-1' } }),
    });
    expect(await rejection(html.health())).toMatchObject({ code: 'UNAVAILABLE', requestId: 'proxy-1' });
    const teapot = new Cairn({
      url: server.url,
      fetch: async () => new Response('no', { status: 500 }),
      retries: 0,
    });
    expect((await rejection(teapot.health())).code).toBe('INTERNAL');
  });

  it('checks keys and values when they are logged, so one bad item cannot sink a batch', async () => {
    const run = await cairn.startRun({ experiment: 'sdk-training', params: { lr: 0.1 } });
    expect(syncError(() => run.logMetric('bad key!', 1)).code).toBe('INVALID_ARGUMENT');
    expect(syncError(() => run.logMetric('ok', 'x' as unknown as number)).code).toBe('INVALID_ARGUMENT');
    expect(syncError(() => run.logMetric('ok', 1, { step: 1.5 })).code).toBe('INVALID_ARGUMENT');
    expect(syncError(() => run.logParam('lr', 0.2)).code).toBe('INVALID_ARGUMENT');
    expect(syncError(() => run.setTag('t', 'x'.repeat(8001))).code).toBe('INVALID_ARGUMENT');
    expect(run.pendingCount).toBe(0);
    await run.end();
  });

  it('surfaces a refused batch on the next flush and end, with the real code', async () => {
    const run = await cairn.startRun({ experiment: 'sdk-training' });
    await cairn.runs.delete(run.runId); // the server now refuses writes to it
    run.logMetric('m', 1);
    const error = await rejection(run.flush());
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/1 metrics\/params\/tags was refused/);
    expect(run.pendingCount).toBe(0);
    await run.flush(); // reported once
    run.logMetric('m', 2);
    expect((await rejection(run.end())).code).toBe('INVALID_ARGUMENT');
  });

  it('keeps queued items while the server is unreachable and sends them once it is back', async () => {
    let down = true;
    const recorder = recordingFetch(({ path: p }) =>
      down && p.endsWith('/log-batch') ? connectionRefused() : undefined,
    );
    const client = new Cairn({ url: server.url, fetch: recorder.fetch, retries: 0 });
    const run = await client.startRun({ experiment: 'sdk-training' });
    run.logMetric('kept', 1);
    run.logMetric('kept', 2, { step: 1 });
    const error = await rejection(run.flush());
    expect(error.code).toBe('UNAVAILABLE');
    expect(run.pendingCount).toBe(2);
    down = false;
    await run.end();
    expect((await client.runs.metricHistory(run.runId, 'kept')).metrics.map((m) => m.value)).toEqual([1, 2]);
  });

  it('retries a 503 and network errors, but never another 4xx', async () => {
    const flaky = recordingFetch(({ n }) =>
      n === 1
        ? new Response(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'busy' } }), { status: 503 })
        : undefined,
    );
    const client = new Cairn({ url: server.url, fetch: flaky.fetch });
    const experiment = await client.experiments.create({ name: 'sdk-retried' });
    expect(experiment.name).toBe('sdk-retried');
    expect(flaky.calls).toEqual(['POST /api/v1/experiments', 'POST /api/v1/experiments']);

    const refused = recordingFetch(({ n }) => (n <= 2 ? connectionRefused() : undefined));
    expect(await new Cairn({ url: server.url, fetch: refused.fetch }).health()).toEqual({ status: 'ok' });
    expect(refused.calls).toHaveLength(3);

    const rateLimited = recordingFetch(
      () => new Response('slow down', { status: 429, headers: { 'retry-after': '0' } }),
    );
    const limited = await rejection(
      new Cairn({ url: server.url, fetch: rateLimited.fetch, retries: 2 }).health(),
    );
    expect(limited.code).toBe('RESOURCE_EXHAUSTED');
    expect(rateLimited.calls).toHaveLength(3);

    const invalid = recordingFetch();
    const client2 = new Cairn({ url: server.url, fetch: invalid.fetch });
    expect((await rejection(client2.experiments.get('987654'))).code).toBe('NOT_FOUND');
    expect(invalid.calls).toHaveLength(1);
  });

  it('bounds end(): a hung server cannot hold it past timeoutMs', async () => {
    const hanging: typeof fetch = (input, init) => {
      if (String(input).endsWith('/log-batch')) {
        return new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        });
      }
      return fetch(input, init);
    };
    const client = new Cairn({ url: server.url, fetch: hanging });
    const run = await client.startRun({ experiment: 'sdk-training' });
    run.logMetric('stuck', 1);
    const started = Date.now();
    const error = await rejection(run.end('FAILED', { timeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/1 metrics\/params\/tags were still unsent/);
    expect((await client.runs.get(run.runId)).info.status).toBe('FAILED');
  });
});
