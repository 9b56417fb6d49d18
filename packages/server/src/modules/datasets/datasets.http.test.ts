import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import {
  DatasetJson,
  DatasetVersionJson,
  FileChunksJson,
  readFrames,
  UploadedFileJson,
} from '@cairn/contract';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/v1';
const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A CSV of `rows` rows, ~60 bytes each; `change` may rewrite row i. */
function csv(rows: number, change: (i: number, row: string) => string = (_i, r) => r): Buffer {
  const lines = ['id,user,amount,color,when'];
  for (let i = 0; i < rows; i++) {
    const row = `${i},user_${(i * 7919) % 100_000},${((i * 37) % 10_000) / 100},${['red', 'green', 'blue'][i % 3]},2026-11-${String((i % 28) + 1).padStart(2, '0')}`;
    lines.push(change(i, row));
  }
  return Buffer.from(lines.join('\n') + '\n');
}

/** Deterministic scattered picks: about `fraction` of rows. */
const picked = (i: number, fraction: number): boolean =>
  ((i * 2654435761) >>> 0) % 10_000 < fraction * 10_000;

describeEachDatabase('datasets API /api/v1/datasets', ({ database }) => {
  let t: TestApp;
  const base = csv(60_000);

  beforeAll(async () => {
    t = await createTestApp(database());
  });
  afterAll(async () => {
    await t.close();
  });

  async function add(name: string, files: Record<string, Buffer>, message = 'add'): Promise<any> {
    const begun = await call(t.app, 'POST', `${API}/datasets/${name}/uploads`, {});
    expect(begun.status).toBe(200);
    for (const [p, bytes] of Object.entries(files)) {
      const put = await putFile(name, begun.body.uploadId, p, bytes);
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(Value.Check(UploadedFileJson, put.body)).toBe(true);
      expect(put.body.digest).toBe(sha256(bytes));
    }
    const committed = await call(
      t.app,
      'POST',
      `${API}/datasets/${name}/uploads/${begun.body.uploadId}/commit`,
      {
        message,
      },
    );
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    expect(Value.Check(DatasetVersionJson, committed.body.version)).toBe(true);
    return committed.body.version;
  }

  async function putFile(name: string, uploadId: string, p: string, bytes: Buffer) {
    const response = await t.app.inject({
      method: 'PUT',
      url: `${API}/datasets/${name}/uploads/${uploadId}/files?path=${encodeURIComponent(p)}&mode=644`,
      payload: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  }

  async function content(name: string, ref: string | number, p: string): Promise<Buffer> {
    const response = await t.app.inject({
      method: 'GET',
      url: `${API}/datasets/${name}/versions/${ref}/content?path=${encodeURIComponent(p)}`,
    });
    expect(response.statusCode).toBe(200);
    return response.rawPayload;
  }

  it('creates a dataset once, and refuses bad names', async () => {
    const created = await call(t.app, 'POST', `${API}/datasets`, {
      name: 'sales',
      description: 'daily sales',
    });
    expect(created.status).toBe(200);
    expect(Value.Check(DatasetJson, created.body.dataset)).toBe(true);
    expect(created.body.dataset).toMatchObject({ name: 'sales', project: 'default', latestVersion: 0 });
    expect((await call(t.app, 'POST', `${API}/datasets`, { name: 'sales' })).status).toBe(409);
    for (const name of ['', '../x', 'a/b', ' x', 'x'.repeat(300), 7, null]) {
      const refused = await call(t.app, 'POST', `${API}/datasets`, { name });
      expect(refused.status, String(name)).toBe(400);
    }
    expect((await call(t.app, 'POST', `${API}/datasets`, { name: 'x1', project: 'nope' })).status).toBe(404);
  });

  it('adds versions that store only what changed, and reads every byte back verified', async () => {
    const small = Buffer.from('a tiny readme\n');
    const v1 = await add('sales', { 'data/sales.csv': base, 'README.md': small }, 'first');
    expect(v1).toMatchObject({ dataset: 'sales', version: 1, parent: null, files: 2, message: 'first' });
    expect(v1.bytesTotal).toBe(base.length + small.length);
    // Compressed: a CSV stores well under its size even the first time.
    expect(v1.bytesNew).toBeLessThan(base.length * 0.7);

    const scattered = csv(60_000, (i, row) => (picked(i, 0.01) ? row.replace(',red', ',teal') + 'x' : row));
    const v2 = await add('sales', { 'data/sales.csv': scattered, 'README.md': small }, 'edit 1% of rows');
    expect(v2).toMatchObject({ version: 2, parent: 1 });
    expect(v2.bytesNew / scattered.length).toBeLessThan(0.05);

    const appended = Buffer.concat([base, csv(600).subarray(26)]);
    const v3 = await add('sales', { 'data/sales.csv': appended, 'README.md': small }, 'append 1%');
    expect(v3.bytesNew / appended.length).toBeLessThan(0.05);

    expect((await content('sales', 1, 'data/sales.csv')).equals(base)).toBe(true);
    expect((await content('sales', 2, 'data/sales.csv')).equals(scattered)).toBe(true);
    expect((await content('sales', 'latest', 'data/sales.csv')).equals(appended)).toBe(true);
    expect((await content('sales', 3, 'README.md')).equals(small)).toBe(true);

    const log = await call(t.app, 'GET', `${API}/datasets/sales/versions`);
    expect(log.body.versions.map((v: any) => v.version)).toEqual([3, 2, 1]);
    const files = await call(t.app, 'GET', `${API}/datasets/sales/versions/2/files?chunks=true`);
    expect(files.body.files.map((f: any) => f.path)).toEqual(['README.md', 'data/sales.csv']);
    for (const f of files.body.files) expect(Value.Check(FileChunksJson, f)).toBe(true);
  });

  it('hands out chunks as verified frames, only for chunks of the dataset', async () => {
    const files = await call(t.app, 'GET', `${API}/datasets/sales/versions/1/files?chunks=true`);
    const file = files.body.files.find((f: any) => f.path === 'data/sales.csv');
    const digests = file.chunks.map((c: any) => c.digest);
    const response = await t.app.inject({
      method: 'POST',
      url: `${API}/datasets/sales/chunks/read`,
      payload: { digests },
    });
    expect(response.statusCode).toBe(200);
    const parts: Buffer[] = [];
    for await (const frame of readFrames([response.rawPayload])) {
      expect(frame.header.kind).toBe('chunk');
      expect(sha256(Buffer.from(frame.payload))).toBe(frame.header['digest']);
      parts.push(Buffer.from(frame.payload));
    }
    expect(Buffer.concat(parts).equals(base)).toBe(true);
    await call(t.app, 'POST', `${API}/datasets`, { name: 'other' });
    const stranger = await call(t.app, 'POST', `${API}/datasets/other/chunks/read`, {
      digests: [digests[0]],
    });
    expect(stranger.status).toBe(404);
    const bad = await call(t.app, 'POST', `${API}/datasets/sales/chunks/read`, { digests: ['sha256:zz'] });
    expect(bad.status).toBe(400);
  });

  it('resolves aliases and refuses unknown references', async () => {
    expect((await call(t.app, 'PUT', `${API}/datasets/sales/aliases/golden`, { version: 2 })).status).toBe(
      200,
    );
    const golden = await call(t.app, 'GET', `${API}/datasets/sales/versions/golden`);
    expect(golden.body.version).toMatchObject({ version: 2, aliases: ['golden'] });
    expect((await call(t.app, 'GET', `${API}/datasets/sales/versions/9`)).status).toBe(404);
    expect((await call(t.app, 'GET', `${API}/datasets/sales/versions/nope`)).status).toBe(404);
    expect((await call(t.app, 'PUT', `${API}/datasets/sales/aliases/latest`, { version: 1 })).status).toBe(
      400,
    );
    expect((await call(t.app, 'DELETE', `${API}/datasets/sales/aliases/golden`)).status).toBe(200);
  });

  it('reuses stored files by digest and reports the ones it lacks', async () => {
    const begun = await call(t.app, 'POST', `${API}/datasets/sales/uploads`, {});
    const reuse = await call(t.app, 'POST', `${API}/datasets/sales/uploads/${begun.body.uploadId}/reuse`, {
      files: [
        { path: 'data/sales.csv', digest: sha256(base), mode: 420 },
        { path: 'new.bin', digest: sha256(Buffer.from('never sent')), mode: 420 },
      ],
    });
    expect(reuse.status).toBe(200);
    expect(reuse.body.staged.map((f: any) => f.path)).toEqual(['data/sales.csv']);
    expect(reuse.body.missing).toEqual(['new.bin']);
    const committed = await call(
      t.app,
      'POST',
      `${API}/datasets/sales/uploads/${begun.body.uploadId}/commit`,
      {
        message: 'back to v1 content',
      },
    );
    expect(committed.body.version).toMatchObject({ files: 1, bytesNew: 0 });
  });

  it('lands two concurrent adds as two versions, and leaves no version for an abandoned one', async () => {
    const [a, b] = await Promise.all([
      add('sales', { 'a.txt': Buffer.from('a') }),
      add('sales', { 'b.txt': Buffer.from('b') }),
    ]);
    expect(new Set([a.version, b.version]).size).toBe(2);
    const before = (await call(t.app, 'GET', `${API}/datasets/sales`)).body.dataset.latestVersion;
    const begun = await call(t.app, 'POST', `${API}/datasets/sales/uploads`, {});
    const big = csv(20_000, (i, row) => `${row},abandoned`);
    expect((await putFile('sales', begun.body.uploadId, 'big.csv', big)).status).toBe(200);
    expect((await call(t.app, 'GET', `${API}/datasets/sales`)).body.dataset.latestVersion).toBe(before);
    // Re-running the add reuses what the abandoned one stored.
    const again = await add('sales', { 'big.csv': big });
    expect(again.bytesNew).toBe(0);
  });

  it('refuses bad adds with clear errors and writes nothing', async () => {
    const begun = await call(t.app, 'POST', `${API}/datasets/sales/uploads`, {});
    const id = begun.body.uploadId;
    for (const p of ['../etc/passwd', '/abs', 'a/../../b', '', 'a\\b']) {
      const put = await putFile('sales', id, p, Buffer.from('x'));
      expect(put.status, p).toBe(400);
    }
    expect(
      (await call(t.app, 'POST', `${API}/datasets/sales/uploads/${id}/commit`, { message: 'm' })).status,
    ).toBe(412);
    expect(
      (await call(t.app, 'POST', `${API}/datasets/sales/uploads/nope/commit`, { message: 'm' })).status,
    ).toBe(404);
    expect((await call(t.app, 'POST', `${API}/datasets/missing/uploads`, {})).status).toBe(404);
    expect((await call(t.app, 'DELETE', `${API}/datasets/sales/uploads/${id}`)).status).toBe(200);
  });

  it('names a corrupt chunk, with an error frame, and fails the file read', async () => {
    const bytes = csv(30_000, (i, row) => `${row},corruptme`);
    await call(t.app, 'POST', `${API}/datasets`, { name: 'fragile' });
    await add('fragile', { 'f.csv': bytes });
    const files = await call(t.app, 'GET', `${API}/datasets/fragile/versions/1/files?chunks=true`);
    const digests = files.body.files[0].chunks.map((c: any) => c.digest);
    // Flip bytes in every pack written after the others: the newest blob holds this file's chunks.
    const blobs = listFiles(path.join(t.dataDir)).filter((f) => /[0-9a-f]{64}$/.test(f));
    const newest = blobs.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0]!;
    const damaged = readFileSync(newest);
    for (let i = 100; i < damaged.length; i += 4096) damaged[i] = damaged[i]! ^ 0xff;
    writeFileSync(newest, damaged);
    const response = await t.app.inject({
      method: 'POST',
      url: `${API}/datasets/fragile/chunks/read`,
      payload: { digests },
    });
    const kinds: string[] = [];
    for await (const frame of readFrames([response.rawPayload])) {
      kinds.push(frame.header.kind);
      if (frame.header.kind === 'error') {
        expect(frame.header['code']).toBe('DATA_LOSS');
        expect(String(frame.header['message'])).toContain(String(frame.header['digest']));
      }
    }
    expect(kinds).toContain('error');
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}
