import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../modules/artifacts/blob.store.js';
import { blobStoreContract } from './blob-store.contract.js';
import { S3BlobStore, type S3ConnectionOptions } from './s3-blob-store.js';

const BUCKET = 'cairn-test';
const MiB = 1024 * 1024;

let server: S3rver;
let directory: string;
let connection: S3ConnectionOptions;
let raw: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'cairn-s3rver-'));
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  connection = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
  raw = new S3Client(connection);
});

afterAll(async () => {
  raw?.destroy();
  await server?.close();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

async function keysUnder(prefix: string): Promise<string[]> {
  const page = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).flatMap(({ Key }) => (Key === undefined ? [] : [Key]));
}

const keyOf = (prefix: string, digest: Digest): string => {
  const hex = digest.slice('sha256:'.length);
  return `${prefix}/sha256/${hex.slice(0, 2)}/${hex}`;
};

blobStoreContract(
  'S3BlobStore',
  async () => {
    // A fresh prefix per test isolates them without restarting the server.
    const prefix = `t-${randomUUID()}`;
    return {
      store: S3BlobStore.fromUrl(`s3://${BUCKET}/${prefix}`, connection),
      corrupt: async (digest) => {
        await raw.send(
          new PutObjectCommand({ Bucket: BUCKET, Key: keyOf(prefix, digest), Body: randomBytes(1234) }),
        );
      },
      cleanup: async () => {},
      tempLeftovers: () => keysUnder(`${prefix}/tmp/`),
    };
  },
  // Four 8 MiB parts: quick against s3rver, yet big enough that buffering the blob would stand out above
  // allocator noise (s3rver runs in this process, so its memory counts too). The bound leaves room for
  // one part in flight plus s3rver's own buffers on a loaded machine; holding the whole blob exceeds it.
  { largeBlobBytes: 32 * MiB, maxRssGrowthBytes: 24 * MiB },
);

describe('S3BlobStore in a bucket', () => {
  it('puts small blobs straight under <prefix>/sha256/ab/<hex>', async () => {
    const prefix = `t-${randomUUID()}`;
    const store = new S3BlobStore({ ...connection, bucket: BUCKET, prefix: `/${prefix}/` });
    const { digest } = await store.put(Readable.from([Buffer.from('small')]));
    expect(await keysUnder(`${prefix}/`)).toEqual([keyOf(prefix, digest)]);
  });

  it('copies multipart uploads under their digest and removes the temp key', async () => {
    const prefix = `t-${randomUUID()}`;
    const store = S3BlobStore.fromUrl(`s3://${BUCKET}/${prefix}`, connection);
    const bytes = randomBytes(9 * MiB);
    const first = await store.put(Readable.from([bytes.subarray(0, 4 * MiB), bytes.subarray(4 * MiB)]));
    const second = await store.put(Readable.from([bytes]));
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(await keysUnder(`${prefix}/`)).toEqual([keyOf(prefix, first.digest)]);
  });

  it('works at the bucket root', async () => {
    const store = S3BlobStore.fromUrl(`s3://${BUCKET}`, connection);
    expect(store.location).toBe(`s3://${BUCKET}`);
    const { digest } = await store.put(Readable.from([randomBytes(10)]));
    expect((await keysUnder('sha256/')).includes(keyOf('', digest).slice(1))).toBe(true);
    expect(await store.delete(digest)).toBe(true);
  });
});

describe('S3BlobStore.fromUrl', () => {
  const options: S3ConnectionOptions = { region: 'us-east-1', forcePathStyle: false };

  it.each([
    ['s3://bucket', 's3://bucket'],
    ['s3://bucket/', 's3://bucket'],
    ['s3://bucket/models', 's3://bucket/models'],
    ['s3://bucket/team/models/', 's3://bucket/team/models'],
  ])('reads %s', (url, location) => {
    expect(S3BlobStore.fromUrl(url, options).location).toBe(location);
  });

  it.each(['s3://', 's3:///prefix', 'http://bucket/prefix', 's3://bucket/p?x=1'])('rejects %s', (url) => {
    expect(() => S3BlobStore.fromUrl(url, options)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
