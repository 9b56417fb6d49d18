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

/**
 * Collects encoded chunks into packs and stores each full pack as one blob.
 * Chunk rows are only handed out after their pack is durable, so no row ever
 * points at bytes that are not stored. One writer serves one request.
 */
export class PackWriter {
  readonly #blobs: BlobStore;
  readonly #now: () => number;
  readonly #onStored: PackStored;
  readonly #targetBytes: number;
  #entries: EncodedChunk[] = [];
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
    this.#entries.push(chunk);
    this.#bytes += chunk.payload.length;
    if (this.#bytes >= this.#targetBytes) await this.#seal();
  }

  /** Stores the open pack, if it holds anything, and waits for every pack to be stored. */
  async flush(): Promise<void> {
    await this.#seal();
    await Promise.all(this.#storing);
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * Starts storing the open pack, waiting first while `PACKS_IN_FLIGHT` are
   * being stored: a store spends much of its time waiting on the disk, so a
   * few at once keep the add moving, and memory stays bounded by that many packs.
   */
  async #seal(): Promise<void> {
    if (this.#entries.length === 0) return;
    const entries = this.#entries;
    this.#entries = [];
    this.#bytes = 0;
    while (this.#storing.size >= PACKS_IN_FLIGHT) await Promise.race(this.#storing);
    if (this.#failure !== undefined) throw this.#failure;
    const storing: Promise<void> = this.#store(entries).then(
      () => {
        this.#storing.delete(storing);
      },
      (error: unknown) => {
        this.#failure ??= error;
        this.#storing.delete(storing);
      },
    );
    this.#storing.add(storing);
  }

  async #store(entries: EncodedChunk[]): Promise<void> {
    const stored = await this.#blobs.put(payloads(entries));
    const at = this.#now();
    const pack: PackRecord = { digest: stored.digest, sizeBytes: stored.sizeBytes, createdAt: at };
    let offset = PACK_MAGIC.length;
    const rows: ChunkRecord[] = entries.map((e) => {
      const row: ChunkRecord = {
        digest: e.digest,
        sizeBytes: e.sizeBytes,
        packDigest: stored.digest,
        packOffset: offset,
        storedBytes: e.payload.length,
        encoding: e.encoding,
        baseObject: e.baseObject,
        depth: e.depth,
        createdAt: at,
      };
      offset += e.payload.length;
      return row;
    });
    if (stored.created) this.#storedBytes += stored.sizeBytes;
    await this.#onStored(pack, rows);
    // An identical pack (the same chunks, stored again after garbage collection emptied the first
    // copy) may have been collected between our put and our rows: once the rows are in, the pack
    // is safe from collection, so making sure of the bytes now closes that gap.
    if (!(await this.#blobs.has(stored.digest))) await this.#blobs.put(payloads(entries));
  }
}

/**
 * A pack's bytes in pieces of a few MiB: the store's write pipeline takes a
 * turn of the event loop per piece, and while an add is busy chunking each
 * turn is precious — 64 KiB pieces made storing a pack several times slower.
 */
const PACK_PIECE_BYTES = 4 * 1024 * 1024;

async function* payloads(entries: readonly EncodedChunk[]): AsyncIterable<Uint8Array> {
  let group: Uint8Array[] = [PACK_MAGIC];
  let size = PACK_MAGIC.length;
  for (const entry of entries) {
    group.push(entry.payload);
    size += entry.payload.length;
    if (size >= PACK_PIECE_BYTES) {
      yield Buffer.concat(group, size);
      group = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(group, size);
}
