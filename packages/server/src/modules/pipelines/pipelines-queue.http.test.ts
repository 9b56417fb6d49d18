import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DatasetVersionFiles } from '../../adapters/pipeline-executors/dataset-version-files.js';
import { QueueStepWorker } from '../../adapters/pipeline-executors/queue-step-worker.js';
import { createSqlStores } from '../../adapters/sql/sql-stores.js';
import {
  demoPipeline,
  outputText,
  startRun,
  statuses,
  waitEnded,
  waitStep,
} from '../../testing/pipeline-world.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const REDIS = process.env['CAIRN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describeEachDatabase('pipelines on the queue executor (BullMQ on Redis) with a worker', ({ database }) => {
  let t: TestApp;
  let worker: QueueStepWorker;
  let workRoot: string;
  // A queue of this file's own: other suites sharing the Redis never see its jobs.
  const prefix = `cairn-test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    t = await createTestApp(database(), { env: { CAIRN_QUEUE_URL: REDIS, CAIRN_QUEUE_PREFIX: prefix } });
    workRoot = mkdtempSync(path.join(os.tmpdir(), 'cairn-worker-'));
    const stores = createSqlStores(database().db, database().helpers);
    worker = new QueueStepWorker({
      url: REDIS,
      prefix,
      concurrency: 2,
      lockMs: 5000,
      name: 'test-worker',
      runner: {
        blobs: t.app.cairn.blobs,
        datasets: new DatasetVersionFiles({
          store: stores.datasets,
          reads: t.app.cairn.services.datasetReads,
        }),
        workRoot,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        killGraceMs: 500,
      },
      onError: () => undefined,
    });
    await worker.ready();
  });
  afterAll(async () => {
    await worker.close({ stopSteps: true });
    await t.close();
    rmSync(workRoot, { recursive: true, force: true });
  });

  it('runs the demo pipeline on a worker: same outputs, the cache shared with local runs', async () => {
    const name = `queued-${randomUUID().slice(0, 8)}`;
    const definition = { ...demoPipeline(), name };
    const started = await startRun(t.app, { definition, executor: 'queue' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const run = await waitEnded(t.app, started.body.run.id);
    expect(run.status, JSON.stringify(run.steps)).toBe('succeeded');
    expect(run.executor).toBe('queue');
    expect((await outputText(t.app, { run: run.id, step: 'total', output: 'sum' })).text.trim()).toBe(
      '15150',
    );
    const tracked = await call(t.app, 'GET', `/api/v1/runs/${run.steps[0].runId}`);
    expect(JSON.stringify(tracked.body)).toContain('FINISHED');

    const local = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(local.steps.map((s: any) => s.cached)).toEqual([true, true, true]);
  });

  it('fails and times out on a worker as it does locally', async () => {
    const definition = {
      name: `queued-faults-${randomUUID().slice(0, 8)}`,
      steps: {
        broken: { run: 'echo "bad data" >&2; exit 4', outputs: [] },
        hangs: { run: 'sleep 30', timeout: '500ms' },
      },
    };
    const run = await waitEnded(
      t.app,
      (await startRun(t.app, { definition, executor: 'queue' })).body.run.id,
    );
    expect(statuses(run)).toEqual({ broken: 'failed', hangs: 'failed' });
    const byName = Object.fromEntries(run.steps.map((s: any) => [s.name, s]));
    expect(byName.broken.exitCode).toBe(4);
    expect(byName.broken.stderrTail).toContain('bad data');
    expect(byName.hangs.error).toMatch(/timed out/);
  });

  it('cancels a step running on a worker', async () => {
    const definition = {
      name: `queued-cancel-${randomUUID().slice(0, 8)}`,
      steps: { long: { run: 'sleep 30' } },
    };
    const started = await startRun(t.app, { definition, executor: 'queue' });
    await waitStep(t.app, { run: started.body.run.id, step: 'long', statuses: ['running'] });
    expect((await call(t.app, 'POST', `/api/v1/pipeline-runs/${started.body.run.id}/cancel`)).status).toBe(
      200,
    );
    const run = await waitEnded(t.app, started.body.run.id, 15_000);
    expect(run.status).toBe('cancelled');
    expect(statuses(run)).toEqual({ long: 'cancelled' });
  });
});

it('refuses the queue executor when the server has no queue configured', async () => {
  const { openTestDatabase } = await import('../../testing/test-databases.js');
  const database = await openTestDatabase('sqlite');
  const t = await createTestApp(database);
  try {
    const answer = await startRun(t.app, { definition: demoPipeline(), executor: 'queue' });
    expect(answer.status).toBe(412);
    expect(answer.body.error.message).toMatch(/CAIRN_QUEUE_URL/);
  } finally {
    await t.close();
    await database.drop();
  }
});
