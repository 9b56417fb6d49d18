import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from '../../modules/artifacts/blob.store.js';
import { blobStoreContract } from './blob-store.contract.js';
import { FsBlobStore } from './fs-blob-store.js';

const pathOf = (root: string, digest: Digest): string => {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex);
};

const tempEntries = async (root: string): Promise<string[]> => readdir(join(root, 'tmp')).catch(() => []);

blobStoreContract('FsBlobStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-fs-blobs-'));
  return {
    store: await FsBlobStore.open({ root }),
    corrupt: async (digest) => {
      const path = pathOf(root, digest);
      const { size } = await stat(path);
      await writeFile(path, randomBytes(size));
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
    tempLeftovers: () => tempEntries(root),
  };
});

describe('FsBlobStore on disk', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-fs-blobs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lays blobs out as sha256/ab/cd/<hex> and names itself by its root', async () => {
    const store = await FsBlobStore.open({ root });
    const bytes = Buffer.from('hello blobs');
    const { digest } = await store.put(Readable.from([bytes]));
    expect(digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    expect((await stat(pathOf(root, digest))).size).toBe(bytes.length);
    expect(await tempEntries(root)).toEqual([]);
    expect(store.location).toBe(`file:${root}`);
  });

  it('sweeps temp files older than an hour on open and keeps recent ones', async () => {
    await mkdir(join(root, 'tmp'), { recursive: true });
    const stale = join(root, 'tmp', 'crashed.part');
    const fresh = join(root, 'tmp', 'in-flight.part');
    await writeFile(stale, 'half an upload');
    await writeFile(fresh, 'an upload still running');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);

    await FsBlobStore.open({ root });
    expect(await tempEntries(root)).toEqual(['in-flight.part']);
  });

  it('ignores stray files in the fan-out folders when listing', async () => {
    const store = await FsBlobStore.open({ root });
    const { digest } = await store.put(Readable.from([Buffer.from('x')]));
    const hex = digest.slice('sha256:'.length);
    await writeFile(join(root, 'sha256', hex.slice(0, 2), hex.slice(2, 4), '.DS_Store'), '');
    await mkdir(join(root, 'sha256', 'zz'), { recursive: true });
    const listed: Digest[] = [];
    for await (const d of store.list()) listed.push(d);
    expect(listed).toEqual([digest]);
  });

  it('lists nothing, rather than failing, before the first put', async () => {
    const store = new FsBlobStore({ root: join(root, 'not-yet-created') });
    const listed: Digest[] = [];
    for await (const d of store.list()) listed.push(d);
    expect(listed).toEqual([]);
  });
});
