import type { Readable } from 'node:stream';

/** `sha256:<64 lowercase hex>` — the only way Cairn names stored bytes. */
export type Digest = `sha256:${string}`;

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): value is Digest {
  return DIGEST_PATTERN.test(value);
}

export interface PutResult {
  digest: Digest;
  sizeBytes: number;
  /** False when the store already held these bytes (nothing new was written). */
  created: boolean;
}

export interface BlobInfo {
  digest: Digest;
  sizeBytes: number;
}

/**
 * The content-addressed blob store port. Implementations stream (memory stays
 * bounded whatever the size), write atomically (no half-blob is ever visible
 * under a digest), and verify on read: `get` streams the bytes and fails the
 * stream with a `BlobCorruptedError` instead of ending normally when the bytes
 * do not hash to the digest.
 */
export interface BlobStore {
  /** Stores the stream's bytes; when `expectedDigest` is given and differs, nothing is kept and it throws. */
  put(
    source: Readable | AsyncIterable<Uint8Array>,
    options?: { expectedDigest?: Digest },
  ): Promise<PutResult>;
  /** Streams the bytes, verified; throws NOT_FOUND when absent. */
  get(digest: Digest): Promise<Readable>;
  /**
   * `length` bytes from `offset`, unverified: a range cannot be checked against
   * the whole blob's digest, so callers that read ranges (dataset packs) verify
   * what they decode. Throws NOT_FOUND when absent, OUT_OF_RANGE-style
   * DATA_LOSS when the blob is shorter than the range.
   */
  getRange(digest: Digest, range: { offset: number; length: number }): Promise<Buffer>;
  has(digest: Digest): Promise<boolean>;
  /** Size without reading; undefined when absent. */
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /** Removes the blob; false when it was absent. */
  delete(digest: Digest): Promise<boolean>;
  /** Every stored digest (for garbage collection and audits). */
  list(): AsyncIterable<Digest>;
  /** Human-readable location, for logs and `--help`. */
  readonly location: string;
}
