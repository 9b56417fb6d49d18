import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore, Digest } from '../../modules/artifacts/blob.store.js';

/** One store under test, fresh and empty. */
export interface BlobStoreHarness {
  store: BlobStore;
  /** Replaces the stored bytes of `digest` with different ones, behind the store's back. */
  corrupt(digest: Digest): Promise<void>;
  cleanup(): Promise<void>;
  /** Temp files or keys currently left behind, where the adapter can see them. */
  tempLeftovers?(): Promise<string[]>;
}

export interface BlobStoreContractOptions {
  /** Size of the streamed "model file"; large enough to span several write buffers or upload parts. */
  largeBlobBytes?: number;
  /** Ceiling on process RSS growth while that blob goes in and comes back out. */
  maxRssGrowthBytes?: number;
}

const MiB = 1024 * 1024;
const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const sha256 = (bytes: Uint8Array): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const source = (...chunks: Buffer[]): Readable => Readable.from(chunks);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listAll(store: BlobStore): Promise<Digest[]> {
  const digests: Digest[] = [];
  for await (const digest of store.list()) digests.push(digest);
  return digests.sort();
}

/**
 * Tracks the highest RSS seen. Collects garbage now and then: V8 lets dead
 * Buffers pile up to its external-memory soft limit (~64 MiB) before it
 * bothers, which would measure GC laziness instead of what the store retains.
 */
function rssWatcher(): { sample(): void; growth(): number; stop(): void } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  let samples = 0;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage.rss());
    if (++samples % 8 === 0) gc();
  };
  const timer = setInterval(sample, 5);
  return { sample, growth: () => peak - baseline, stop: () => clearInterval(timer) };
}

/** Yields `total` random bytes lazily, hashing them on the way, so nothing holds the whole blob. */
async function* generated(total: number, hash: ReturnType<typeof createHash>, onChunk: () => void) {
  for (let sent = 0; sent < total; sent += MiB) {
    const chunk = randomBytes(Math.min(MiB, total - sent));
    hash.update(chunk);
    onChunk();
    yield chunk;
  }
}

const INVALID_DIGESTS = [
  'sha256:../../etc',
  `sha256:${'../'.repeat(21)}a`,
  `sha256:${'A'.repeat(64)}`,
  `sha256:${'a'.repeat(63)}`,
  `sha256:${'a'.repeat(65)}`,
  `md5:${'a'.repeat(32)}`,
  '',
];

/**
 * The behaviour every `BlobStore` adapter must share, written once and run
 * against each (the way MLflow runs one store test suite per backend).
 */
export function blobStoreContract(
  name: string,
  open: () => Promise<BlobStoreHarness>,
  options: BlobStoreContractOptions = {},
): void {
  const largeBlobBytes = options.largeBlobBytes ?? 64 * MiB;
  const maxRssGrowthBytes = options.maxRssGrowthBytes ?? 32 * MiB;

  describe(`${name} (BlobStore contract)`, () => {
    let harness: BlobStoreHarness;
    let store: BlobStore;

    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('stores and returns the bytes under their sha256', async () => {
      const parts = [randomBytes(1000), randomBytes(70_000), Buffer.from('tail')];
      const whole = Buffer.concat(parts);
      const result = await store.put(source(...parts));
      expect(result).toEqual({ digest: sha256(whole), sizeBytes: whole.length, created: true });
      expect((await readAll(await store.get(result.digest))).equals(whole)).toBe(true);
    });

    it('accepts any async iterable of bytes', async () => {
      const bytes = randomBytes(5000);
      async function* chunks() {
        yield bytes.subarray(0, 10);
        yield new Uint8Array(bytes.subarray(10));
      }
      const result = await store.put(chunks());
      expect(result.digest).toBe(sha256(bytes));
      expect((await readAll(await store.get(result.digest))).equals(bytes)).toBe(true);
    });

    it('is idempotent: the same bytes again report created false', async () => {
      const bytes = randomBytes(4096);
      const first = await store.put(source(bytes));
      const second = await store.put(source(bytes));
      expect(first.created).toBe(true);
      expect(second).toEqual({ digest: first.digest, sizeBytes: 4096, created: false });
      expect(await listAll(store)).toEqual([first.digest]);
    });

    it('stores the empty blob', async () => {
      const result = await store.put(source());
      expect(result).toEqual({ digest: EMPTY_SHA256, sizeBytes: 0, created: true });
      expect(await store.stat(EMPTY_SHA256)).toEqual({ digest: EMPTY_SHA256, sizeBytes: 0 });
      expect((await readAll(await store.get(EMPTY_SHA256))).length).toBe(0);
    });

    it('answers has, stat, delete and list', async () => {
      const a = await store.put(source(randomBytes(10)));
      const b = await store.put(source(randomBytes(20)));
      expect(await listAll(store)).toEqual([a.digest, b.digest].sort());
      expect(await store.has(a.digest)).toBe(true);
      expect(await store.stat(b.digest)).toEqual({ digest: b.digest, sizeBytes: 20 });

      expect(await store.delete(a.digest)).toBe(true);
      expect(await store.delete(a.digest)).toBe(false);
      expect(await store.has(a.digest)).toBe(false);
      expect(await store.stat(a.digest)).toBeUndefined();
      expect(await listAll(store)).toEqual([b.digest]);
      expect(store.location).toEqual(expect.any(String));
    });

    it('accepts a matching expectedDigest', async () => {
      const bytes = randomBytes(100);
      const result = await store.put(source(bytes), { expectedDigest: sha256(bytes) });
      expect(result.digest).toBe(sha256(bytes));
    });

    it('keeps nothing when expectedDigest does not match', async () => {
      const bytes = randomBytes(100);
      const wrong = sha256(Buffer.from('something else'));
      const error = await store.put(source(bytes), { expectedDigest: wrong }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((error as Error).message).toContain(wrong);
      expect((error as Error).message).toContain(sha256(bytes));
      expect(await store.has(sha256(bytes))).toBe(false);
      expect(await listAll(store)).toEqual([]);
      expect((await harness.tempLeftovers?.()) ?? []).toEqual([]);
    });

    it('fails the read stream with DATA_LOSS, never a clean end, when stored bytes are corrupted', async () => {
      const { digest } = await store.put(source(randomBytes(300_000)));
      await harness.corrupt(digest);
      const stream = await store.get(digest);
      let ended = false;
      stream.on('end', () => {
        ended = true;
      });
      const error = await readAll(stream).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DATA_LOSS' });
      expect((error as Error).message).toContain(`blob ${digest} is corrupted`);
      expect(ended).toBe(false);
    });

    it('reads byte ranges, and names a range past the end as lost data', async () => {
      const bytes = Buffer.from('0123456789abcdef'.repeat(1000));
      const { digest } = await store.put(Readable.from([bytes]));
      expect((await store.getRange(digest, { offset: 0, length: 5 })).toString()).toBe('01234');
      expect(await store.getRange(digest, { offset: 15_990, length: 10 })).toEqual(bytes.subarray(15_990));
      expect((await store.getRange(digest, { offset: 3, length: 0 })).length).toBe(0);
      await expect(store.getRange(digest, { offset: 15_995, length: 10 })).rejects.toMatchObject({
        code: 'DATA_LOSS',
      });
      await expect(store.getRange(digest, { offset: -1, length: 1 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(
        store.getRange(`sha256:${'0'.repeat(64)}`, { offset: 0, length: 1 }),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('reports absent blobs', async () => {
      const missing = sha256(Buffer.from('never stored'));
      await expect(store.get(missing)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await store.has(missing)).toBe(false);
      expect(await store.stat(missing)).toBeUndefined();
      expect(await store.delete(missing)).toBe(false);
    });

    it.each(INVALID_DIGESTS)('rejects the malformed digest %j before touching storage', async (bad) => {
      const digest = bad as Digest;
      await expect(store.get(digest)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.has(digest)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.stat(digest)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.delete(digest)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(store.put(source(Buffer.from('x')), { expectedDigest: digest })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });

    it(`streams a ${largeBlobBytes / MiB} MiB blob in and out with bounded memory`, async () => {
      // Warm up first (lazy module loading, first multipart upload, allocator arenas) so only steady state is measured.
      await store.put(generated(9 * MiB, createHash('sha256'), () => {}));
      const written = createHash('sha256');
      const rss = rssWatcher();
      try {
        const result = await store.put(generated(largeBlobBytes, written, rss.sample));
        const expected: Digest = `sha256:${written.digest('hex')}`;
        expect(result).toEqual({ digest: expected, sizeBytes: largeBlobBytes, created: true });

        const read = createHash('sha256');
        let readBytes = 0;
        for await (const chunk of await store.get(expected)) {
          read.update(chunk as Buffer);
          readBytes += (chunk as Buffer).length;
          rss.sample();
        }
        expect(readBytes).toBe(largeBlobBytes);
        expect(`sha256:${read.digest('hex')}`).toBe(expected);
      } finally {
        rss.stop();
      }
      expect(rss.growth()).toBeLessThan(maxRssGrowthBytes);
    });

    const failingSources: [string, () => AsyncIterable<Uint8Array> | Readable][] = [
      [
        'an async iterable that throws',
        () =>
          (async function* () {
            for (let i = 0; i < 3; i++) yield randomBytes(3 * MiB);
            throw new Error('source broke');
          })(),
      ],
      [
        'a Readable destroyed with an error',
        () => {
          let pushed = 0;
          return new Readable({
            read() {
              if (pushed++ < 3) this.push(randomBytes(3 * MiB));
              else this.destroy(new Error('source broke'));
            },
          });
        },
      ],
    ];

    it.each(failingSources)('leaves no blob and no temp data behind when %s', async (_label, make) => {
      await expect(store.put(make())).rejects.toThrow('source broke');
      expect(await listAll(store)).toEqual([]);
      expect((await harness.tempLeftovers?.()) ?? []).toEqual([]);
    });

    it('lets concurrent puts of the same bytes both succeed', async () => {
      const bytes = randomBytes(2 * MiB + 17);
      const results = await Promise.all([store.put(source(bytes)), store.put(source(bytes))]);
      for (const result of results)
        expect(result).toMatchObject({ digest: sha256(bytes), sizeBytes: bytes.length });
      expect(results.some((result) => result.created)).toBe(true);
      expect(await listAll(store)).toEqual([sha256(bytes)]);
      expect((await readAll(await store.get(sha256(bytes)))).equals(bytes)).toBe(true);
      expect((await harness.tempLeftovers?.()) ?? []).toEqual([]);
    });
  });
}
