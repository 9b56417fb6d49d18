import type { BlobStore, Digest } from '../artifacts/index.js';
import type { ChunkEncoding, ChunkRecord, PackRecord } from './entities.js';

/**
 * Chunks are written in packs of about this size: a gigabyte becomes a few
 * dozen blobs (one fsync and one S3 PUT each) instead of ~16,000, while a
 * pack still fits comfortably in memory while it fills.
 */
export const PACK_TARGET_BYTES = 32 * 1024 * 1024;
const PACKS_IN_FLIGHT = 3;

/**
 * Every pack starts with these bytes. Packs share the blob store with
 * artifacts and run diffs, and an incompressible file stored raw would
 * otherwise make a pack byte-identical to the same file logged as an
 * artifact — one blob with two owners, which garbage collection of the pack
 * would take from the artifact too.
 */
export const PACK_MAGIC = Buffer.from('cairn-pack-v1\n');

export interface EncodedChunk {
  digest: Digest;
  sizeBytes: number;
  encoding: ChunkEncoding;
  baseObject: Digest | null;
  depth: number;
  payload: Uint8Array;
}

/** Called once per stored pack, before any later pack is started; the rows may now be recorded. */
export type PackStored = (pack: PackRecord, chunks: ChunkRecord[]) => Promise<void>;

/** A chunk placed in the open pack: its payload already copied into the pack's buffer. */
type PlacedChunk = Omit<EncodedChunk, 'payload'> & { packOffset: number; storedBytes: number };

/**
 * Collects encoded chunks into packs and stores each full pack as one blob.
 * Chunk rows are only handed out after their pack is durable, so no row ever
 * points at bytes that are not stored. One writer serves one request.
 *
 * Each payload is copied once, into the open pack's buffer, and the pack is
 * stored as that single buffer: one write call instead of a stream of
 * pieces, each of which waited for a turn of an event loop busy chunking.
 * The buffers are reused (see PackBuffers), so filling one touches memory
 * that is already mapped.
 */
export class PackWriter {
  readonly #blobs: BlobStore;
  readonly #now: () => number;
  readonly #onStored: PackStored;
  readonly #targetBytes: number;
  #entries: PlacedChunk[] = [];
  #buffer: Buffer | undefined;
  #bytes = 0;
  /** Digests in the open pack or already stored by this writer, so a repeat is not stored twice. */
  readonly #seen = new Map<Digest, number>();
  #storedBytes = 0;
  /** Packs being stored while the next one fills: writing overlaps chunking and encoding. */
  readonly #storing = new Set<Promise<void>>();
  #failure: unknown;

  constructor(deps: { blobs: BlobStore; now: () => number; onStored: PackStored; targetBytes?: number }) {
    this.#blobs = deps.blobs;
    this.#now = deps.now;
    this.#onStored = deps.onStored;
    this.#targetBytes = deps.targetBytes ?? PACK_TARGET_BYTES;
  }

  /** Depth of a chunk this writer holds (pending or stored), if any. */
  depthOf(digest: Digest): number | undefined {
    return this.#seen.get(digest);
  }

  /** Bytes physically stored by this writer so far (packs written). */
  get storedBytes(): number {
    return this.#storedBytes;
  }

  async add(chunk: EncodedChunk): Promise<void> {
    if (this.#seen.has(chunk.digest)) return;
    this.#seen.set(chunk.digest, chunk.depth);
    const { payload, ...rest } = chunk;
    const buffer = this.#room(payload.length);
    buffer.set(payload, this.#bytes);
    this.#entries.push({ ...rest, packOffset: this.#bytes, storedBytes: payload.length });
    this.#bytes += payload.length;
    if (this.#bytes >= this.#targetBytes) await this.#seal();
  }

  /** Stores the open pack, if it holds anything, and waits for every pack to be stored. */
  async flush(): Promise<void> {
    await this.#seal();
    await Promise.all(this.#storing);
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** The open pack's buffer, grown when a payload would not fit (a small target, or a huge chunk). */
  #room(extra: number): Buffer {
    const needed = this.#bytes + extra;
    if (this.#buffer === undefined) {
      this.#buffer = packBuffers.take(Math.max(needed, this.#targetBytes + PACK_SLACK_BYTES));
      PACK_MAGIC.copy(this.#buffer, 0);
      this.#bytes = PACK_MAGIC.length;
      return this.#room(extra);
    }
    if (needed > this.#buffer.length) {
      const grown = packBuffers.take(needed * 2);
      this.#buffer.copy(grown, 0, 0, this.#bytes);
      packBuffers.give(this.#buffer);
      this.#buffer = grown;
    }
    return this.#buffer;
  }

  /**
   * Starts storing the open pack, waiting first while `PACKS_IN_FLIGHT` are
   * being stored: a store spends much of its time waiting on the disk, so a
   * few at once keep the add moving, and memory stays bounded by that many packs.
   */
  async #seal(): Promise<void> {
    if (this.#entries.length === 0 || this.#buffer === undefined) return;
    const entries = this.#entries;
    const buffer = this.#buffer;
    const bytes = buffer.subarray(0, this.#bytes);
    this.#entries = [];
    this.#buffer = undefined;
    this.#bytes = 0;
    while (this.#storing.size >= PACKS_IN_FLIGHT) await Promise.race(this.#storing);
    if (this.#failure !== undefined) {
      packBuffers.give(buffer);
      throw this.#failure;
    }
    const storing: Promise<void> = this.#store(entries, bytes)
      .then(
        () => undefined,
        (error: unknown) => {
          this.#failure ??= error;
        },
      )
      .finally(() => {
        this.#storing.delete(storing);
        packBuffers.give(buffer);
      });
    this.#storing.add(storing);
  }

  async #store(entries: PlacedChunk[], bytes: Buffer): Promise<void> {
    const stored = await this.#blobs.put(single(bytes));
    const at = this.#now();
    const pack: PackRecord = { digest: stored.digest, sizeBytes: stored.sizeBytes, createdAt: at };
    const rows: ChunkRecord[] = entries.map((e) => ({
      digest: e.digest,
      sizeBytes: e.sizeBytes,
      packDigest: stored.digest,
      packOffset: e.packOffset,
      storedBytes: e.storedBytes,
      encoding: e.encoding,
      baseObject: e.baseObject,
      depth: e.depth,
      createdAt: at,
    }));
    if (stored.created) this.#storedBytes += stored.sizeBytes;
    await this.#onStored(pack, rows);
    // An identical pack (the same chunks, stored again after garbage collection emptied the first
    // copy) may have been collected between our put and our rows: once the rows are in, the pack
    // is safe from collection, so making sure of the bytes now closes that gap.
    if (!(await this.#blobs.has(stored.digest))) await this.#blobs.put(single(bytes));
  }
}

/** Room past the target: the chunk that crosses it still fits (chunks are at most 256 KiB plain). */
const PACK_SLACK_BYTES = 1024 * 1024;

/**
 * Pack buffers kept for reuse across writers. A fresh 33 MiB buffer is
 * mapped page by page as it is first filled, which cost as much as the copy
 * itself; a few kept buffers make that a one-time cost. Beyond `keep`,
 * returned buffers are left to the collector, so memory stays bounded.
 */
class PackBufferPool {
  readonly #idle: Buffer[] = [];
  constructor(private readonly keep: number) {}

  take(size: number): Buffer {
    const index = this.#idle.findIndex((b) => b.length >= size);
    if (index >= 0) return this.#idle.splice(index, 1)[0]!;
    // allocUnsafeSlow: the buffer owns its memory, never a slice of Node's shared pool.
    return Buffer.allocUnsafeSlow(size);
  }

  give(buffer: Buffer): void {
    if (this.#idle.length < this.keep) this.#idle.push(buffer);
  }
}

const packBuffers = new PackBufferPool(PACKS_IN_FLIGHT + 1);

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
