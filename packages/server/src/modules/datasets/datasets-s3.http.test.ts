import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import { describeEachDatabase } from '../../testing/test-databases.js';

// Datasets on a real S3 protocol server: packs are objects, chunks are range reads of them.
const BUCKET = 'cairn-data';
const API = '/api/v1';

function csv(rows: number, edit = false): Buffer {
  const lines = ['id,name,value'];
  for (let i = 0; i < rows; i++)
    lines.push(`${i},name_${(i * 7919) % 10_007},${edit && i % 97 === 0 ? -i : i * 3}`);
  return Buffer.from(lines.join('\n') + '\n');
}

describeEachDatabase('datasets on S3-compatible storage', ({ database }) => {
  let s3: S3rver;
  let directory: string;
  let t: TestApp;
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cairn-s3-data-'));
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory,
      configureBuckets: [{ name: BUCKET }],
    });
    const { port } = await s3.run();
    process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';
    t = await createTestApp(database(), {
      env: { CAIRN_BLOB_URL: `s3://${BUCKET}/data`, CAIRN_S3_ENDPOINT: `http://127.0.0.1:${port}` },
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

  async function add(bytes: Buffer): Promise<any> {
    const begun = await call(t.app, 'POST', `${API}/datasets/s3data/uploads`, {});
    const put = await t.app.inject({
      method: 'PUT',
      url: `${API}/datasets/s3data/uploads/${begun.body.uploadId}/files?path=t.csv`,
      payload: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode, put.body).toBe(200);
    const done = await call(t.app, 'POST', `${API}/datasets/s3data/uploads/${begun.body.uploadId}/commit`, {
      message: 'm',
    });
    expect(done.status).toBe(200);
    return done.body.version;
  }

  it('adds versions as packs in the bucket and reads every file back verified, deltas included', async () => {
    await call(t.app, 'POST', `${API}/datasets`, { name: 's3data' });
    const v1 = csv(40_000);
    const v2 = csv(40_000, true);
    await add(v1);
    const second = await add(v2);
    expect(second.bytesNew).toBeLessThan(v2.length * 0.1);
    for (const [ref, bytes] of [
      [1, v1],
      [2, v2],
    ] as const) {
      const read = await t.app.inject({
        method: 'GET',
        url: `${API}/datasets/s3data/versions/${ref}/content?path=t.csv`,
      });
      expect(read.statusCode).toBe(200);
      expect(read.headers['x-cairn-digest']).toBe(
        `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      );
      expect(read.rawPayload.equals(bytes)).toBe(true);
    }
  });
});
