import { sql, type Kysely } from 'kysely';
import { CairnError } from '@cairn/contract';
import type { Digest } from '../../../modules/artifacts/index.js';
import type { UploadRecord } from '../../../modules/datasets/entities.js';
import type { Database } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import { toUpload, toUploadRow, type DialectTraits } from './dataset-row-mappers.js';

// 2 parameters a row.
const PIN_ROWS_PER_INSERT = 5000;

const FOREIGN_KEY_VIOLATION = new Set(['SQLITE_CONSTRAINT_FOREIGNKEY', '23503']);

/** Adds in progress: their staged files and pinned chunks are garbage-collection roots. */
export class SqlDataUploads {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly traits: DialectTraits,
  ) {}

  async insertUpload(upload: UploadRecord): Promise<void> {
    await this.db.insertInto('data_uploads').values(toUploadRow(upload)).execute();
  }

  async getUpload(uploadId: string): Promise<UploadRecord | undefined> {
    const row = await this.db
      .selectFrom('data_uploads')
      .selectAll()
      .where('upload_id', '=', uploadId)
      .executeTakeFirst();
    return row === undefined ? undefined : toUpload(row);
  }

  async touchUpload(uploadId: string, change: { at: number; bytesNew: number }): Promise<void> {
    await this.db
      .updateTable('data_uploads')
      .set({ touched_ms: change.at, bytes_new: sql`bytes_new + ${change.bytesNew}` })
      .where('upload_id', '=', uploadId)
      .execute();
  }

  /** Children first: their foreign keys point at the upload. */
  async deleteUpload(uploadId: string): Promise<void> {
    await this.db.deleteFrom('data_upload_files').where('upload_id', '=', uploadId).execute();
    await this.db.deleteFrom('data_upload_chunks').where('upload_id', '=', uploadId).execute();
    await this.db.deleteFrom('data_uploads').where('upload_id', '=', uploadId).execute();
  }

  /** Staging a path again replaces what was staged there. */
  async stageUploadFile(
    uploadId: string,
    file: { path: string; digest: Digest; mode: number },
  ): Promise<void> {
    await this.db
      .insertInto('data_upload_files')
      .values({ upload_id: uploadId, path: file.path, object_digest: file.digest, mode: file.mode })
      .onConflict((oc) =>
        oc.columns(['upload_id', 'path']).doUpdateSet({ object_digest: file.digest, mode: file.mode }),
      )
      .execute();
  }

  async listUploadFiles(uploadId: string): Promise<Array<{ path: string; digest: Digest; mode: number }>> {
    const rows = await this.db
      .selectFrom('data_upload_files')
      .select(['path', 'object_digest', 'mode'])
      .where('upload_id', '=', uploadId)
      .orderBy(this.traits.bytewise('path'))
      .execute();
    return rows.map((r) => ({ path: r.path, digest: r.object_digest as Digest, mode: Number(r.mode) }));
  }

  /**
   * A chunk found by `existingChunks` may be collected before it is pinned;
   * the foreign key then refuses the pin, and the add must start over (its
   * transaction is spoilt on PostgreSQL anyway).
   */
  async pinUploadChunks(uploadId: string, digests: readonly Digest[]): Promise<void> {
    // Sorted, like garbage collection's deletes, so the two lock rows in one order and never deadlock.
    const unique = [...new Set(digests)].sort();
    try {
      for (const part of chunk(unique, PIN_ROWS_PER_INSERT)) {
        await this.db
          .insertInto('data_upload_chunks')
          .values(part.map((digest) => ({ upload_id: uploadId, chunk_digest: digest })))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    } catch (error) {
      throw await this.pinFailure(error, uploadId);
    }
  }

  /** PostgreSQL names the broken constraint; on SQLite (whose transaction survives the error) ask. */
  private async pinFailure(error: unknown, uploadId: string): Promise<unknown> {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !FOREIGN_KEY_VIOLATION.has(code)) return error;
    const constraint = (error as { constraint?: unknown }).constraint;
    const uploadGone =
      typeof constraint === 'string'
        ? constraint.includes('upload_id')
        : (await this.getUpload(uploadId)) === undefined;
    if (uploadGone)
      return new CairnError('NOT_FOUND', `upload ${uploadId} no longer exists`, { cause: error });
    return new CairnError(
      'FAILED_PRECONDITION',
      'a chunk this upload relies on was removed by garbage collection while the upload ran; start the add again',
      { cause: error, retryable: true },
    );
  }

  async listStaleUploads(before: number): Promise<UploadRecord[]> {
    const rows = await this.db
      .selectFrom('data_uploads')
      .selectAll()
      .where('touched_ms', '<', before)
      .orderBy('touched_ms')
      .execute();
    return rows.map(toUpload);
  }
}
