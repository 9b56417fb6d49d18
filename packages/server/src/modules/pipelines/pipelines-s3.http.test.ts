import { randomUUID } from 'node:crypto';
import { treeFrameHeader } from '@cairn/contract';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { outputText, startRun, waitEnded } from '../../testing/pipeline-world.js';
import { startTestS3, type TestS3 } from '../../testing/s3-server.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';
import { describeEachDatabase } from '../../testing/test-databases.js';

// Pipelines on a real S3 protocol server: code packages, step outputs (files and
// folders) and logs are objects, read back by the next step and by the API.
const BUCKET = 'cairn-pipelines';
const API = '/api/v1';

describeEachDatabase('pipelines with their blobs on S3-compatible storage', ({ database }) => {
  let s3: TestS3;
  let t: TestApp;

  beforeAll(async () => {
    s3 = await startTestS3(BUCKET);
    t = await createTestApp(database(), {
      env: { CAIRN_BLOB_URL: `s3://${BUCKET}/cairn`, CAIRN_S3_ENDPOINT: s3.endpoint },
    });
  });

  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  it('runs code from an uploaded package, passes a folder output on, and serves outputs and logs from S3', async () => {
    const script = Buffer.from(
      '#!/bin/sh\nmkdir -p "$1/parts" && echo one > "$1/parts/a" && echo two > "$1/b"\n',
    );
    const body = Buffer.concat([
      Buffer.from(treeFrameHeader({ path: 'bin/make.sh', sizeBytes: script.length, executable: true })),
      script,
    ]);
    const upload = await t.app.inject({
      method: 'POST',
      url: `${API}/pipeline-code`,
      payload: body,
      headers: { 'content-type': 'application/vnd.cairn.tree' },
    });
    expect(upload.statusCode, upload.body).toBe(201);
    const name = `s3-${randomUUID().slice(0, 8)}`;
    const definition = {
      name,
      steps: {
        make: { run: './bin/make.sh {{outputs.tree}} && echo made', outputs: ['tree'] },
        read: {
          run: 'cat {{inputs.tree}}/parts/a {{inputs.tree}}/b > {{outputs.both}}',
          inputs: { tree: 'steps.make.outputs.tree' },
          outputs: ['both'],
        },
      },
    };
    const started = await startRun(t.app, { definition, codeDigest: JSON.parse(upload.body).digest });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const run = await waitEnded(t.app, started.body.run.id);
    expect(run.status, JSON.stringify(run.steps)).toBe('succeeded');
    expect((await outputText(t.app, { run: run.id, step: 'read', output: 'both' })).text).toBe('one\ntwo\n');
    const tree = await outputText(t.app, { run: run.id, step: 'make', output: 'tree' });
    expect(tree.type).toBe('dir');
    expect(JSON.parse(tree.text).files.map((f: any) => f.path)).toEqual(['b', 'parts/a']);
    const one = await outputText(t.app, { run: run.id, step: 'make', output: 'tree', path: 'parts/a' });
    expect(one.text).toBe('one\n');
    const log = await t.app.inject({ method: 'GET', url: `${API}/pipeline-runs/${run.id}/logs?step=make` });
    expect(log.body).toBe('made\n');

    const again = await waitEnded(
      t.app,
      (await startRun(t.app, { definition, codeDigest: JSON.parse(upload.body).digest })).body.run.id,
    );
    expect(again.steps.map((s: any) => s.cached)).toEqual([true, true]);
  });
});
