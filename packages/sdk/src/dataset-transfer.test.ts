import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DatasetVersionJson, FileChunksJson } from '@cairn/contract';
import { encodeFrame, readFrames, type ChunkFrameHeader } from './chunk-frames.js';
import { pushDataset } from './dataset-transfer.js';
import { Cairn, CairnError } from './index.js';
import type { Transport, TransportRequest } from './transport.js';

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

const version = (n: number, parent: number | null, digest: string): DatasetVersionJson => ({
  dataset: 'ds',
  version: n,
  parent,
  message: `v${n}`,
  author: 'ann',
  createdAt: 1_000 + n,
  digest,
  files: 1,
  bytesTotal: 0,
  bytesNew: 0,
  aliases: [],
});

const file = (p: string, pieces: string[]): FileChunksJson => {
  let offset = 0;
  return {
    path: p,
    digest: sha(pieces.join('')),
    size: pieces.join('').length,
    mode: 0o644,
    chunks: pieces.map((piece) => {
      const c = { digest: sha(piece), offset, size: piece.length };
      offset += piece.length;
      return c;
    }),
  };
};

const route = (r: TransportRequest): string => `${r.method} ${r.path.replace('/api/v1/datasets', '')}`;

/** Two versions; v2's second chunk is stored as a delta against v1's file, one as a delta against a stranger. */
class Source implements Transport {
  readonly url = 'http://source';
  readonly v1 = file('a.txt', ['aaaa', 'bbbb']);
  readonly v2 = file('a.txt', ['aaaa', 'bbbX', 'cccc']);
  readonly versions = [version(2, 1, sha('m2')), version(1, null, sha('m1'))];
  reads: string[][] = [];

  async send(r: TransportRequest): Promise<Response> {
    const at = route(r);
    if (at === 'GET /ds') return Response.json({ dataset: { name: 'ds', description: 'the data' } });
    if (at === 'GET /ds/versions') return Response.json({ versions: this.versions });
    if (at === 'GET /ds/versions/1/files') return Response.json({ files: [this.v1] });
    if (at === 'GET /ds/versions/2/files') return Response.json({ files: [this.v2] });
    if (at === 'POST /ds/chunks/export') {
      const { digests } = r.json as { digests: string[] };
      const frames = digests.map((digest) => {
        const plain = [...this.v1.chunks, ...this.v2.chunks].find((c) => c.digest === digest);
        const header: ChunkFrameHeader = {
          kind: 'chunk',
          digest,
          length: 0,
          size: plain?.size ?? 0,
          encoding: 'lz4',
        };
        if (digest === sha('bbbX'))
          Object.assign(header, { encoding: 'delta', baseObject: this.v1.digest, depth: 1 });
        if (digest === sha('cccc'))
          Object.assign(header, { encoding: 'delta', baseObject: sha('stranger'), depth: 1 });
        return encodeFrame(header, Buffer.from(`enc:${digest.slice(7, 11)}`));
      });
      return new Response(Buffer.concat(frames));
    }
    if (at === 'POST /ds/chunks/read') {
      const { digests } = r.json as { digests: string[] };
      this.reads.push(digests);
      const plain = new Map([['cccc', 'cccc']].map(([k, v]) => [sha(k as string), v as string]));
      return new Response(
        Buffer.concat(
          digests.map((d) =>
            encodeFrame({ kind: 'chunk', digest: d, length: 0, size: 4 }, Buffer.from(plain.get(d) ?? '')),
          ),
        ),
      );
    }
    throw new Error(`source: unexpected ${at}`);
  }
}

class Target implements Transport {
  readonly url = 'http://target';
  exists = false;
  created: unknown;
  heldChunks = new Set<string>();
  heldObjects = new Set<string>();
  imported: ChunkFrameHeader[][] = [];
  versions: Array<Record<string, unknown>> = [];

  async send(r: TransportRequest): Promise<Response> {
    const at = route(r);
    if (at === 'GET /ds') {
      if (!this.exists) throw new CairnError('NOT_FOUND', 'no ds');
      return Response.json({ dataset: { name: 'ds' } });
    }
    if (at === 'POST ') {
      this.created = r.json;
      this.exists = true;
      return Response.json({ dataset: { name: 'ds' } });
    }
    if (at === 'GET /ds/versions') return Response.json({ versions: [] });
    if (at === 'POST /ds/chunks/missing') {
      const { digests } = r.json as { digests: string[] };
      return Response.json({ missing: digests.filter((d) => !this.heldChunks.has(d)) });
    }
    if (at === 'POST /datasets/objects/missing' || at === 'POST /objects/missing') {
      const { digests } = r.json as { digests: string[] };
      return Response.json({ missing: digests.filter((d) => !this.heldObjects.has(d)) });
    }
    if (at === 'POST /ds/chunks/import') {
      const body = r.body?.() as Buffer;
      const headers: ChunkFrameHeader[] = [];
      for await (const { header } of readFrames([body] as unknown as AsyncIterable<Uint8Array>)) {
        headers.push(header as ChunkFrameHeader);
        this.heldChunks.add(header.digest);
      }
      this.imported.push(headers);
      return Response.json({ imported: headers.length, skipped: 0 });
    }
    if (at === 'POST /ds/versions/import') {
      const input = r.json as { files: FileChunksJson[] };
      this.versions.push(input as unknown as Record<string, unknown>);
      for (const f of input.files) this.heldObjects.add(f.digest);
      const n = this.versions.length;
      return Response.json({ version: version(n, n > 1 ? n - 1 : null, sha(`m${n}`)) });
    }
    throw new Error(`target: unexpected ${at}`);
  }
}

describe('pushDataset', () => {
  it('sends versions oldest first, only missing chunks, and plain bytes for deltas without a base there', async () => {
    const source = new Source();
    const target = new Target();
    target.heldChunks.add(sha('aaaa'));
    const result = await pushDataset({
      from: new Cairn({ transport: source }),
      to: new Cairn({ transport: target }),
      name: 'ds',
      project: 'team',
    });
    expect(target.created).toEqual({ name: 'ds', description: 'the data', project: 'team' });
    expect(result).toMatchObject({
      dataset: 'ds',
      upToDate: 0,
      versions: [
        { from: 1, to: 1 },
        { from: 2, to: 2 },
      ],
    });
    // v1: only bbbb (aaaa was there). v2: bbbX as a delta (its base, v1's file, arrived with v1),
    // cccc as raw plain bytes (its base is unknown to the target).
    expect(target.imported.map((batch) => batch.map((h) => [h.digest, h.encoding]))).toEqual([
      [[sha('bbbb'), 'lz4']],
      [
        [sha('bbbX'), 'delta'],
        [sha('cccc'), 'raw'],
      ],
    ]);
    expect(source.reads).toEqual([[sha('cccc')]]);
    expect(result.chunksSent).toBe(3);
    expect(
      target.versions.map((v) => [v['message'], v['author'], v['createdAt'], v['parentDigest']]),
    ).toEqual([
      ['v1', 'ann', 1001, null],
      ['v2', 'ann', 1002, sha('m1')],
    ]);
  });

  it('copies only a version and its ancestors when given one', async () => {
    const source = new Source();
    source.versions.unshift(version(3, 1, sha('m3')));
    const target = new Target();
    const getVersion = source.send.bind(source);
    source.send = async (r) =>
      route(r) === 'GET /ds/versions/3'
        ? Response.json({ version: source.versions[0], tables: [] })
        : route(r) === 'GET /ds/versions/3/files'
          ? Response.json({ files: [source.v1] })
          : getVersion(r);
    const result = await pushDataset({
      from: new Cairn({ transport: source }),
      to: new Cairn({ transport: target }),
      name: 'ds',
      ref: 3,
    });
    expect(result.versions.map((v) => v.from)).toEqual([1, 3]);
  });
});
