import type { Kysely } from 'kysely';
import { CairnError } from '@cairn/contract';
import type { Digest } from '../../../modules/artifacts/index.js';
import type {
  ChunkRecord,
  FileObjectRecord,
  ObjectChunk,
  PackRecord,
  ProfileStatus,
  TableProfileRecord,
} from '../../../modules/datasets/entities.js';
import type { SqlHelpers } from '../database.js';
import type { DataObjectChunksTable, Database } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import {
  flattenChunkRow,
  toChunk,
  toChunkRow,
  toObject,
  toProfile,
  toProfileRow,
  type DialectTraits,
} from './dataset-row-mappers.js';

// 9 parameters a row: 18,000 a statement, under SQLite's 32,766 and PostgreSQL's 65,535.
// A gigabyte is ~16,000 chunks, so eight statements.
const CHUNK_ROWS_PER_INSERT = 2000;
// 4 parameters a row.
const OBJECT_CHUNK_ROWS_PER_INSERT = 4000;

const flattenObjectChunkRow = (row: DataObjectChunksTable): readonly unknown[] => [
  row.object_digest,
  row.seq,
  row.chunk_digest,
  row.offset_bytes,
];

/** Packs, chunks and file objects (where stored bytes are, which make a file), and file objects' table profiles. */
export class SqlDataChunks {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly helpers: SqlHelpers,
    private readonly traits: DialectTraits,
  ) {}

  /** A pack is named by its content, so the same pack written twice is one row. */
  async insertPack(pack: PackRecord): Promise<void> {
    await this.db
      .insertInto('data_packs')
      .values({ pack_digest: pack.digest, size_bytes: pack.sizeBytes, created_ms: pack.createdAt })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async insertChunks(chunks: readonly ChunkRecord[]): Promise<void> {
    if (chunks.length === 0) return;
    await this.holdDeltaBases(chunks);
    // Sorted so concurrent writers and garbage collection take row locks in one order.
    const rows = [...new Map(chunks.map((c) => [c.digest, toChunkRow(c)])).values()].sort((a, b) =>
      a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0,
    );
    for (const part of chunk(rows, CHUNK_ROWS_PER_INSERT)) {
      // The statement text depends only on the row count: compile it once per count.
      await this.helpers.shapes.execute(
        this.db,
        { name: 'data_chunks', rows: part, flatten: flattenChunkRow },
        () =>
          this.db
            .insertInto('data_chunks')
            .values(part)
            .onConflict((oc) => oc.column('digest').doNothing()),
      );
    }
  }

  /**
   * A delta is unreadable without its base object, and `base_object` has no
   * foreign key (bases may be collected in any order once nothing needs
   * them). So the bases are checked here, and on PostgreSQL share-locked as a
   * foreign key would: a collection deleting one of them concurrently either
   * waits for this transaction, and then sees the new delta, or wins and
   * this insert fails instead of storing a chunk nobody can read.
   */
  private async holdDeltaBases(chunks: readonly ChunkRecord[]): Promise<void> {
    const bases = [...new Set(chunks.flatMap((c) => (c.baseObject === null ? [] : [c.baseObject])))];
    if (bases.length === 0) return;
    let select = this.db
      .selectFrom('data_objects')
      .select('object_digest')
      .where(this.helpers.anyOf('object_digest', bases));
    if (this.traits.rowLocks) select = select.orderBy('object_digest').forKeyShare();
    const present = new Set((await select.execute()).map((r) => r.object_digest));
    const missing = bases.filter((b) => !present.has(b));
    if (missing.length > 0) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `delta base object ${missing[0]} is not stored (it may have been removed by garbage collection)`,
      );
    }
  }

  async getChunks(digests: readonly Digest[]): Promise<ChunkRecord[]> {
    if (digests.length === 0) return [];
    const rows = await this.db
      .selectFrom('data_chunks')
      .selectAll()
      .where(this.helpers.anyOf('digest', digests))
      .execute();
    return rows.map(toChunk);
  }

  async existingChunks(digests: readonly Digest[]): Promise<Set<Digest>> {
    if (digests.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('data_chunks')
      .select('digest')
      .where(this.helpers.anyOf('digest', digests))
      .execute();
    return new Set(rows.map((r) => r.digest as Digest));
  }

  /** The chunk list is written only by the transaction whose row insert won. */
  async insertObject(object: FileObjectRecord, chunks: readonly ObjectChunk[]): Promise<void> {
    const inserted = await this.db
      .insertInto('data_objects')
      .values({
        object_digest: object.digest,
        size_bytes: object.sizeBytes,
        chunk_count: object.chunkCount,
        depth: object.depth,
        created_ms: object.createdAt,
      })
      .onConflict((oc) => oc.column('object_digest').doNothing())
      .returning('object_digest')
      .execute();
    if (inserted.length === 0) return;
    const rows: DataObjectChunksTable[] = chunks.map((c, seq) => ({
      object_digest: object.digest,
      seq,
      chunk_digest: c.digest,
      offset_bytes: c.offset,
    }));
    for (const part of chunk(rows, OBJECT_CHUNK_ROWS_PER_INSERT)) {
      await this.helpers.shapes.execute(
        this.db,
        { name: 'data_object_chunks', rows: part, flatten: flattenObjectChunkRow },
        () => this.db.insertInto('data_object_chunks').values(part),
      );
    }
  }

  async getObjects(digests: readonly Digest[]): Promise<FileObjectRecord[]> {
    if (digests.length === 0) return [];
    const rows = await this.db
      .selectFrom('data_objects')
      .selectAll()
      .where(this.helpers.anyOf('object_digest', digests))
      .execute();
    return rows.map(toObject);
  }

  async getObjectChunks(objectDigest: Digest): Promise<ObjectChunk[]> {
    const rows = await this.db
      .selectFrom('data_object_chunks as oc')
      .innerJoin('data_chunks as c', 'c.digest', 'oc.chunk_digest')
      .select(['oc.chunk_digest', 'oc.offset_bytes', 'c.size_bytes'])
      .where('oc.object_digest', '=', objectDigest)
      .orderBy('oc.seq')
      .execute();
    return rows.map((r) => ({
      digest: r.chunk_digest as Digest,
      offset: Number(r.offset_bytes),
      sizeBytes: Number(r.size_bytes),
    }));
  }

  async chunksInPack(packDigest: Digest): Promise<ChunkRecord[]> {
    const rows = await this.db
      .selectFrom('data_chunks')
      .selectAll()
      .where('pack_digest', '=', packDigest)
      .orderBy('pack_offset')
      .execute();
    return rows.map(toChunk);
  }

  async upsertProfile(profile: TableProfileRecord): Promise<void> {
    const row = toProfileRow(profile);
    const { object_digest: _key, ...update } = row;
    await this.db
      .insertInto('data_table_profiles')
      .values(row)
      .onConflict((oc) => oc.column('object_digest').doUpdateSet(update))
      .execute();
  }

  async getProfiles(objectDigests: readonly Digest[]): Promise<TableProfileRecord[]> {
    if (objectDigests.length === 0) return [];
    const rows = await this.db
      .selectFrom('data_table_profiles')
      .selectAll()
      .where(this.helpers.anyOf('object_digest', objectDigests))
      .execute();
    return rows.map(toProfile);
  }

  /** Oldest first, so a backlog is worked off in order. */
  async listProfilesByStatus(status: ProfileStatus, limit: number): Promise<TableProfileRecord[]> {
    const rows = await this.db
      .selectFrom('data_table_profiles')
      .selectAll()
      .where('status', '=', status)
      .orderBy('updated_ms')
      .orderBy('object_digest')
      .limit(limit)
      .execute();
    return rows.map(toProfile);
  }
}
