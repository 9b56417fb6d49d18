import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from './fs-blob-store.js';
import { openBlobStore } from './open-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

const s3 = { region: 'us-east-1', forcePathStyle: true, endpoint: 'http://127.0.0.1:9' };

describe('openBlobStore', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-open-blobs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('opens file:/abs/path and file:///abs/path as a folder store', async () => {
    for (const url of [`file:${root}`, `file://${root}`]) {
      const store = await openBlobStore(url, s3);
      expect(store).toBeInstanceOf(FsBlobStore);
      expect(store.location).toBe(`file:${root}`);
    }
  });

  it('decodes percent-escapes in absolute file URLs', async () => {
    const store = await openBlobStore(`file:${root}/with%20space`, s3);
    expect(store.location).toBe(`file:${join(root, 'with space')}`);
  });

  it('resolves relative file: paths against the working directory', async () => {
    const store = await openBlobStore('file:./.cairn/blobs', s3);
    expect(store.location).toBe(`file:${resolve('.cairn/blobs')}`);
  });

  it('opens s3://bucket/prefix as an S3 store', async () => {
    const store = await openBlobStore('s3://models/team-a/', s3);
    expect(store).toBeInstanceOf(S3BlobStore);
    expect(store.location).toBe('s3://models/team-a');
  });

  it.each([
    '',
    '/var/blobs',
    './blobs',
    'http://example.com/blobs',
    'gs://bucket',
    'S3://bucket',
    'file:',
    's3://',
  ])('rejects %j naming the supported schemes', async (url) => {
    const error = await openBlobStore(url, s3).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/file:|s3:\/\//);
  });
});
