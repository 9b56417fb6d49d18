import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { CairnError } from '@cairn/contract';
import { DIGEST_PATTERN, type Digest } from '../../modules/artifacts/blob.store.js';

/** Read/write granularity for blob I/O: large enough that per-chunk overhead vanishes next to disk and network. */
export const BLOB_IO_CHUNK_BYTES = 1024 * 1024;

/**
 * Rejects anything that is not `sha256:<64 lowercase hex>` before it reaches a
 * path or an object key, so `sha256:../../etc` can never name a file.
 */
export function assertDigest(value: unknown, field = 'digest'): asserts value is Digest {
  if (typeof value === 'string' && DIGEST_PATTERN.test(value)) return;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new CairnError('INVALID_ARGUMENT', `${field} must be sha256:<64 lowercase hex>, got ${shown}`, {
    field,
  });
}

export function assertRange(range: { offset: number; length: number }): void {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (ok(range.offset) && ok(range.length)) return;
  throw new CairnError('INVALID_ARGUMENT', `a blob range needs whole, non-negative offset and length`);
}

/** A stored blob shorter than a range its index points into has lost bytes. */
export function shortRange(digest: Digest, range: { offset: number; length: number }): CairnError {
  return new CairnError(
    'DATA_LOSS',
    `blob ${digest} ends before bytes ${range.offset}–${range.offset + range.length} it should hold`,
  );
}

/** The 64 hex characters of a validated digest. */
export const hexOf = (digest: Digest): string => digest.slice('sha256:'.length);

export function digestMismatch(expected: Digest, actual: Digest): CairnError {
  return new CairnError('INVALID_ARGUMENT', `expected ${expected} but the uploaded bytes hash to ${actual}`, {
    field: 'expectedDigest',
  });
}

/** Incremental sha256 + byte count; `finish` may be called once. */
export class Sha256Counter {
  readonly #hash = createHash('sha256');
  #sizeBytes = 0;

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#sizeBytes += chunk.byteLength;
  }

  finish(): { digest: Digest; sizeBytes: number } {
    return { digest: `sha256:${this.#hash.digest('hex')}`, sizeBytes: this.#sizeBytes };
  }
}

/** Passes bytes through unchanged while hashing them; `result` is set once the stream has flushed. */
export class HashingStream extends Transform {
  readonly #counter = new Sha256Counter();
  #result: { digest: Digest; sizeBytes: number } | undefined;

  constructor() {
    super({ highWaterMark: BLOB_IO_CHUNK_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#counter.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#result = this.#counter.finish();
    callback(this.check(this.#result.digest));
  }

  /** Hook for subclasses: an error here fails the stream instead of letting it end. */
  protected check(_actual: Digest): Error | null {
    return null;
  }

  get result(): { digest: Digest; sizeBytes: number } {
    if (this.#result === undefined) throw new Error('HashingStream.result read before the stream finished');
    return this.#result;
  }
}

class VerifyingStream extends HashingStream {
  readonly #expected: Digest;

  constructor(expected: Digest) {
    super();
    this.#expected = expected;
  }

  protected override check(actual: Digest): Error | null {
    if (actual === this.#expected) return null;
    return new CairnError(
      'DATA_LOSS',
      `blob ${this.#expected} is corrupted: its stored bytes hash to ${actual}`,
    );
  }
}

/**
 * Wraps a stored blob's byte stream so that a reader which drains it either
 * sees a clean end (bytes verified) or an error — DATA_LOSS on a hash mismatch,
 * or the source's own error. Destroying the returned stream destroys the source
 * (closing the file or socket).
 */
export function verifiedStream(source: Readable, expected: Digest): Readable {
  // Errors surface on the returned stream itself; the callback only keeps pipeline from throwing.
  return pipeline(source, new VerifyingStream(expected), () => {});
}
