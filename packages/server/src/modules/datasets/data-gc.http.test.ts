import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { GcResultJson, readFrames } from '@cairn/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../adapters/blob/fs-blob-store.js';
import { AccessControl } from '../governance/index.js';
import { createGovernedApp, type GovernedApp } from '../../testing/governed-app.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { DataGcService } from './data-gc.service.js';
import type { DatasetsContext } from './datasets-context.js';
import type { PackRecord } from './entities.js';
import { PACK_MAGIC, PackWriter } from './pack-writer.js';

const HOUR = 60 * 60 * 1000;
const NOTHING = {
  objectsDeleted: 0,
  chunksDeleted: 0,
  packsDeleted: 0,
  packsRewritten: 0,
  bytesFreed: 0,
  uploadsExpired: 0,
};

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
const picked = (i: number, fraction: number, salt = 0): boolean =>
  (((i + salt * 7777) * 2654435761) >>> 0) % 10_000 < fraction * 10_000;

/** Incompressible, reproducible bytes (stored raw: lz4 cannot shrink them). */
function noise(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0, i = 0; at < size; i++) {
    at += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, at);
  }
  return out;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(full) : statSync(full).size;
  }
  return total;
}

describeEachDatabase('dataset garbage collection POST /api/v1/datasets/gc', ({ database }) => {
  let g: GovernedApp;
  // Real time (so a grace of 0 reaches what was stored a moment ago), moved forward at will.
  let ahead = 0;
  const clock = { now: () => Date.now() + ahead };

  beforeAll(async () => {
    g = await createGovernedApp(database(), { clock });
    await g.addUser('watcher', { default: ['viewer'] });
  });
  afterAll(async () => {
    await g.t.close();
  });

  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    g.api('admin', method, url, payload);
  const gc = async (graceSeconds?: number): Promise<GcResultJson> => {
    const answer = await api('POST', '/datasets/gc', graceSeconds === undefined ? {} : { graceSeconds });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(Value.Check(GcResultJson, answer.body)).toBe(true);
    return answer.body;
  };
  const blobBytes = () => folderBytes(path.join(g.t.dataDir, 'blobs', 'sha256'));

  async function begin(name: string): Promise<string> {
    const begun = await api('POST', `/datasets/${name}/uploads`, {});
    expect(begun.status, JSON.stringify(begun.body)).toBe(200);
    return begun.body.uploadId;
  }

  async function put(name: string, uploadId: string, file: string, bytes: Buffer) {
    const response = await g.t.app.inject({
      method: 'PUT',
      url: `/api/v1/datasets/${name}/uploads/${uploadId}/files?path=${encodeURIComponent(file)}&mode=644`,
      payload: bytes,
      headers: { ...g.headers('admin'), 'content-type': 'application/octet-stream' },
    });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  }

  async function add(name: string, files: Record<string, Buffer>): Promise<any> {
    const uploadId = await begin(name);
    for (const [file, bytes] of Object.entries(files)) {
      const stored = await put(name, uploadId, file, bytes);
      expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    }
    const committed = await api('POST', `/datasets/${name}/uploads/${uploadId}/commit`, { message: 'm' });
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    return committed.body.version;
  }

  async function content(name: string, version: number, file: string) {
    const response = await g.t.app.inject({
      method: 'GET',
      url: `/api/v1/datasets/${name}/versions/${version}/content?path=${encodeURIComponent(file)}`,
      headers: g.headers('admin'),
    });
    return { status: response.statusCode, bytes: response.rawPayload };
  }

  /** Digests of the chunks an export hands out, each verified against its plain bytes. */
  async function exported(name: string, digests: string[]): Promise<string[]> {
    const response = await g.t.app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${name}/chunks/export`,
      payload: { digests },
      headers: g.headers('admin'),
    });
    expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
    const seen: string[] = [];
    for await (const frame of readFrames([response.rawPayload])) {
      expect(frame.header.kind, JSON.stringify(frame.header)).toBe('chunk');
      seen.push(String(frame.header['digest']));
    }
    return seen;
  }

  async function expectIntact(name: string, versions: Map<number, Record<string, Buffer>>): Promise<void> {
    for (const [version, files] of versions) {
      for (const [file, bytes] of Object.entries(files)) {
        const read = await content(name, version, file);
        expect(read.status, `${name}@${version} ${file}: ${read.bytes.toString().slice(0, 300)}`).toBe(200);
        expect(read.bytes.equals(bytes), `${name}@${version} ${file}`).toBe(true);
      }
    }
  }

  it('removes what no version needs, rewrites half-empty packs, and keeps every version byte-identical', async () => {
    expect((await api('POST', '/datasets', { name: 'gc-sales' })).status).toBe(200);
    const readme = Buffer.from('daily sales\n');
    const base = csv(40_000);
    const edited = csv(40_000, (i, row) => (picked(i, 0.01) ? row.replace(',red', ',teal') + 'x' : row));
    const versions = new Map<number, Record<string, Buffer>>();
    versions.set((await add('gc-sales', { 'sales.csv': base, 'README.md': readme })).version, {
      'sales.csv': base,
      'README.md': readme,
    });
    const v2 = await add('gc-sales', { 'sales.csv': edited, 'README.md': readme });
    // Stored as deltas against version 1's file, which must therefore stay.
    expect(v2.bytesNew / edited.length).toBeLessThan(0.05);
    const deltas = await database()
      .db.selectFrom('data_chunks')
      .select('digest')
      .where('encoding', '=', 'delta')
      .execute();
    expect(deltas.length).toBeGreaterThan(0);
    versions.set(v2.version, { 'sales.csv': edited, 'README.md': readme });

    // An add left behind: one big file, of which a later version keeps only the start, so its
    // pack ends up mostly garbage; and a CSV edit stored as deltas, never committed.
    const big = noise('big', 2_000_000);
    const abandoned = await begin('gc-sales');
    expect((await put('gc-sales', abandoned, 'big.bin', big)).status).toBe(200);
    const again = csv(40_000, (i, row) => (picked(i, 0.01, 3) ? row.replace(',blue', ',navy') : row));
    expect((await put('gc-sales', abandoned, 'sales.csv', again)).status).toBe(200);
    const prefix = big.subarray(0, 500_000);
    const v3 = await add('gc-sales', { 'sales.csv': edited, 'README.md': readme, 'prefix.bin': prefix });
    versions.set(v3.version, { 'sales.csv': edited, 'README.md': readme, 'prefix.bin': prefix });
    // An add aborted at once: nothing pins its chunks any more.
    const aborted = await begin('gc-sales');
    expect((await put('gc-sales', aborted, 'gone.bin', noise('gone', 300_000))).status).toBe(200);
    expect((await api('DELETE', `/datasets/gc-sales/uploads/${aborted}`)).status).toBe(200);

    // Exported once now, so the server remembers where these chunks sit before their pack is rewritten.
    const prefixChunks = (
      await api('GET', `/datasets/gc-sales/versions/${v3.version}/files?chunks=true`)
    ).body.files
      .find((f: any) => f.path === 'prefix.bin')
      .chunks.map((c: any) => c.digest);
    expect(await exported('gc-sales', prefixChunks)).toEqual(prefixChunks);

    // Within the default grace of an hour nothing is touched, not even the aborted add's chunks.
    expect(await gc()).toEqual(NOTHING);

    ahead += 25 * HOUR;
    const before = blobBytes();
    const result = await gc(0);
    expect(result.uploadsExpired).toBe(1);
    expect(result.objectsDeleted).toBe(3);
    expect(result.chunksDeleted).toBeGreaterThan(10);
    expect(result.packsDeleted).toBeGreaterThanOrEqual(2);
    expect(result.packsRewritten).toBe(1);
    expect(result.bytesFreed).toBeGreaterThan(1_500_000);
    expect(before - blobBytes()).toBe(result.bytesFreed);

    await expectIntact('gc-sales', versions);
    expect(await exported('gc-sales', prefixChunks)).toEqual(prefixChunks);
    const expired = await put('gc-sales', abandoned, 'late.txt', Buffer.from('late'));
    expect(expired.status).toBe(404);
    expect(await gc(0)).toEqual(NOTHING);

    // A new version still delta-encodes against what stayed, and reads back.
    const third = csv(40_000, (i, row) => (picked(i, 0.01, 5) ? row.replace(',green', ',lime') : row));
    const v4 = await add('gc-sales', { 'sales.csv': third });
    expect(v4.bytesNew / third.length).toBeLessThan(0.05);
    versions.set(v4.version, { 'sales.csv': third });
    await expectIntact('gc-sales', versions);

    const audit = await api('GET', '/audit/events?action=datasets.gc');
    expect(audit.status).toBe(200);
    const counted = audit.body.events.find((e: any) => e.details?.chunksDeleted === result.chunksDeleted);
    expect(counted).toMatchObject({ action: 'datasets.gc', details: { packsRewritten: 1, graceSeconds: 0 } });
  });

  it('is for Cairn admins only, and checks its grace', async () => {
    const denied = await g.api('watcher', 'POST', '/datasets/gc', {});
    expect(denied.status).toBe(403);
    expect((await api('POST', '/datasets/gc', { graceSeconds: -1 })).status).toBe(400);
    expect((await api('POST', '/datasets/gc', { graceSeconds: 'soon' })).status).toBe(400);
  });

  it('never loses a committed version while adds and reads race collections', async () => {
    expect((await api('POST', '/datasets', { name: 'gc-busy' })).status).toBe(200);
    const base = csv(20_000);
    const versions = new Map<number, Record<string, Buffer>>();
    versions.set((await add('gc-busy', { 'base.csv': base })).version, { 'base.csv': base });
    // Garbage whose content the adds below store again, so they dedupe against chunks being collected.
    for (let k = 0; k < 4; k++) {
      const dropped = await begin('gc-busy');
      expect((await put('gc-busy', dropped, `noise-${k}.bin`, noise(`shared-${k}`, 400_000))).status).toBe(
        200,
      );
      expect((await api('DELETE', `/datasets/gc-busy/uploads/${dropped}`)).status).toBe(200);
    }

    const failures: string[] = [];
    let adding = true;
    const collections = (async () => {
      let rounds = 0;
      while (adding || rounds < 2) {
        await gc(0);
        rounds++;
      }
      return rounds;
    })();
    const worker = async (w: number) => {
      for (let i = 0; i < 4; i++) {
        const files: Record<string, Buffer> = {
          [`w${w}/noise.bin`]: noise(`shared-${(w + i) % 4}`, 400_000),
          [`w${w}/own-${i}.bin`]: noise(`own-${w}-${i}`, 150_000),
          'base.csv': csv(20_000, (r, row) => (picked(r, 0.01, w * 10 + i) ? row + 'z' : row)),
        };
        const uploadId = await begin('gc-busy');
        let failed: { status: number; body: any } | undefined;
        for (const [file, bytes] of Object.entries(files)) {
          const stored = await put('gc-busy', uploadId, file, bytes);
          if (stored.status !== 200) {
            failed = stored;
            break;
          }
        }
        if (failed === undefined) {
          const committed = await api('POST', `/datasets/gc-busy/uploads/${uploadId}/commit`, {
            message: 'w',
          });
          if (committed.status === 200) versions.set(committed.body.version.version, files);
          else failed = committed;
        }
        if (failed !== undefined) {
          failures.push(failed.body?.error?.code);
          expect([404, 412], JSON.stringify(failed.body)).toContain(failed.status);
          await api('DELETE', `/datasets/gc-busy/uploads/${uploadId}`);
        }
        // Reads while packs move under them.
        const read = await content('gc-busy', 1, 'base.csv');
        expect(read.status).toBe(200);
        expect(read.bytes.equals(base)).toBe(true);
      }
    };
    try {
      await Promise.all([0, 1, 2].map(worker));
    } finally {
      adding = false;
    }
    expect(await collections).toBeGreaterThanOrEqual(2);
    expect(versions.size).toBeGreaterThan(1);
    for (const code of failures) expect(['NOT_FOUND', 'FAILED_PRECONDITION']).toContain(code);
    await gc(0);
    await expectIntact('gc-busy', versions);
  }, 180_000);
});

describe('DataGcService', () => {
  it('runs one collection at a time, and only for a Cairn admin', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<never[]>((resolve) => {
      release = () => resolve([]);
    });
    const ctx = {
      access: new AccessControl({ authEnabled: false }),
      clock: { now: () => 0 },
      store: {
        listStaleUploads: () => held,
        findUnreachable: async () => ({ objects: [], chunks: [] }),
        packUsage: async () => [],
      },
      transactor: {
        run: async (work: (stores: unknown) => Promise<unknown>) => work({ audit: { record() {} } }),
      },
    } as unknown as DatasetsContext;
    const service = new DataGcService(ctx);
    const first = service.collect({ graceSeconds: 0 });
    await expect(service.collect()).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: 'a garbage collection is already running',
    });
    release();
    await expect(first).resolves.toEqual(NOTHING);
    await expect(service.collect()).resolves.toEqual(NOTHING);

    const governed = new DataGcService({ ...ctx, access: new AccessControl({ authEnabled: true }) });
    await expect(governed.collect()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('PackWriter', () => {
  it('stores a pack again when a collection removed an identical one between its put and its rows', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'cairn-packs-'));
    try {
      const blobs = await FsBlobStore.open({ root });
      const plain = noise('raw', 1000);
      const digest = `sha256:${createHash('sha256').update(plain).digest('hex')}` as const;
      let recorded: PackRecord | undefined;
      const writer = new PackWriter({
        blobs,
        now: () => 0,
        onStored: async (pack) => {
          await blobs.delete(pack.digest);
          recorded = pack;
        },
      });
      await writer.add({
        digest,
        sizeBytes: plain.length,
        encoding: 'raw',
        baseObject: null,
        depth: 0,
        payload: plain,
      });
      await writer.flush();
      // A pack never has the digest of a file stored raw in it (an artifact may own that blob).
      expect(recorded!.digest).not.toBe(digest);
      const bytes = await blobs.getRange(recorded!.digest, {
        offset: PACK_MAGIC.length,
        length: plain.length,
      });
      expect(bytes.equals(plain)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
