import { CairnError } from '@cairn/contract';
import type { Digest } from '../artifacts/index.js';
import type { DatasetsContext, DatasetTransactionStores } from './datasets-context.js';
import type { PackUsage } from './datasets.store.js';
import { PackWriter } from './pack-writer.js';

/** An add nobody has touched for this long is abandoned; its chunks become garbage. */
export const UPLOAD_EXPIRY_MS = 24 * 60 * 60 * 1000;
/**
 * Nothing younger than this is collected: the chunks a push imports stand
 * unreferenced until its version is created, and this covers that wait.
 */
export const DEFAULT_GRACE_SECONDS = 60 * 60;
/** A pack whose live chunks fill less than this share of it is copied down to them. */
const REWRITE_BELOW_LIVE_SHARE = 0.5;
const FIRST_BATCH = 2000;
/** A round that frees nothing while the batch was full widens the batch up to this, then gives up. */
const MAX_BATCH = 100_000;
/** Attempts of one delete transaction that lost a lock race (a deadlock victim) before giving up. */
const ATTEMPTS = 3;

export const GC_TARGET = { kind: 'dataset_store', id: 'chunks' };

export interface GcResult {
  objectsDeleted: number;
  chunksDeleted: number;
  packsDeleted: number;
  packsRewritten: number;
  bytesFreed: number;
  uploadsExpired: number;
}

/**
 * `cairn data gc`: removes file objects, chunks and packs that no version
 * and no live add can reach, never one still needed. Every delete re-checks
 * reachability inside its own transaction (the store's job), so an add or a
 * push running meanwhile either lands first and keeps what it uses, or
 * fails cleanly on the missing row and is started again.
 */
export class DataGcService {
  #running = false;

  constructor(private readonly ctx: DatasetsContext) {}

  async collect(input: { graceSeconds?: unknown } = {}): Promise<GcResult> {
    this.ctx.access.requireAdmin({ action: 'datasets.gc', target: GC_TARGET });
    const graceSeconds = checkGrace(input.graceSeconds);
    // Two collections at once would race each other's pack rewrites; one at a time is plenty.
    if (this.#running) throw new CairnError('FAILED_PRECONDITION', 'a garbage collection is already running');
    this.#running = true;
    try {
      const result: GcResult = {
        objectsDeleted: 0,
        chunksDeleted: 0,
        packsDeleted: 0,
        packsRewritten: 0,
        bytesFreed: 0,
        uploadsExpired: await this.expireUploads(),
      };
      const cutoff = this.ctx.clock.now() - graceSeconds * 1000;
      await this.deleteUnreachable(cutoff, result);
      await this.compactPacks(cutoff, result);
      await this.ctx.transactor.run(async (stores) => {
        stores.audit.record({
          action: 'datasets.gc',
          target: GC_TARGET,
          details: { graceSeconds, ...result },
        });
      });
      return result;
    } finally {
      this.#running = false;
    }
  }

  /** Drops adds untouched for a day, re-checked in the transaction so one that just woke up stays. */
  private async expireUploads(): Promise<number> {
    const before = this.ctx.clock.now() - UPLOAD_EXPIRY_MS;
    let expired = 0;
    for (const stale of await this.ctx.store.listStaleUploads(before)) {
      const gone = await this.ctx.transactor.run(async (stores) => {
        const current = await stores.datasets.getUpload(stale.uploadId);
        if (current === undefined || current.touchedAt >= before) return false;
        await stores.datasets.deleteUpload(stale.uploadId);
        return true;
      });
      if (gone) expired++;
    }
    return expired;
  }

  /**
   * Objects go before chunks (an object's chunk list holds its chunks), and
   * an object some dead delta still copies from goes in a later round, once
   * that delta is gone: rounds repeat until one frees nothing.
   */
  private async deleteUnreachable(cutoff: number, result: GcResult): Promise<void> {
    let limit = FIRST_BATCH;
    for (;;) {
      const found = await this.ctx.store.findUnreachable({ createdBefore: cutoff, limit });
      if (found.objects.length === 0 && found.chunks.length === 0) return;
      const objects = await this.inTransaction((stores) => stores.datasets.deleteObjects(found.objects));
      const chunks = await this.inTransaction((stores) => stores.datasets.deleteChunks(found.chunks));
      result.objectsDeleted += objects.length;
      result.chunksDeleted += chunks.length;
      if (objects.length + chunks.length > 0) continue;
      // Nothing in this batch could go (all still needed, or waiting on rows past the batch).
      const full = found.objects.length >= limit || found.chunks.length >= limit;
      if (!full || limit >= MAX_BATCH) return;
      limit = Math.min(limit * 4, MAX_BATCH);
    }
  }

  private async compactPacks(cutoff: number, result: GcResult): Promise<void> {
    for (const pack of await this.ctx.store.packUsage()) {
      if (pack.createdAt >= cutoff) continue;
      if (pack.liveChunks === 0) {
        if (await this.dropPack(pack.digest)) {
          result.packsDeleted++;
          result.bytesFreed += pack.sizeBytes;
        }
      } else if (pack.liveBytes < pack.sizeBytes * REWRITE_BELOW_LIVE_SHARE) {
        const freed = await this.rewritePack(pack);
        if (freed !== undefined) {
          result.packsRewritten++;
          result.bytesFreed += Math.max(0, freed);
        }
      }
    }
  }

  /**
   * The row goes first, and the blob inside the same transaction: while it
   * runs the row is locked, so no writer can record a chunk in the pack, and
   * a chunk row can only name a pack row that exists (foreign key).
   */
  private async dropPack(digest: Digest): Promise<boolean> {
    return this.inTransaction(async (stores) => {
      if (!(await stores.datasets.deletePackIfEmpty(digest))) return false;
      await this.ctx.blobs.delete(digest);
      return true;
    });
  }

  /**
   * Copies the pack's live chunks, as stored, into new packs, points each
   * chunk still in the old pack at its copy, then drops the old pack.
   * Readers holding the old location retry from the row (ChunkReader).
   * Answers the bytes freed, or undefined when the old pack had to stay.
   */
  private async rewritePack(pack: PackUsage): Promise<number | undefined> {
    const written: Array<{ digest: Digest; sizeBytes: number }> = [];
    const writer = new PackWriter({
      blobs: this.ctx.blobs,
      now: () => this.ctx.clock.now(),
      onStored: (next, rows) =>
        this.inTransaction(async (stores) => {
          await stores.datasets.insertPack(next);
          await stores.datasets.moveChunks(
            rows.map((row) => ({
              digest: row.digest,
              fromPack: pack.digest,
              toPack: next.digest,
              toOffset: row.packOffset,
            })),
          );
          written.push({ digest: next.digest, sizeBytes: next.sizeBytes });
        }),
    });
    for (const chunk of await this.ctx.store.chunksInPack(pack.digest)) {
      const payload = await this.ctx.blobs.getRange(pack.digest, {
        offset: chunk.packOffset,
        length: chunk.storedBytes,
      });
      await writer.add({
        digest: chunk.digest,
        sizeBytes: chunk.sizeBytes,
        encoding: chunk.encoding,
        baseObject: chunk.baseObject,
        depth: chunk.depth,
        payload,
      });
    }
    await writer.flush();
    let freed = -writer.storedBytes;
    // Chunks collected while the copy ran left their copies unused: such a new pack goes now.
    for (const copy of written) if (await this.dropPack(copy.digest)) freed += copy.sizeBytes;
    if (!(await this.dropPack(pack.digest))) return undefined;
    return freed + pack.sizeBytes;
  }

  /** A delete transaction that lost a lock race to a writer is tried again. */
  private async inTransaction<T>(work: (stores: DatasetTransactionStores) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ctx.transactor.run(work);
      } catch (error) {
        if (attempt >= ATTEMPTS || !(error instanceof CairnError) || !error.retryable) throw error;
      }
    }
  }
}

function checkGrace(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_GRACE_SECONDS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new CairnError('INVALID_ARGUMENT', 'graceSeconds must be a number ≥ 0', { field: 'graceSeconds' });
  }
  return value;
}
