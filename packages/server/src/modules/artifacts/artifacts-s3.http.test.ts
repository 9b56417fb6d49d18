import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import { describeEachDatabase } from '../../testing/test-databases.js';

// The whole artifact path — MLflow proxy → ArtifactService → S3BlobStore — on a
// real S3 protocol server, configured the way a user would (CAIRN_BLOB_URL).
const BUCKET = 'cairn-artifacts';

describeEachDatabase('artifacts on S3-compatible storage', ({ database }) => {
  let s3: S3rver;
  let directory: string;
  let endpoint: string;
  let t: TestApp;
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cairn-s3-app-'));
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory,
      configureBuckets: [{ name: BUCKET }],
    });
    const { port } = await s3.run();
    endpoint = `http://127.0.0.1:${port}`;
    // Credentials come from the standard AWS chain, as in production.
    process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';
    t = await createTestApp(database(), {
      env: { CAIRN_BLOB_URL: `s3://${BUCKET}/team-a`, CAIRN_S3_ENDPOINT: endpoint },
    });
  });

  afterAll(async () => {
    await t?.close();
    await s3?.close();
    await rm(directory, { recursive: true, force: true });
    if (saved.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
    else process.env['AWS_ACCESS_KEY_ID'] = saved.id;
    if (saved.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
    else process.env['AWS_SECRET_ACCESS_KEY'] = saved.secret;
  });

  it('stores run artifacts in the bucket by digest and serves them back verified', async () => {
    const run = await call(t.app, 'POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: '0',
      start_time: 1,
    });
    const runId = run.body.run.info.run_id as string;
    const root = `0/${runId}/artifacts`;
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/weights.bin`,
      payload: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode).toBe(200);

    const listed = await call(t.app, 'GET', `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=model`);
    expect(listed.body.files).toEqual([
      { path: 'model/weights.bin', is_dir: false, file_size: bytes.length },
    ]);

    const got = await t.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/weights.bin`,
    });
    expect(got.statusCode).toBe(200);
    expect(Buffer.compare(got.rawPayload, bytes)).toBe(0);

    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const objects = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'team-a/sha256/' }));
    client.destroy();
    expect((objects.Contents ?? []).some((o) => o.Size === bytes.length)).toBe(true);
  });
});
