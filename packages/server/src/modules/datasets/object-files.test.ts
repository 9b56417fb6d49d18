import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from '../artifacts/index.js';
import type { ChunkReader } from './chunk-reader.js';
import { ObjectFiles } from './object-files.js';

const sha = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Objects as lists of chunks, read the way ChunkReader hands them out; counts reads. */
function fakeReader(objects: Map<Digest, Buffer[]>) {
  const chunks = new Map<Digest, Buffer>();
  for (const parts of objects.values()) for (const part of parts) chunks.set(sha(part), part);
  const counter = { reads: 0 };
  const reader = {
    prefetchRows: async () => undefined,
    objectChunks: async (digest: Digest) => {
      let offset = 0;
      return (objects.get(digest) ?? []).map((part) => {
        const chunk = { digest: sha(part), offset, sizeBytes: part.length };
        offset += part.length;
        return chunk;
      });
    },
    read: async (digest: Digest) => {
      counter.reads++;
      await new Promise((resolve) => setTimeout(resolve, 1));
      return chunks.get(digest)!;
    },
  };
  return { reader: reader as unknown as ChunkReader, counter };
}

function object(text: string, parts = 3): { digest: Digest; parts: Buffer[] } {
  const bytes = Buffer.from(text);
  const size = Math.ceil(bytes.length / parts);
  const split = Array.from({ length: parts }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  return { digest: sha(bytes), parts: split };
}

describe('ObjectFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-object-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a verified copy once, however many ask at the same time', async () => {
    const a = object('id,x\n1,2\n3,4\n');
    const { reader, counter } = fakeReader(new Map([[a.digest, a.parts]]));
    const files = new ObjectFiles({ reader, cacheDir: dir });
    const seen = await Promise.all(
      Array.from({ length: 5 }, () =>
        files.use({ digest: a.digest, format: 'csv' }, async (file) => ({
          file,
          text: readFileSync(file, 'utf8'),
        })),
      ),
    );
    expect(new Set(seen.map((s) => s.file)).size).toBe(1);
    expect(seen[0]!.file.endsWith(`${a.digest.slice(7)}.csv`)).toBe(true);
    expect(seen[0]!.text).toBe('id,x\n1,2\n3,4\n');
    expect(counter.reads).toBe(3);
    expect(readdirSync(path.join(dir, 'objects'))).toHaveLength(1);
  });

  it('refuses chunks that do not add up to the object, leaving nothing behind', async () => {
    const a = object('one,two\n');
    const wrong = `sha256:${'0'.repeat(64)}` as Digest;
    const { reader } = fakeReader(new Map([[wrong, a.parts]]));
    const files = new ObjectFiles({ reader, cacheDir: dir });
    await expect(files.use({ digest: wrong, format: 'csv' }, async () => 'read')).rejects.toMatchObject({
      code: 'DATA_LOSS',
    });
    expect(readdirSync(path.join(dir, 'objects'))).toEqual([]);
  });

  it('deletes least recently used copies past its budget, never one in use', async () => {
    const objects = ['a', 'b', 'c'].map((name) => object(`${name},${name}\n`.repeat(10)));
    const { reader } = fakeReader(new Map(objects.map((o) => [o.digest, o.parts])));
    const files = new ObjectFiles({ reader, cacheDir: dir, maxBytes: 45 });
    const [a, b, c] = objects.map((o) => ({ digest: o.digest, format: 'csv' as const }));
    const present = () => readdirSync(path.join(dir, 'objects')).map((name) => name.slice(0, 6));
    await files.use(a!, async () => undefined);
    await files.use(b!, async () => undefined);
    // 40 bytes each: over budget, only the one just used stays.
    expect(present()).toEqual([b!.digest.slice(7, 13)]);
    await files.use(b!, async (held) => {
      // b is held, so the copy of c, though newer, is the one that goes.
      await files.use(c!, async () => undefined);
      expect(existsSync(held)).toBe(true);
    });
    expect(present()).toEqual([b!.digest.slice(7, 13)]);
  });

  it('keeps finished copies across restarts and drops half-written ones', async () => {
    const a = object('k,v\n1,1\n');
    const { reader, counter } = fakeReader(new Map([[a.digest, a.parts]]));
    await new ObjectFiles({ reader, cacheDir: dir }).use(
      { digest: a.digest, format: 'jsonl' },
      async () => undefined,
    );
    writeFileSync(path.join(dir, 'objects', `${a.digest.slice(7)}.csv.tmp-abc`), 'half');
    const reads = counter.reads;
    const again = new ObjectFiles({ reader, cacheDir: dir });
    await again.use({ digest: a.digest, format: 'jsonl' }, async (file) => {
      expect(readFileSync(file, 'utf8')).toBe('k,v\n1,1\n');
    });
    expect(counter.reads).toBe(reads);
    expect(readdirSync(path.join(dir, 'objects'))).toEqual([`${a.digest.slice(7)}.jsonl`]);
  });

  it('stops a copy in progress when closed, leaving no temp file, and refuses new ones', async () => {
    const a = object('x\n'.repeat(5_000), 200);
    const { reader, counter } = fakeReader(new Map([[a.digest, a.parts]]));
    const files = new ObjectFiles({ reader, cacheDir: dir });
    const copying = files.use({ digest: a.digest, format: 'csv' }, async () => 'used');
    while (counter.reads < 5) await new Promise((resolve) => setTimeout(resolve, 1));
    files.close();
    await expect(copying).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(counter.reads).toBeLessThan(200);
    expect(readdirSync(path.join(dir, 'objects'))).toEqual([]);
    await expect(files.use({ digest: a.digest, format: 'csv' }, async () => 'used')).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});
