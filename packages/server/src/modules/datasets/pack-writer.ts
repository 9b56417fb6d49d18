import type { BlobStore, Digest } from '../artifacts/index.js';
import type { ChunkEncoding, ChunkRecord, PackRecord } from './entities.js';

/**
 * Chunks are written in packs of about this size: a gigabyte becomes a few
 * dozen blobs (one fsync and one S3 PUT each) instead of ~16,000, while a
 * pack still fits comfortably in memory while it fills.
 */
export const PACK_TARGET_BYTES = 32 * 1024 * 1024;

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
  /** The pack being stored while the next one fills: writing overlaps encoding. */
  #storing: Promise<void> = Promise.resolve();

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
    await this.#storing;
  }

  /**
   * Starts storing the open pack once the previous one is stored: at most one
   * pack is being written while the next fills, which bounds memory to two packs.
   */
  async #seal(): Promise<void> {
    if (this.#entries.length === 0) return;
    const entries = this.#entries;
    this.#entries = [];
    this.#bytes = 0;
    await this.#storing;
    this.#storing = this.#store(entries);
    // A failure surfaces from the next seal or flush; mark it handled meanwhile.
    this.#storing.catch(() => undefined);
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

async function* payloads(entries: readonly EncodedChunk[]): AsyncIterable<Uint8Array> {
  yield PACK_MAGIC;
  for (const entry of entries) yield entry.payload;
}
