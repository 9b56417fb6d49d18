import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../../modules/artifacts/index.js';
import type { DatasetStore } from '../../../modules/datasets/datasets.store.js';
import type {
  ChunkRecord,
  DatasetRecord,
  DatasetVersionRecord,
  ObjectChunk,
  VersionFile,
} from '../../../modules/datasets/entities.js';
import { describeEachDatabase } from '../../../testing/index.js';
import { createSqlStores, createSqlTransactor } from '../sql-stores.js';

const NOW = 1_700_000_000_000;

const digestOf = (label: string): Digest => `sha256:${createHash('sha256').update(label).digest('hex')}`;

describeEachDatabase('SqlDatasetStore', ({ dialect, database }) => {
  let counter = 0;
  const unique = (base: string): string => `${base}-${counter++}`;

  /** A store bound to the database, and a project of its own (datasets reference projects). */
  async function setUp(): Promise<{ store: DatasetStore; projectId: string }> {
    const stores = createSqlStores(database().db, database().helpers);
    const projectId = unique('project');
    await stores.tracking.ensureProject(projectId, projectId, NOW);
    return { store: stores.datasets, projectId };
  }

  async function createDataset(
    store: DatasetStore,
    input: { projectId: string; name?: string },
  ): Promise<DatasetRecord> {
    const dataset: DatasetRecord = {
      datasetId: unique('ds'),
      projectId: input.projectId,
      name: input.name ?? unique('data'),
      description: 'about it',
      lastVersion: 0,
      createdAt: NOW,
      createdBy: 'alice',
      updatedAt: NOW,
    };
    await store.insertDataset(dataset);
    return dataset;
  }

  function chunkRecord(label: string, fields: Partial<ChunkRecord> & { packDigest: Digest }): ChunkRecord {
    return {
      digest: digestOf(label),
      sizeBytes: 65_536,
      packOffset: 0,
      storedBytes: 40_000,
      encoding: 'lz4',
      baseObject: null,
      depth: 0,
      createdAt: NOW,
      ...fields,
    };
  }

  /** A pack, its chunks, and an object made of them in order. */
  async function storeObject(
    store: DatasetStore,
    input: { label: string; chunks: ChunkRecord[]; createdAt?: number },
  ): Promise<{ digest: Digest; chunks: ObjectChunk[] }> {
    await store.insertChunks(input.chunks);
    let offset = 0;
    const chunks = input.chunks.map((c) => {
      const entry = { digest: c.digest, offset, sizeBytes: c.sizeBytes };
      offset += c.sizeBytes;
      return entry;
    });
    const digest = digestOf(`object:${input.label}`);
    await store.insertObject(
      {
        digest,
        sizeBytes: offset,
        chunkCount: chunks.length,
        depth: Math.max(0, ...input.chunks.map((c) => c.depth)),
        createdAt: input.createdAt ?? NOW,
      },
      chunks,
    );
    return { digest, chunks };
  }

  async function newPack(store: DatasetStore, createdAt = NOW): Promise<Digest> {
    const digest = digestOf(unique('pack'));
    await store.insertPack({ digest, sizeBytes: 32 << 20, createdAt });
    return digest;
  }

  async function commitVersion(
    store: DatasetStore,
    input: { dataset: DatasetRecord; files: VersionFile[]; digest?: Digest },
  ): Promise<DatasetVersionRecord> {
    const number = await store.nextVersionNumber(input.dataset.datasetId);
    const version: DatasetVersionRecord = {
      versionId: unique('v'),
      datasetId: input.dataset.datasetId,
      version: number,
      parentVersion: number > 1 ? number - 1 : null,
      message: `v${number}`,
      author: 'alice',
      createdAt: NOW + number,
      digest: input.digest ?? digestOf(unique('manifest')),
      fileCount: input.files.length,
      sizeBytes: input.files.reduce((sum, f) => sum + f.sizeBytes, 0),
      bytesNew: 123,
    };
    await store.insertVersion(version, input.files);
    return version;
  }

  describe('datasets', () => {
    it('stores, reads, updates and refuses a second dataset of the same name', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      expect(await store.getDatasetByName(dataset.name)).toEqual(dataset);
      expect(await store.getDatasetsByIds([dataset.datasetId, 'missing'])).toEqual([dataset]);
      expect(await store.getDatasetsByIds([])).toEqual([]);
      expect(await store.getDatasetByName('missing')).toBeUndefined();

      await store.updateDataset(dataset.datasetId, { description: 'new words', updatedAt: NOW + 5 });
      await store.updateDataset(dataset.datasetId, { updatedAt: NOW + 6 });
      expect(await store.getDatasetByName(dataset.name)).toEqual({
        ...dataset,
        description: 'new words',
        updatedAt: NOW + 6,
      });

      const transactor = createSqlTransactor(database());
      await expect(
        transactor.run((stores) => createDataset(stores.datasets, { projectId, name: dataset.name })),
      ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    });

    it('lists by project and exact name prefix, in byte order, a page at a time', async () => {
      const { store, projectId } = await setUp();
      const other = await setUp();
      const stem = unique('list');
      const names = [`${stem}/b`, `${stem}/a_x`, `${stem}/a%`, `${stem}/B`, `${stem}/ab`];
      for (const name of names) await createDataset(store, { projectId, name });
      await createDataset(store, { projectId: other.projectId, name: `${stem}/other` });

      const all = await store.listDatasets({ projectIds: [projectId], offset: 0, limit: 100 });
      expect(all.map((d) => d.name)).toEqual([...names].sort());
      const page1 = await store.listDatasets({ projectIds: [projectId], offset: 0, limit: 2 });
      expect(page1.map((d) => d.name)).toEqual([`${stem}/B`, `${stem}/a%`, `${stem}/a_x`]);
      const page3 = await store.listDatasets({ projectIds: [projectId], offset: 4, limit: 2 });
      expect(page3.map((d) => d.name)).toEqual([`${stem}/b`]);

      // `_` and `%` are plain characters, not wildcards.
      const underscore = await store.listDatasets({ namePrefix: `${stem}/a_`, offset: 0, limit: 10 });
      expect(underscore.map((d) => d.name)).toEqual([`${stem}/a_x`]);
      const both = await store.listDatasets({
        projectIds: [projectId, other.projectId],
        namePrefix: stem,
        offset: 0,
        limit: 10,
      });
      expect(both).toHaveLength(6);
      expect(await store.listDatasets({ projectIds: [], offset: 0, limit: 10 })).toEqual([]);
    });

    it('hands out distinct version numbers to concurrent transactions', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const transactor = createSqlTransactor(database());
      const numbers = await Promise.all(
        Array.from({ length: 8 }, () =>
          transactor.run(async (stores) => {
            const number = await stores.datasets.nextVersionNumber(dataset.datasetId);
            // Hold the row a moment so the others really queue behind it.
            await new Promise((resolve) => setTimeout(resolve, 5));
            return number;
          }),
        ),
      );
      expect([...numbers].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect((await store.getDatasetByName(dataset.name))?.lastVersion).toBe(8);
      await expect(store.nextVersionNumber('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('versions and files', () => {
    it('stores 10,000 files and pages through them by path', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const pack = await newPack(store);
      const object = await storeObject(store, {
        label: unique('file'),
        chunks: [chunkRecord(unique('c'), { packDigest: pack })],
      });
      const files: VersionFile[] = Array.from({ length: 10_000 }, (_, i) => ({
        path: `data/part-${String(i).padStart(5, '0')}.csv`,
        digest: object.digest,
        sizeBytes: 65_536,
        mode: i % 2 === 0 ? 0o644 : 0o755,
      }));
      // Paths whose order differs between byte order and a linguistic collation.
      const odd = ['data-x', 'data/ä', 'Data', 'data_1', 'é'].map((path) => ({
        path,
        digest: object.digest,
        sizeBytes: 1,
        mode: 0o644,
      }));
      const started = performance.now();
      const version = await commitVersion(store, { dataset, files: [...files, ...odd] });
      // ~0.2 s on an idle machine; the bound only catches a statement per row.
      expect(performance.now() - started).toBeLessThan(10_000);

      const all = await store.allVersionFiles(version.versionId);
      const bytewise = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
      const expected = [...files, ...odd].sort((a, b) => bytewise(a.path, b.path));
      expect(all).toEqual(expected);

      const paged: VersionFile[] = [];
      let afterPath: string | undefined;
      for (;;) {
        const page = await store.listVersionFiles(version.versionId, {
          limit: 3_000,
          ...(afterPath === undefined ? {} : { afterPath }),
        });
        paged.push(...page.slice(0, 3_000));
        if (page.length <= 3_000) break;
        afterPath = page[2_999]?.path;
      }
      expect(paged).toEqual(expected);

      const prefixed = await store.listVersionFiles(version.versionId, {
        prefix: 'data/part-0999',
        afterPath: 'data/part-09991.csv',
        limit: 3,
      });
      expect(prefixed.map((f) => f.path)).toEqual([
        'data/part-09992.csv',
        'data/part-09993.csv',
        'data/part-09994.csv',
        'data/part-09995.csv',
      ]);
      expect(await store.getVersionFile(version.versionId, 'data/part-00001.csv')).toEqual(files[1]);
      expect(await store.getVersionFile(version.versionId, 'nope')).toBeUndefined();
    });

    it('reads versions by number, id, page and manifest digest', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const twin = await createDataset(store, { projectId });
      const shared = digestOf(unique('same-manifest'));
      const v1 = await commitVersion(store, { dataset, files: [], digest: shared });
      const v2 = await commitVersion(store, { dataset, files: [] });
      const v3 = await commitVersion(store, { dataset, files: [] });
      const t1 = await commitVersion(store, { dataset: twin, files: [], digest: shared });

      expect(await store.getVersion(dataset.datasetId, 2)).toEqual(v2);
      expect(await store.getVersion(dataset.datasetId, 9)).toBeUndefined();
      expect(await store.getVersionsByIds([v1.versionId, v3.versionId, 'missing'])).toEqual(
        expect.arrayContaining([v1, v3]),
      );
      expect(await store.listVersions(dataset.datasetId, { offset: 0, limit: 2 })).toEqual([v3, v2, v1]);
      expect(await store.listVersions(dataset.datasetId, { offset: 2, limit: 2 })).toEqual([v1]);
      const found = await store.findVersionsByDigest([shared, digestOf('nothing')]);
      expect(found).toHaveLength(2);
      expect(found).toEqual(expect.arrayContaining([v1, t1]));
      expect(await store.findVersionsByDigest([])).toEqual([]);
    });

    it('finds a version of one dataset by manifest digest, and which chunks its versions use', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const other = await createDataset(store, { projectId });
      const pack = await newPack(store);
      const [c1, c2, c3] = [1, 2, 3].map(() => chunkRecord(unique('c'), { packDigest: pack }));
      const mine = await storeObject(store, { label: unique('mine'), chunks: [c1!, c2!] });
      const theirs = await storeObject(store, { label: unique('theirs'), chunks: [c3!] });
      const file = (digest: Digest): VersionFile => ({ path: 'f', digest, sizeBytes: 1, mode: 0o644 });
      const manifest = digestOf(unique('manifest'));
      const v1 = await commitVersion(store, { dataset, files: [file(mine.digest)], digest: manifest });
      await commitVersion(store, { dataset, files: [file(mine.digest)], digest: manifest });
      await commitVersion(store, { dataset: other, files: [file(theirs.digest)] });

      expect(await store.findVersionInDataset(dataset.datasetId, manifest)).toEqual(v1);
      expect(await store.findVersionInDataset(other.datasetId, manifest)).toBeUndefined();
      const digests = [c1!.digest, c2!.digest, c3!.digest, digestOf('none')];
      expect(await store.chunksOfDataset(dataset.datasetId, digests)).toEqual(
        new Set([c1!.digest, c2!.digest]),
      );
      expect(await store.chunksOfDataset(other.datasetId, digests)).toEqual(new Set([c3!.digest]));
      expect(await store.chunksOfDataset(other.datasetId, [])).toEqual(new Set());
    });

    it('sets, moves and deletes aliases', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      await store.setAlias(dataset.datasetId, 'prod', 1, NOW);
      await store.setAlias(dataset.datasetId, 'staging', 2, NOW);
      await store.setAlias(dataset.datasetId, 'prod', 3, NOW + 1);
      expect(await store.getAliases(dataset.datasetId)).toEqual(
        new Map([
          ['prod', 3],
          ['staging', 2],
        ]),
      );
      expect(await store.deleteAlias(dataset.datasetId, 'staging')).toBe(true);
      expect(await store.deleteAlias(dataset.datasetId, 'staging')).toBe(false);
      expect(await store.getAliases(dataset.datasetId)).toEqual(new Map([['prod', 3]]));
    });
  });

  describe('chunks and objects', () => {
    it('inserts 20,000 chunks quickly, and again as a no-op that keeps the first rows', async () => {
      const { store } = await setUp();
      const pack = await newPack(store);
      const stem = unique('many');
      const chunks = Array.from({ length: 20_000 }, (_, i) =>
        chunkRecord(`${stem}-${i}`, { packDigest: pack, packOffset: i * 40_000 }),
      );
      const started = performance.now();
      await store.insertChunks(chunks);
      // ~0.3 s on an idle machine (eight statements); the bound only catches a statement per row.
      expect(performance.now() - started).toBeLessThan(10_000);

      const changed = chunks.map((c) => ({ ...c, storedBytes: 1, encoding: 'raw' as const }));
      await store.insertChunks([...changed, ...changed.slice(0, 10)]);
      const digests = chunks.map((c) => c.digest);
      const read = await store.getChunks(digests);
      expect(read).toHaveLength(20_000);
      expect(read.find((c) => c.digest === chunks[7]?.digest)).toEqual(chunks[7]);
      const missing = digestOf(unique('missing'));
      const existing = await store.existingChunks([...digests, missing]);
      expect(existing.size).toBe(20_000);
      expect(existing.has(missing)).toBe(false);
      expect(await store.getChunks([])).toEqual([]);
      expect(await store.existingChunks([])).toEqual(new Set());
    });

    it('stores an object with 20,000 chunks in order, once', async () => {
      const { store } = await setUp();
      const pack = await newPack(store);
      const stem = unique('big');
      const chunks = Array.from({ length: 20_000 }, (_, i) =>
        chunkRecord(`${stem}-${i}`, { packDigest: pack, sizeBytes: 1000 + (i % 7), packOffset: i }),
      );
      // Out of digest order, so file order must come from the sequence column.
      const object = await storeObject(store, { label: stem, chunks });
      expect(await store.getObjectChunks(object.digest)).toEqual(object.chunks);
      const [record] = await store.getObjects([object.digest, digestOf('none')]);
      expect(record).toMatchObject({ digest: object.digest, chunkCount: 20_000, depth: 0 });

      // The same object again, with another chunk list: the first one stays.
      await store.insertObject(
        { digest: object.digest, sizeBytes: 1, chunkCount: 1, depth: 0, createdAt: NOW },
        [{ digest: chunks[0]?.digest as Digest, offset: 0, sizeBytes: 1000 }],
      );
      expect(await store.getObjects([object.digest])).toEqual([record]);
      expect(await store.getObjectChunks(object.digest)).toHaveLength(20_000);
      expect(await store.getObjects([])).toEqual([]);
    });

    it('refuses a delta whose base object is not stored', async () => {
      const { store } = await setUp();
      const pack = await newPack(store);
      const base = digestOf(unique('absent-base'));
      await expect(
        store.insertChunks([
          chunkRecord(unique('delta'), { packDigest: pack, encoding: 'delta', baseObject: base, depth: 1 }),
        ]),
      ).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining(base) });
    });

    it('upserts table profiles and lists them by status', async () => {
      const { store } = await setUp();
      const pack = await newPack(store);
      const a = await storeObject(store, {
        label: unique('t'),
        chunks: [chunkRecord(unique('c'), { packDigest: pack })],
      });
      const b = await storeObject(store, {
        label: unique('t'),
        chunks: [chunkRecord(unique('c'), { packDigest: pack })],
      });
      await store.upsertProfile({
        objectDigest: a.digest,
        format: 'csv',
        status: 'pending',
        profile: null,
        error: null,
        updatedAt: 1,
      });
      await store.upsertProfile({
        objectDigest: b.digest,
        format: 'parquet',
        status: 'pending',
        profile: null,
        error: null,
        updatedAt: 2,
      });
      const pending = await store.listProfilesByStatus('pending', 1000);
      expect(pending.filter((p) => p.objectDigest === a.digest || p.objectDigest === b.digest)).toHaveLength(
        2,
      );
      const done = {
        objectDigest: a.digest,
        format: 'csv' as const,
        status: 'done' as const,
        profile: { rows: 3, columns: [{ name: 'x', type: 'int64' }] },
        error: null,
        updatedAt: 3,
      };
      await store.upsertProfile(done);
      expect(await store.getProfiles([a.digest, b.digest])).toEqual(
        expect.arrayContaining([
          done,
          expect.objectContaining({ objectDigest: b.digest, status: 'pending' }),
        ]),
      );
      expect((await store.listProfilesByStatus('done', 1000)).map((p) => p.objectDigest)).toContain(a.digest);
      expect(await store.getProfiles([])).toEqual([]);
    });
  });

  describe('uploads', () => {
    it('stages files, pins chunks, touches, lists stale ones and deletes', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const pack = await newPack(store);
      const c1 = chunkRecord(unique('c'), { packDigest: pack });
      const one = await storeObject(store, { label: unique('o'), chunks: [c1] });
      const two = await storeObject(store, {
        label: unique('o'),
        chunks: [chunkRecord(unique('c'), { packDigest: pack })],
      });
      const upload = {
        uploadId: unique('up'),
        datasetId: dataset.datasetId,
        parentVersion: null,
        createdBy: 'alice',
        createdAt: NOW,
        touchedAt: NOW,
        bytesNew: 0,
      };
      await store.insertUpload(upload);
      expect(await store.getUpload(upload.uploadId)).toEqual(upload);

      await store.stageUploadFile(upload.uploadId, { path: 'b.csv', digest: one.digest, mode: 0o644 });
      await store.stageUploadFile(upload.uploadId, { path: 'a.csv', digest: one.digest, mode: 0o644 });
      await store.stageUploadFile(upload.uploadId, { path: 'b.csv', digest: two.digest, mode: 0o755 });
      expect(await store.listUploadFiles(upload.uploadId)).toEqual([
        { path: 'a.csv', digest: one.digest, mode: 0o644 },
        { path: 'b.csv', digest: two.digest, mode: 0o755 },
      ]);

      await store.pinUploadChunks(upload.uploadId, [c1.digest, c1.digest]);
      await store.pinUploadChunks(upload.uploadId, [c1.digest]);
      await store.touchUpload(upload.uploadId, { at: NOW + 10, bytesNew: 100 });
      await store.touchUpload(upload.uploadId, { at: NOW + 20, bytesNew: 50 });
      expect(await store.getUpload(upload.uploadId)).toMatchObject({ touchedAt: NOW + 20, bytesNew: 150 });

      const stale = await store.listStaleUploads(NOW + 21);
      expect(stale.map((u) => u.uploadId)).toContain(upload.uploadId);
      expect((await store.listStaleUploads(NOW + 20)).map((u) => u.uploadId)).not.toContain(upload.uploadId);

      await store.deleteUpload(upload.uploadId);
      expect(await store.getUpload(upload.uploadId)).toBeUndefined();
      expect(await store.listUploadFiles(upload.uploadId)).toEqual([]);
      // The pins went with it: the chunk is free to delete once no object lists it.
      expect(await store.deleteChunks([c1.digest])).toEqual([]);
    });

    it('says clearly when a chunk to pin was removed by garbage collection', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const pack = await newPack(store);
      const orphan = chunkRecord(unique('orphan'), { packDigest: pack });
      await store.insertChunks([orphan]);
      const uploadId = unique('up');
      await store.insertUpload({
        uploadId,
        datasetId: dataset.datasetId,
        parentVersion: null,
        createdBy: 'alice',
        createdAt: NOW,
        touchedAt: NOW,
        bytesNew: 0,
      });
      expect(await store.deleteChunks([orphan.digest])).toEqual([orphan.digest]);
      await expect(store.pinUploadChunks(uploadId, [orphan.digest])).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
        message: expect.stringContaining('removed by garbage collection'),
      });
      const live = chunkRecord(unique('live'), { packDigest: pack });
      await store.insertChunks([live]);
      await expect(store.pinUploadChunks(unique('no-such-upload'), [live.digest])).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });
  });

  describe('garbage collection', () => {
    // Rows of this suite are created long before everything else in the file, so a
    // cut-off between the two keeps the other tests' leftovers out of the results.
    const OLD = 10_000;
    const CUTOFF = 20_000;

    it('finds what nothing reaches, following delta bases, and deletes only what is still free', async () => {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const pack = await newPack(store, OLD);
      const chunkOf = (label: string, extra: Partial<ChunkRecord> = {}): ChunkRecord =>
        chunkRecord(unique(label), { packDigest: pack, createdAt: OLD, ...extra });
      const delta = (base: Digest): Partial<ChunkRecord> => ({
        encoding: 'delta',
        baseObject: base,
        depth: 1,
      });
      const object = (label: string, chunks: ChunkRecord[]) =>
        storeObject(store, { label: unique(label), chunks, createdAt: OLD });

      // A is reachable only as the delta base of B, which a version holds.
      const a1 = chunkOf('a1');
      const a = await object('A', [a1]);
      const shared = chunkOf('shared');
      const b1 = chunkOf('b1', delta(a.digest));
      const b = await object('B', [b1, shared]);
      await commitVersion(store, {
        dataset,
        files: [{ path: 'b.bin', digest: b.digest, sizeBytes: 1, mode: 0o644 }],
      });
      // C is garbage, but shares a chunk with B.
      const c1 = chunkOf('c1');
      const c = await object('C', [c1, shared]);
      // D is staged by an upload and E is its base; F is the base of a pinned chunk.
      const e1 = chunkOf('e1');
      const e = await object('E', [e1]);
      const d1 = chunkOf('d1', delta(e.digest));
      const d = await object('D', [d1]);
      const f1 = chunkOf('f1');
      const f = await object('F', [f1]);
      const p1 = chunkOf('p1', delta(f.digest));
      await store.insertChunks([p1]);
      const uploadId = unique('up');
      await store.insertUpload({
        uploadId,
        datasetId: dataset.datasetId,
        parentVersion: 1,
        createdBy: 'alice',
        createdAt: OLD,
        touchedAt: OLD,
        bytesNew: 0,
      });
      await store.stageUploadFile(uploadId, { path: 'd.bin', digest: d.digest, mode: 0o644 });
      await store.pinUploadChunks(uploadId, [p1.digest]);
      // G is garbage and delta-encoded against H, also garbage.
      const h1 = chunkOf('h1');
      const h = await object('H', [h1]);
      const g1 = chunkOf('g1', delta(h.digest));
      const g = await object('G', [g1]);
      const orphan = chunkOf('orphan');
      const young = chunkOf('young', { createdAt: CUTOFF + 1 });
      await store.insertChunks([orphan, young]);

      const found = await store.findUnreachable({ createdBefore: CUTOFF, limit: 100 });
      expect(new Set(found.objects)).toEqual(new Set([c.digest, g.digest, h.digest]));
      expect(new Set(found.chunks)).toEqual(new Set([c1.digest, g1.digest, h1.digest, orphan.digest]));
      const limited = await store.findUnreachable({ createdBefore: CUTOFF, limit: 1 });
      expect([limited.objects.length, limited.chunks.length]).toEqual([1, 1]);

      await store.upsertProfile({
        objectDigest: c.digest,
        format: 'csv',
        status: 'failed',
        profile: null,
        error: 'x',
        updatedAt: OLD,
      });
      // Live objects passed in by mistake stay; H stays while G's delta still copies from it.
      const deletedObjects = await store.deleteObjects([
        c.digest,
        g.digest,
        h.digest,
        a.digest,
        b.digest,
        d.digest,
      ]);
      expect(new Set(deletedObjects)).toEqual(new Set([c.digest, g.digest]));
      expect(await store.getProfiles([c.digest])).toEqual([]);
      expect(await store.getObjectChunks(c.digest)).toEqual([]);
      // Chunks still listed by an object (h1) or by B (shared), or pinned (p1), stay.
      const deletedChunks = await store.deleteChunks([
        c1.digest,
        g1.digest,
        h1.digest,
        orphan.digest,
        shared.digest,
        p1.digest,
        a1.digest,
      ]);
      expect(new Set(deletedChunks)).toEqual(new Set([c1.digest, g1.digest, orphan.digest]));

      const second = await store.findUnreachable({ createdBefore: CUTOFF, limit: 100 });
      expect(second).toEqual({ objects: [h.digest], chunks: [h1.digest] });
      expect(await store.deleteObjects([h.digest])).toEqual([h.digest]);
      expect(await store.deleteChunks([h1.digest])).toEqual([h1.digest]);
      expect(await store.findUnreachable({ createdBefore: CUTOFF, limit: 100 })).toEqual({
        objects: [],
        chunks: [],
      });

      // Once the upload goes, what it held up is garbage too.
      await store.deleteUpload(uploadId);
      const third = await store.findUnreachable({ createdBefore: CUTOFF, limit: 100 });
      expect(new Set(third.objects)).toEqual(new Set([d.digest, e.digest, f.digest]));
      expect(new Set(third.chunks)).toEqual(new Set([d1.digest, e1.digest, f1.digest, p1.digest]));
      expect(new Set(await store.deleteObjects(third.objects))).toEqual(new Set([d.digest]));
      expect(new Set(await store.deleteChunks(third.chunks))).toEqual(new Set([d1.digest, p1.digest]));
      // Now that d1 and p1 are gone, E and F are free.
      const fourth = await store.findUnreachable({ createdBefore: CUTOFF, limit: 100 });
      expect(new Set(await store.deleteObjects(fourth.objects))).toEqual(new Set([e.digest, f.digest]));
      expect(new Set(await store.deleteChunks(fourth.chunks))).toEqual(new Set([e1.digest, f1.digest]));
      expect(await store.findUnreachable({ createdBefore: CUTOFF, limit: 100 })).toEqual({
        objects: [],
        chunks: [],
      });
      expect(await store.getObjectChunks(b.digest)).toHaveLength(2);
    });

    it('reports pack usage, moves chunks between packs and deletes emptied packs', async () => {
      const { store } = await setUp();
      const oldPack = await newPack(store);
      const newPackDigest = await newPack(store);
      const emptyPack = await newPack(store);
      const chunks = [0, 1, 2].map((i) =>
        chunkRecord(unique('m'), { packDigest: oldPack, packOffset: i * 100, storedBytes: 100 + i }),
      );
      await store.insertChunks(chunks);

      const usage = async (): Promise<Map<Digest, { liveChunks: number; liveBytes: number }>> =>
        new Map(
          (await store.packUsage())
            .filter((p) => [oldPack, newPackDigest, emptyPack].includes(p.digest))
            .map((p) => [p.digest, { liveChunks: p.liveChunks, liveBytes: p.liveBytes }]),
        );
      expect(await usage()).toEqual(
        new Map([
          [oldPack, { liveChunks: 3, liveBytes: 303 }],
          [newPackDigest, { liveChunks: 0, liveBytes: 0 }],
          [emptyPack, { liveChunks: 0, liveBytes: 0 }],
        ]),
      );
      const row = (await store.packUsage()).find((p) => p.digest === oldPack);
      expect(row).toMatchObject({ sizeBytes: 32 << 20, createdAt: NOW });
      expect((await store.chunksInPack(oldPack)).map((c) => c.digest)).toEqual(chunks.map((c) => c.digest));

      expect(await store.deletePackIfEmpty(oldPack)).toBe(false);
      await store.moveChunks([
        { digest: chunks[2]?.digest as Digest, fromPack: oldPack, toPack: newPackDigest, toOffset: 0 },
        { digest: chunks[0]?.digest as Digest, fromPack: oldPack, toPack: newPackDigest, toOffset: 102 },
        // Not in `fromPack`: left where it is.
        { digest: chunks[1]?.digest as Digest, fromPack: emptyPack, toPack: newPackDigest, toOffset: 999 },
      ]);
      const moved = await store.chunksInPack(newPackDigest);
      expect(moved.map((c) => [c.digest, c.packOffset])).toEqual([
        [chunks[2]?.digest, 0],
        [chunks[0]?.digest, 102],
      ]);
      expect(moved[1]).toEqual({ ...chunks[0], packDigest: newPackDigest, packOffset: 102 });
      expect(await store.deletePackIfEmpty(oldPack)).toBe(false);
      await store.moveChunks([
        { digest: chunks[1]?.digest as Digest, fromPack: oldPack, toPack: newPackDigest, toOffset: 204 },
      ]);
      expect(await store.deletePackIfEmpty(oldPack)).toBe(true);
      expect(await store.deletePackIfEmpty(emptyPack)).toBe(true);
      expect(await store.deletePackIfEmpty(emptyPack)).toBe(false);
      expect(await usage()).toEqual(new Map([[newPackDigest, { liveChunks: 3, liveBytes: 303 }]]));
      await store.moveChunks([]);
    });
  });

  describe.runIf(dialect === 'postgres')('concurrent pins and collection', () => {
    async function contested(): Promise<{ store: DatasetStore; uploadId: string; target: ChunkRecord }> {
      const { store, projectId } = await setUp();
      const dataset = await createDataset(store, { projectId });
      const pack = await newPack(store);
      const target = chunkRecord(unique('contested'), { packDigest: pack });
      await store.insertChunks([target]);
      const uploadId = unique('up');
      await store.insertUpload({
        uploadId,
        datasetId: dataset.datasetId,
        parentVersion: null,
        createdBy: 'alice',
        createdAt: NOW,
        touchedAt: NOW,
        bytesNew: 0,
      });
      return { store, uploadId, target };
    }

    /** Runs `first` in a transaction held open until `second` (in its own) has had time to block on it. */
    async function race<A, B>(
      first: (stores: ReturnType<typeof createSqlStores>) => Promise<A>,
      second: (stores: ReturnType<typeof createSqlStores>) => Promise<B>,
    ): Promise<[PromiseSettledResult<A>, PromiseSettledResult<B>]> {
      const transactor = createSqlTransactor(database());
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started: () => void = () => undefined;
      const firstDone = new Promise<void>((resolve) => (started = resolve));
      const a = transactor.run(async (stores) => {
        const result = await first(stores);
        started();
        await held;
        return result;
      });
      await firstDone;
      const b = transactor.run(second);
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      return Promise.allSettled([a, b]) as Promise<[PromiseSettledResult<A>, PromiseSettledResult<B>]>;
    }

    it('a pin in flight keeps the chunk from a collection that starts after it', async () => {
      const { store, uploadId, target } = await contested();
      const [pin, collect] = await race(
        (stores) => stores.datasets.pinUploadChunks(uploadId, [target.digest]),
        (stores) => stores.datasets.deleteChunks([target.digest]),
      );
      expect(pin.status).toBe('fulfilled');
      expect(collect).toEqual({ status: 'fulfilled', value: [] });
      expect(await store.existingChunks([target.digest])).toEqual(new Set([target.digest]));
    });

    it('a pin that waits on a collection fails with the clear error', async () => {
      const { uploadId, target } = await contested();
      const [collect, pin] = await race(
        (stores) => stores.datasets.deleteChunks([target.digest]),
        (stores) => stores.datasets.pinUploadChunks(uploadId, [target.digest]),
      );
      expect(collect).toEqual({ status: 'fulfilled', value: [target.digest] });
      expect(pin).toMatchObject({
        status: 'rejected',
        reason: {
          code: 'FAILED_PRECONDITION',
          message: expect.stringContaining('removed by garbage collection'),
        },
      });
    });

    it('a delta written against a base in flight keeps it from collection', async () => {
      const { store } = await setUp();
      const pack = await newPack(store);
      const base = await storeObject(store, {
        label: unique('base'),
        chunks: [chunkRecord(unique('b'), { packDigest: pack })],
      });
      const [write, collect] = await race(
        (stores) =>
          stores.datasets.insertChunks([
            chunkRecord(unique('delta'), {
              packDigest: pack,
              encoding: 'delta',
              baseObject: base.digest,
              depth: 1,
            }),
          ]),
        (stores) => stores.datasets.deleteObjects([base.digest]),
      );
      expect(write.status).toBe('fulfilled');
      expect(collect).toEqual({ status: 'fulfilled', value: [] });
    });
  });
});
