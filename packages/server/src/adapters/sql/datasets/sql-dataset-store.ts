import { sql, type Kysely } from 'kysely';
import { CairnError } from '@cairn/contract';
import type { Digest } from '../../../modules/artifacts/index.js';
// Entities and the port straight from their files: the module's index would load its services too.
import type {
  ChunkRecord,
  DatasetRecord,
  DatasetVersionRecord,
  FileObjectRecord,
  ObjectChunk,
  PackRecord,
  ProfileStatus,
  TableProfileRecord,
  UploadRecord,
  VersionFile,
} from '../../../modules/datasets/entities.js';
import type {
  ChunkMove,
  DatasetListQuery,
  DatasetStore,
  FilePageQuery,
  PackUsage,
  Unreachable,
} from '../../../modules/datasets/datasets.store.js';
import type { SqlHelpers } from '../database.js';
import type { Database } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import {
  dialectTraits,
  flattenVersionFileRow,
  startsWith,
  toDataset,
  toDatasetRow,
  toVersion,
  toVersionFile,
  toVersionFileRow,
  toVersionRow,
  type DialectTraits,
} from './dataset-row-mappers.js';
import { SqlDataChunks } from './sql-data-chunks.js';
import { SqlDataGc } from './sql-data-gc.js';
import { SqlDataUploads } from './sql-data-uploads.js';

// 5 parameters a row.
const FILE_ROWS_PER_INSERT = 2000;

/** Versioned datasets' tables; one implementation for SQLite and PostgreSQL. */
export class SqlDatasetStore implements DatasetStore {
  private readonly traits: DialectTraits;
  private readonly chunks: SqlDataChunks;
  private readonly gc: SqlDataGc;
  private readonly uploads: SqlDataUploads;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly helpers: SqlHelpers,
  ) {
    this.traits = dialectTraits(db);
    this.chunks = new SqlDataChunks(db, helpers, this.traits);
    this.gc = new SqlDataGc(db, helpers, this.traits);
    this.uploads = new SqlDataUploads(db, this.traits);
  }

  // ── Datasets ─────────────────────────────────────────────────────────

  async insertDataset(dataset: DatasetRecord): Promise<void> {
    await this.db.insertInto('versioned_datasets').values(toDatasetRow(dataset)).execute();
  }

  async getDatasetByName(name: string): Promise<DatasetRecord | undefined> {
    const row = await this.db
      .selectFrom('versioned_datasets')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toDataset(row);
  }

  async getDatasetsByIds(datasetIds: readonly string[]): Promise<DatasetRecord[]> {
    if (datasetIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('versioned_datasets')
      .selectAll()
      .where(this.helpers.anyOf('dataset_id', datasetIds))
      .execute();
    return rows.map(toDataset);
  }

  async listDatasets(query: DatasetListQuery): Promise<DatasetRecord[]> {
    if (query.projectIds?.length === 0) return [];
    let select = this.db.selectFrom('versioned_datasets').selectAll();
    if (query.projectIds !== undefined)
      select = select.where(this.helpers.anyOf('project_id', query.projectIds));
    if (query.namePrefix !== undefined && query.namePrefix !== '') {
      select = select.where(startsWith('name', query.namePrefix));
    }
    const rows = await select
      .orderBy(this.traits.bytewise('name'))
      .limit(query.limit + 1)
      .offset(query.offset)
      .execute();
    return rows.map(toDataset);
  }

  async updateDataset(datasetId: string, patch: { description?: string; updatedAt: number }): Promise<void> {
    await this.db
      .updateTable('versioned_datasets')
      .set({
        ...(patch.description === undefined ? {} : { description: patch.description }),
        updated_ms: patch.updatedAt,
      })
      .where('dataset_id', '=', datasetId)
      .execute();
  }

  /** One statement: the row lock it takes makes concurrent commits queue for their numbers. */
  async nextVersionNumber(datasetId: string): Promise<number> {
    const row = await this.db
      .updateTable('versioned_datasets')
      .set({ last_version: sql`last_version + 1` })
      .where('dataset_id', '=', datasetId)
      .returning('last_version')
      .executeTakeFirst();
    if (row === undefined) throw new CairnError('NOT_FOUND', `dataset ${datasetId} does not exist`);
    return Number(row.last_version);
  }

  // ── Versions and their files ─────────────────────────────────────────

  async insertVersion(version: DatasetVersionRecord, files: readonly VersionFile[]): Promise<void> {
    await this.db.insertInto('dataset_versions').values(toVersionRow(version)).execute();
    const rows = files.map((file) => toVersionFileRow(version.versionId, file));
    for (const part of chunk(rows, FILE_ROWS_PER_INSERT)) {
      // The statement text depends only on the row count: compile it once per count.
      await this.helpers.shapes.execute(
        this.db,
        { name: 'dataset_version_files', rows: part, flatten: flattenVersionFileRow },
        () => this.db.insertInto('dataset_version_files').values(part),
      );
    }
  }

  async getVersion(datasetId: string, version: number): Promise<DatasetVersionRecord | undefined> {
    const row = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row === undefined ? undefined : toVersion(row);
  }

  async getVersionsByIds(versionIds: readonly string[]): Promise<DatasetVersionRecord[]> {
    if (versionIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where(this.helpers.anyOf('version_id', versionIds))
      .execute();
    return rows.map(toVersion);
  }

  async listVersions(
    datasetId: string,
    page: { offset: number; limit: number },
  ): Promise<DatasetVersionRecord[]> {
    const rows = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .orderBy('version', 'desc')
      .limit(page.limit + 1)
      .offset(page.offset)
      .execute();
    return rows.map(toVersion);
  }

  async findVersionsByDigest(digests: readonly string[]): Promise<DatasetVersionRecord[]> {
    if (digests.length === 0) return [];
    const rows = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where(this.helpers.anyOf('digest', digests))
      .orderBy('dataset_id')
      .orderBy('version')
      .execute();
    return rows.map(toVersion);
  }

  /** Keyset paging in byte order of paths, the same on both dialects (see DialectTraits). */
  async listVersionFiles(versionId: string, query: FilePageQuery): Promise<VersionFile[]> {
    const path = this.traits.bytewise('path');
    let select = this.db
      .selectFrom('dataset_version_files')
      .select(['path', 'object_digest', 'size_bytes', 'mode'])
      .where('version_id', '=', versionId);
    if (query.prefix !== undefined && query.prefix !== '')
      select = select.where(startsWith('path', query.prefix));
    if (query.afterPath !== undefined) select = select.where(path, '>', query.afterPath);
    const rows = await select
      .orderBy(path)
      .limit(query.limit + 1)
      .execute();
    return rows.map(toVersionFile);
  }

  async allVersionFiles(versionId: string): Promise<VersionFile[]> {
    const rows = await this.db
      .selectFrom('dataset_version_files')
      .select(['path', 'object_digest', 'size_bytes', 'mode'])
      .where('version_id', '=', versionId)
      .orderBy(this.traits.bytewise('path'))
      .execute();
    return rows.map(toVersionFile);
  }

  async getVersionFile(versionId: string, path: string): Promise<VersionFile | undefined> {
    const row = await this.db
      .selectFrom('dataset_version_files')
      .select(['path', 'object_digest', 'size_bytes', 'mode'])
      .where('version_id', '=', versionId)
      .where('path', '=', path)
      .executeTakeFirst();
    return row === undefined ? undefined : toVersionFile(row);
  }

  /** Chunks listed by a file of any version of the dataset (a delta's base is read by the server, not asked for). */
  async chunksOfDataset(datasetId: string, digests: readonly Digest[]): Promise<Set<Digest>> {
    if (digests.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('data_object_chunks as oc')
      .select('oc.chunk_digest')
      .distinct()
      .where(this.helpers.anyOf('oc.chunk_digest', digests))
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('dataset_version_files as f')
            .innerJoin('dataset_versions as v', 'v.version_id', 'f.version_id')
            .select(sql`1`.as('one'))
            .whereRef('f.object_digest', '=', 'oc.object_digest')
            .where('v.dataset_id', '=', datasetId),
        ),
      )
      .execute();
    return new Set(rows.map((r) => r.chunk_digest as Digest));
  }

  /** The first such version, should the same content have been committed twice. */
  async findVersionInDataset(datasetId: string, digest: Digest): Promise<DatasetVersionRecord | undefined> {
    const row = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('digest', '=', digest)
      .orderBy('version')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toVersion(row);
  }

  // ── Aliases ──────────────────────────────────────────────────────────

  // The port's signature (four positional parameters).
  // eslint-disable-next-line max-params
  async setAlias(datasetId: string, alias: string, version: number, at: number): Promise<void> {
    await this.db
      .insertInto('dataset_aliases')
      .values({ dataset_id: datasetId, alias, version, updated_ms: at })
      .onConflict((oc) => oc.columns(['dataset_id', 'alias']).doUpdateSet({ version, updated_ms: at }))
      .execute();
  }

  async deleteAlias(datasetId: string, alias: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('dataset_aliases')
      .where('dataset_id', '=', datasetId)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getAliases(datasetId: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('dataset_aliases')
      .select(['alias', 'version'])
      .where('dataset_id', '=', datasetId)
      .orderBy(this.traits.bytewise('alias'))
      .execute();
    return new Map(rows.map((r) => [r.alias, Number(r.version)]));
  }

  // ── Packs, chunks, objects, table profiles (sql-data-chunks.ts) ──────

  insertPack(pack: PackRecord): Promise<void> {
    return this.chunks.insertPack(pack);
  }

  insertChunks(chunks: readonly ChunkRecord[]): Promise<void> {
    return this.chunks.insertChunks(chunks);
  }

  getChunks(digests: readonly Digest[]): Promise<ChunkRecord[]> {
    return this.chunks.getChunks(digests);
  }

  existingChunks(digests: readonly Digest[]): Promise<Set<Digest>> {
    return this.chunks.existingChunks(digests);
  }

  insertObject(object: FileObjectRecord, chunks: readonly ObjectChunk[]): Promise<void> {
    return this.chunks.insertObject(object, chunks);
  }

  getObjects(digests: readonly Digest[]): Promise<FileObjectRecord[]> {
    return this.chunks.getObjects(digests);
  }

  getObjectChunks(objectDigest: Digest): Promise<ObjectChunk[]> {
    return this.chunks.getObjectChunks(objectDigest);
  }

  chunksInPack(packDigest: Digest): Promise<ChunkRecord[]> {
    return this.chunks.chunksInPack(packDigest);
  }

  upsertProfile(profile: TableProfileRecord): Promise<void> {
    return this.chunks.upsertProfile(profile);
  }

  getProfiles(objectDigests: readonly Digest[]): Promise<TableProfileRecord[]> {
    return this.chunks.getProfiles(objectDigests);
  }

  listProfilesByStatus(status: ProfileStatus, limit: number): Promise<TableProfileRecord[]> {
    return this.chunks.listProfilesByStatus(status, limit);
  }

  // ── Uploads (sql-data-uploads.ts) ────────────────────────────────────

  insertUpload(upload: UploadRecord): Promise<void> {
    return this.uploads.insertUpload(upload);
  }

  getUpload(uploadId: string): Promise<UploadRecord | undefined> {
    return this.uploads.getUpload(uploadId);
  }

  touchUpload(uploadId: string, change: { at: number; bytesNew: number }): Promise<void> {
    return this.uploads.touchUpload(uploadId, change);
  }

  deleteUpload(uploadId: string): Promise<void> {
    return this.uploads.deleteUpload(uploadId);
  }

  stageUploadFile(uploadId: string, file: { path: string; digest: Digest; mode: number }): Promise<void> {
    return this.uploads.stageUploadFile(uploadId, file);
  }

  listUploadFiles(uploadId: string): Promise<Array<{ path: string; digest: Digest; mode: number }>> {
    return this.uploads.listUploadFiles(uploadId);
  }

  pinUploadChunks(uploadId: string, digests: readonly Digest[]): Promise<void> {
    return this.uploads.pinUploadChunks(uploadId, digests);
  }

  listStaleUploads(before: number): Promise<UploadRecord[]> {
    return this.uploads.listStaleUploads(before);
  }

  // ── Garbage collection (sql-data-gc.ts) ──────────────────────────────

  findUnreachable(options: { createdBefore: number; limit: number }): Promise<Unreachable> {
    return this.gc.findUnreachable(options);
  }

  deleteObjects(digests: readonly Digest[]): Promise<Digest[]> {
    return this.gc.deleteObjects(digests);
  }

  deleteChunks(digests: readonly Digest[]): Promise<Digest[]> {
    return this.gc.deleteChunks(digests);
  }

  packUsage(): Promise<PackUsage[]> {
    return this.gc.packUsage();
  }

  moveChunks(moves: readonly ChunkMove[]): Promise<void> {
    return this.gc.moveChunks(moves);
  }

  deletePackIfEmpty(packDigest: Digest): Promise<boolean> {
    return this.gc.deletePackIfEmpty(packDigest);
  }
}
