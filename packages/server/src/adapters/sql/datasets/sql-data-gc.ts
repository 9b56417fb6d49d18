import { sql, type Kysely } from 'kysely';
import type { Digest } from '../../../modules/artifacts/index.js';
import type { ChunkMove, PackUsage, Unreachable } from '../../../modules/datasets/datasets.store.js';
import type { SqlHelpers } from '../database.js';
import type { Database } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import type { DialectTraits } from './dataset-row-mappers.js';

// 4 parameters a row.
const MOVES_PER_UPDATE = 2000;

/**
 * Everything still needed, in one statement so both lists come from one
 * snapshot. An object is live when a version or a staged file names it, or
 * when a live (or pinned) chunk is a delta copying from it — followed
 * recursively, so a base reachable only through another object's delta
 * stays. UNION (not UNION ALL) ends the walk on objects already seen. Live
 * chunks are those of live objects, and pinned ones.
 */
function unreachableSql(options: { createdBefore: number; limit: number }) {
  const { createdBefore, limit } = options;
  return sql<{ kind: 'object' | 'chunk'; digest: string }>`
    with recursive live_objects(digest) as (
      select object_digest from dataset_version_files
      union
      select object_digest from data_upload_files
      union
      select c.base_object
      from data_upload_chunks p
      join data_chunks c on c.digest = p.chunk_digest
      where c.base_object is not null
      union
      select c.base_object
      from live_objects l
      join data_object_chunks oc on oc.object_digest = l.digest
      join data_chunks c on c.digest = oc.chunk_digest
      where c.base_object is not null
    ),
    live_chunks(digest) as (
      select oc.chunk_digest
      from live_objects l
      join data_object_chunks oc on oc.object_digest = l.digest
      union
      select chunk_digest from data_upload_chunks
    )
    select 'object' as kind, digest from (
      select o.object_digest as digest
      from data_objects o
      where o.created_ms < ${createdBefore}
        and not exists (select 1 from live_objects l where l.digest = o.object_digest)
      order by o.created_ms, o.object_digest
      limit ${limit}
    ) as dead_objects
    union all
    select 'chunk' as kind, digest from (
      select c.digest
      from data_chunks c
      where c.created_ms < ${createdBefore}
        and not exists (select 1 from live_chunks l where l.digest = c.digest)
      order by c.created_ms, c.digest
      limit ${limit}
    ) as dead_chunks`;
}

/**
 * Garbage collection's reads and deletes, and pack rewriting. Deletes never
 * trust the list they are given: each re-checks, inside its transaction,
 * that nothing refers to a row any more. On PostgreSQL the rows are locked
 * first (FOR UPDATE), so a transaction about to refer to one (a foreign key
 * share-locks its target) either finishes first and is seen by the
 * re-check, or waits and then fails on the missing row.
 */
export class SqlDataGc {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly helpers: SqlHelpers,
    private readonly traits: DialectTraits,
  ) {}

  async findUnreachable(options: { createdBefore: number; limit: number }): Promise<Unreachable> {
    const { beforeWalk } = this.traits;
    const walk = async (db: Kysely<Database>) => {
      if (beforeWalk !== undefined) await beforeWalk.execute(db);
      return (await unreachableSql(options).execute(db)).rows;
    };
    // The setting lasts for a transaction; outside one, open one just for the walk.
    const rows =
      beforeWalk !== undefined && !this.db.isTransaction
        ? await this.db.transaction().execute(walk)
        : await walk(this.db);
    const result: Unreachable = { objects: [], chunks: [] };
    for (const row of rows)
      (row.kind === 'object' ? result.objects : result.chunks).push(row.digest as Digest);
    return result;
  }

  /**
   * Conservative about delta bases: an object that any chunk copies from is
   * kept, even when that chunk is itself garbage; it goes in a later round,
   * once the chunk is gone.
   */
  async deleteObjects(digests: readonly Digest[]): Promise<Digest[]> {
    const wanted = [...new Set(digests)].sort();
    if (wanted.length === 0) return [];
    if (this.traits.rowLocks) {
      await this.db
        .selectFrom('data_objects')
        .select('object_digest')
        .where(this.helpers.anyOf('object_digest', wanted))
        .orderBy('object_digest')
        .forUpdate()
        .execute();
    }
    const doomed = (
      await this.db
        .selectFrom('data_objects as o')
        .select('o.object_digest')
        .where(this.helpers.anyOf('o.object_digest', wanted))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('dataset_version_files as f')
                .select(sql`1`.as('one'))
                .whereRef('f.object_digest', '=', 'o.object_digest'),
            ),
          ),
        )
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('data_upload_files as u')
                .select(sql`1`.as('one'))
                .whereRef('u.object_digest', '=', 'o.object_digest'),
            ),
          ),
        )
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('data_chunks as c')
                .select(sql`1`.as('one'))
                .whereRef('c.base_object', '=', 'o.object_digest'),
            ),
          ),
        )
        .execute()
    ).map((r) => r.object_digest);
    if (doomed.length === 0) return [];
    // Children first: their foreign keys point at the object.
    await this.db
      .deleteFrom('data_object_chunks')
      .where(this.helpers.anyOf('object_digest', doomed))
      .execute();
    await this.db
      .deleteFrom('data_table_profiles')
      .where(this.helpers.anyOf('object_digest', doomed))
      .execute();
    const deleted = await this.db
      .deleteFrom('data_objects')
      .where(this.helpers.anyOf('object_digest', doomed))
      .returning('object_digest')
      .execute();
    return deleted.map((r) => r.object_digest as Digest);
  }

  /** Bases are objects, so a chunk is free once no object lists it and no upload pins it. */
  async deleteChunks(digests: readonly Digest[]): Promise<Digest[]> {
    const wanted = [...new Set(digests)].sort();
    if (wanted.length === 0) return [];
    if (this.traits.rowLocks) {
      await this.db
        .selectFrom('data_chunks')
        .select('digest')
        .where(this.helpers.anyOf('digest', wanted))
        .orderBy('digest')
        .forUpdate()
        .execute();
    }
    const deleted = await this.db
      .deleteFrom('data_chunks')
      .where(this.helpers.anyOf('digest', wanted))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('data_object_chunks as oc')
              .select(sql`1`.as('one'))
              .whereRef('oc.chunk_digest', '=', 'data_chunks.digest'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('data_upload_chunks as p')
              .select(sql`1`.as('one'))
              .whereRef('p.chunk_digest', '=', 'data_chunks.digest'),
          ),
        ),
      )
      .returning('digest')
      .execute();
    return deleted.map((r) => r.digest as Digest);
  }

  async packUsage(): Promise<PackUsage[]> {
    const rows = await this.db
      .selectFrom('data_packs as p')
      .leftJoin('data_chunks as c', 'c.pack_digest', 'p.pack_digest')
      .select((eb) => [
        'p.pack_digest',
        'p.size_bytes',
        'p.created_ms',
        eb.fn.count<number>('c.digest').as('live_chunks'),
        eb.fn.coalesce(eb.fn.sum<number>('c.stored_bytes'), sql<number>`0`).as('live_bytes'),
      ])
      .groupBy(['p.pack_digest', 'p.size_bytes', 'p.created_ms'])
      .orderBy('p.created_ms')
      .orderBy('p.pack_digest')
      .execute();
    return rows.map((r) => ({
      digest: r.pack_digest as Digest,
      sizeBytes: Number(r.size_bytes),
      createdAt: Number(r.created_ms),
      liveChunks: Number(r.live_chunks),
      liveBytes: Number(r.live_bytes),
    }));
  }

  /**
   * One UPDATE … FROM (VALUES …) per batch (SQLite ≥ 3.33 and PostgreSQL both
   * read it; VALUES columns are column1… on both). The casts give PostgreSQL
   * the column types, which it cannot infer from bare parameters.
   */
  async moveChunks(moves: readonly ChunkMove[]): Promise<void> {
    for (const part of chunk(moves, MOVES_PER_UPDATE)) {
      const values = sql.join(
        part.map(
          (m) =>
            sql`(cast(${m.digest} as text), cast(${m.fromPack} as text), cast(${m.toPack} as text), cast(${m.toOffset} as bigint))`,
        ),
      );
      await sql`
        update data_chunks
        set pack_digest = m.column3, pack_offset = m.column4
        from (values ${values}) as m
        where data_chunks.digest = m.column1 and data_chunks.pack_digest = m.column2`.execute(this.db);
    }
  }

  async deletePackIfEmpty(packDigest: Digest): Promise<boolean> {
    if (this.traits.rowLocks) {
      await this.db
        .selectFrom('data_packs')
        .select('pack_digest')
        .where('pack_digest', '=', packDigest)
        .forUpdate()
        .execute();
    }
    const result = await this.db
      .deleteFrom('data_packs')
      .where('pack_digest', '=', packDigest)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('data_chunks as c')
              .select(sql`1`.as('one'))
              .whereRef('c.pack_digest', '=', 'data_packs.pack_digest'),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
