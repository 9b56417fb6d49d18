import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FsBlobStore } from '../../adapters/blob/fs-blob-store.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import { outputText, startRun, waitEnded, waitStep } from '../../testing/pipeline-world.js';

describeEachDatabase('pipelines: a run survives its server restarting', ({ database }) => {
  let blobDir: string;
  const apps: TestApp[] = [];

  beforeAll(() => {
    blobDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-restart-blobs-'));
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    rmSync(blobDir, { recursive: true, force: true });
  });

  /** A server on the shared database and blob store, as a restarted `cairn server` would find them. */
  async function server(): Promise<TestApp> {
    const app = await createTestApp(database(), { blobs: new FsBlobStore({ root: blobDir }) });
    apps.push(app);
    return app;
  }

  it('continues an in-flight run after the server stops mid-step: finished steps stay, the cut step runs again', async () => {
    const first = await server();
    const name = `restart-${Date.now().toString(36)}`;
    const definition = {
      name,
      steps: {
        quick: { run: `echo ${name} > {{outputs.a}}`, outputs: ['a'] },
        slow: {
          run: 'sleep 1; cat {{inputs.a}} > {{outputs.b}}',
          inputs: { a: 'steps.quick.outputs.a' },
          outputs: ['b'],
        },
        after: {
          run: 'cat {{inputs.b}} {{inputs.b}} > {{outputs.c}}',
          inputs: { b: 'steps.slow.outputs.b' },
          outputs: ['c'],
        },
      },
    };
    const started = await startRun(first.app, { definition });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const runId = started.body.run.id;
    const quickBefore = await waitStep(first.app, { run: runId, step: 'quick', statuses: ['succeeded'] });
    const slowBefore = await waitStep(first.app, { run: runId, step: 'slow', statuses: ['running'] });
    await first.close();

    const second = await server();
    const run = await waitEnded(second.app, runId);
    expect(run.status, JSON.stringify(run.steps)).toBe('succeeded');
    const byName = Object.fromEntries(run.steps.map((s: any) => [s.name, s]));
    expect(byName.quick.runId).toBe(quickBefore.runId);
    expect(byName.slow.runId).not.toBe(slowBefore.runId);
    expect(byName.slow.attempt).toBe(1);
    expect((await outputText(second.app, { run: runId, step: 'after', output: 'c' })).text).toBe(
      `${name}\n${name}\n`,
    );
    const cut = await call(second.app, 'GET', `/api/v1/runs/${slowBefore.runId}`);
    expect(JSON.stringify(cut.body)).toContain('KILLED');
  });
});
