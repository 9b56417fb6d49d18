import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { FileChunksJson } from '@cairn/contract';
import { encodeFrame } from './chunk-frames.js';
import { checkoutTarget, planBatches } from './dataset-checkout.js';
import { Cairn, isCairnError, type CairnError } from './index.js';
import type { Transport, TransportRequest } from './transport.js';

const sha = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A version served from memory: files cut into 4-byte chunks, chunk reads answered as frames. */
class FakeServer implements Transport {
  readonly url = 'http://fake';
  readonly chunks = new Map<string, Buffer>();
  files: FileChunksJson[] = [];
  reads: string[][] = [];
  corrupt = new Set<string>();
  errors = new Set<string>();

  setFiles(files: Record<string, { content: string | Buffer; mode?: number }>): void {
    this.files = Object.entries(files)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([p, f]) => {
        const bytes = Buffer.from(f.content);
        const chunks = [];
        for (let offset = 0; offset < bytes.length; offset += 4) {
          const piece = bytes.subarray(offset, offset + 4);
          this.chunks.set(sha(piece), piece);
          chunks.push({ digest: sha(piece), offset, size: piece.length });
        }
        return { path: p, digest: sha(bytes), size: bytes.length, mode: f.mode ?? 0o644, chunks };
      });
  }

  async send(request: TransportRequest): Promise<Response> {
    const p = request.path.replace('/api/v1/datasets/ds', '');
    if (request.method === 'GET' && p === '/versions/latest') {
      return Response.json({
        version: { dataset: 'ds', version: 1, files: this.files.length, aliases: [] },
        tables: [],
      });
    }
    if (request.method === 'GET' && p === '/versions/1/files') {
      expect(request.query?.['chunks']).toBe('true');
      // Two files a page, to exercise paging.
      const start = Number(request.query?.['page_token'] ?? 0);
      const page = this.files.slice(start, start + 2);
      const next = start + 2 < this.files.length ? { next_page_token: String(start + 2) } : {};
      return Response.json({ files: page, ...next });
    }
    if (request.method === 'POST' && p === '/chunks/read') {
      const { digests } = request.json as { digests: string[] };
      this.reads.push(digests);
      const frames = digests.map((digest) => {
        if (this.errors.has(digest)) {
          return encodeFrame({
            kind: 'error',
            digest,
            length: 0,
            code: 'DATA_LOSS',
            message: 'pack damaged',
          });
        }
        const bytes = this.chunks.get(digest) ?? Buffer.alloc(0);
        const sent = this.corrupt.has(digest) ? Buffer.from(bytes).fill(0x78) : bytes;
        return encodeFrame({ kind: 'chunk', digest, length: 0, size: bytes.length }, sent);
      });
      return new Response(Buffer.concat(frames));
    }
    throw new Error(`unexpected ${request.method} ${request.path}`);
  }
}

async function rejection(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('checkout', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'cairn-checkout-'));
  const cacheDir = path.join(work, 'cache');
  let server: FakeServer;
  let cairn: Cairn;
  let dir: string;
  let n = 0;
  const checkout = (options: { verifyAll?: boolean } = {}) =>
    cairn.checkoutDataset('ds', dir, { cacheDir, ...options });
  const tree = (): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

  afterAll(() => rmSync(work, { recursive: true, force: true }));
  beforeEach(() => {
    server = new FakeServer();
    cairn = new Cairn({ transport: server });
    dir = path.join(work, `out-${n++}`);
    server.setFiles({
      'data/train.csv': { content: 'id,x\n1,2\n3,4\n' },
      'data/empty.txt': { content: '' },
      'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'README.md': { content: '# hello' },
    });
  });

  it('writes every file, verified, with its mode; then writes nothing the second time', async () => {
    const first = await checkout();
    expect(first.written.sort()).toEqual(['README.md', 'data/empty.txt', 'data/train.csv', 'run.sh']);
    expect(first).toMatchObject({ dataset: 'ds', version: 1, skipped: 0, bytesWritten: 38, extra: [] });
    expect(readFileSync(path.join(dir, 'data/train.csv'), 'utf8')).toBe('id,x\n1,2\n3,4\n');
    expect(readFileSync(path.join(dir, 'data/empty.txt'), 'utf8')).toBe('');
    expect(statSync(path.join(dir, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dir, 'README.md')).mode & 0o777).toBe(0o644);
    const reads = server.reads.length;

    const second = await checkout();
    expect(second).toMatchObject({ written: [], skipped: 4, bytesWritten: 0 });
    expect(server.reads.length).toBe(reads);
  });

  it('rewrites a file changed locally, and reports files the version lacks', async () => {
    await checkout();
    writeFileSync(path.join(dir, 'data/train.csv'), 'id,x\n1,2\n3,5\n');
    writeFileSync(path.join(dir, 'README.md'), 'shorter');
    writeFileSync(path.join(dir, 'data/mine.csv'), 'keep me');
    const again = await checkout();
    expect(again.written.sort()).toEqual(['README.md', 'data/train.csv']);
    expect(again.extra).toEqual(['data/mine.csv']);
    expect(readFileSync(path.join(dir, 'data/train.csv'), 'utf8')).toBe('id,x\n1,2\n3,4\n');
    expect(readFileSync(path.join(dir, 'data/mine.csv'), 'utf8')).toBe('keep me');
  });

  it('trusts the stat cache for old files (git-index style), and --verify hashes anyway', async () => {
    await checkout();
    const file = path.join(dir, 'data/train.csv');
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(file, old, old);
    // Hashed once (the mtime changed), then recorded as clean, well past the racy window.
    expect((await checkout()).written).toEqual([]);
    // Same size, same mtime, same inode: a change the stat cache cannot see.
    writeFileSync(file, 'id,x\n1,2\n3,9\n');
    utimesSync(file, old, old);
    expect((await checkout()).written).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe('id,x\n1,2\n3,9\n');
    expect((await checkout({ verifyAll: true })).written).toEqual(['data/train.csv']);
    expect(readFileSync(file, 'utf8')).toBe('id,x\n1,2\n3,4\n');
  });

  it('fixes the mode of a file whose content is right', async () => {
    await checkout();
    const { chmodSync } = await import('node:fs');
    chmodSync(path.join(dir, 'run.sh'), 0o644);
    expect((await checkout()).written).toEqual([]);
    expect(statSync(path.join(dir, 'run.sh')).mode & 0o777).toBe(0o755);
  });

  it('refuses a chunk whose bytes do not match its digest, leaving no partial file', async () => {
    const train = server.files.find((f) => f.path === 'data/train.csv');
    const bad = train?.chunks[1]?.digest ?? '';
    server.corrupt.add(bad);
    const error = await rejection(checkout());
    expect(error.code).toBe('DATA_LOSS');
    expect(error.message).toContain(`chunk ${bad} of data/train.csv (offset 4) is corrupt`);
    expect(existsSync(path.join(dir, 'data/train.csv'))).toBe(false);
    expect(tree().filter((p) => p.includes('cairn-tmp'))).toEqual([]);
  });

  it('names the chunk and file of an error frame', async () => {
    await checkout();
    writeFileSync(path.join(dir, 'data/train.csv'), 'changed!');
    const bad = server.files.find((f) => f.path === 'data/train.csv')?.chunks[2]?.digest ?? '';
    server.errors.add(bad);
    const error = await rejection(checkout());
    expect(error.code).toBe('DATA_LOSS');
    expect(error.message).toBe(`chunk ${bad} of data/train.csv (offset 8) is corrupt: pack damaged`);
    // The local file is as it was: nothing half-written replaced it.
    expect(readFileSync(path.join(dir, 'data/train.csv'), 'utf8')).toBe('changed!');
    expect(tree().filter((p) => p.includes('cairn-tmp'))).toEqual([]);
  });

  it('refuses version paths that would leave the folder before writing anything', async () => {
    for (const bad of ['../evil.txt', '/etc/evil', 'a//b', 'a/./b', 'a/../../b', '']) {
      server.setFiles({ 'ok.txt': { content: 'ok' } });
      server.files.push({ ...(server.files[0] as FileChunksJson), path: bad });
      const error = await rejection(checkout());
      expect(error.code).toBe('DATA_LOSS');
      expect(error.message).toMatch(/refusing the version path/);
      expect(existsSync(path.join(dir, 'ok.txt'))).toBe(false);
    }
  });

  it('refuses to write through a link leading out of the folder', async () => {
    const elsewhere = path.join(work, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    mkdirSync(dir, { recursive: true });
    const { symlinkSync } = await import('node:fs');
    symlinkSync(elsewhere, path.join(dir, 'data'));
    const error = await rejection(checkout());
    expect(error.code).toBe('FAILED_PRECONDITION');
    expect(error.message).toMatch(/leads outside/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('planBatches', () => {
  const file = (p: string, chunks: Array<[string, number]>): FileChunksJson => {
    let offset = 0;
    return {
      path: p,
      digest: sha(p),
      mode: 0o644,
      size: chunks.reduce((s, [, size]) => s + size, 0),
      chunks: chunks.map(([digest, size]) => {
        const c = { digest, offset, size };
        offset += size;
        return c;
      }),
    };
  };

  it('cuts requests at 256 distinct digests or about 16 MiB, repeating no digest within one', () => {
    const many = file(
      'many',
      Array.from({ length: 600 }, (_, i): [string, number] => [`d${i % 300}`, 10]),
    );
    const batches = planBatches([many]);
    expect(batches.map((b) => b.digests.length)).toEqual([256, 256, 88]);
    for (const b of batches) expect(new Set(b.digests).size).toBe(b.digests.length);
    expect(batches.flatMap((b) => b.pieces).length).toBe(600);

    const big = file(
      'big',
      Array.from({ length: 10 }, (_, i): [string, number] => [`b${i}`, 4 * 1024 * 1024]),
    );
    expect(planBatches([big]).map((b) => b.digests.length)).toEqual([4, 4, 2]);
  });

  it('maps version paths below the folder only', () => {
    expect(checkoutTarget('/out', 'a/b.csv')).toBe(path.join('/out', 'a', 'b.csv'));
    expect(() => checkoutTarget('/out', '../b')).toThrow(/refusing/);
  });
});
