import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { CairnError } from '@cairn/contract';
import {
  isDigest,
  type BlobInfo,
  type BlobStore,
  type Digest,
  type PutResult,
} from '../../modules/artifacts/blob.store.js';
import {
  assertDigest,
  assertRange,
  digestMismatch,
  hexOf,
  Sha256Counter,
  shortRange,
  verifiedStream,
} from './verifying-stream.js';

export interface S3ConnectionOptions {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Omitted: the AWS SDK's default chain (env, profile, instance role…). */
  credentials?: S3ClientConfig['credentials'];
}

export interface S3BlobStoreOptions extends S3ConnectionOptions {
  bucket: string;
  /** Key prefix without leading/trailing slashes; '' for the bucket root. */
  prefix: string;
  /** Upload part size (S3 minimum 5 MiB); the only bytes held in memory per put. */
  partSizeBytes?: number;
}

const MiB = 1024 * 1024;
const DEFAULT_PART_BYTES = 8 * MiB;
const MIN_PART_BYTES = 5 * MiB;
const MAX_PARTS = 10_000;
/** Parts uploaded at one size before it doubles: 8 MiB parts alone would cap a blob at ~78 GiB. */
const PARTS_PER_SIZE_STEP = 1_000;
/** CopyObject refuses sources larger than this; beyond it copies go part by part. */
const COPY_OBJECT_MAX_BYTES = 5 * 1024 * MiB;
const COPY_PART_BYTES = 512 * MiB;
const COPY_CONCURRENCY = 4;

/**
 * Blobs in an S3-compatible bucket: `<prefix>/sha256/ab/<hex>`. Large uploads
 * land under `<prefix>/tmp/<uuid>` first and are copied under their digest only
 * once verified, so a digest key always holds complete, matching bytes.
 * Consider a lifecycle rule expiring `<prefix>/tmp/` and incomplete multipart
 * uploads after a day: that is what collects the leftovers of crashed processes.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  /** '' or 'some/prefix/' — ready to prepend. */
  readonly #keyPrefix: string;
  readonly #partBytes: number;

  constructor(options: S3BlobStoreOptions) {
    if (options.bucket === '') throw new CairnError('INVALID_ARGUMENT', 'S3 blob store needs a bucket name');
    const prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    this.#bucket = options.bucket;
    this.#keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.#partBytes = Math.max(MIN_PART_BYTES, options.partSizeBytes ?? DEFAULT_PART_BYTES);
    this.location = `s3://${options.bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.#client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      // We verify sha256 ourselves; the SDK's default extra CRC checksums are rejected by several
      // S3-compatible stores (older MinIO, R2, GCS interop), so only send them where S3 requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** `s3://bucket/optional/prefix` plus connection settings. */
  static fromUrl(url: string, options: S3ConnectionOptions): S3BlobStore {
    const match = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/.exec(url);
    const bucket = match?.[1];
    if (match === null || bucket === undefined) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `S3 blob URL must look like s3://bucket/prefix, got ${JSON.stringify(url)}`,
      );
    }
    return new S3BlobStore({ ...options, bucket, prefix: match[2] ?? '' });
  }

  async put(
    source: Readable | AsyncIterable<Uint8Array>,
    options: { expectedDigest?: Digest } = {},
  ): Promise<PutResult> {
    const expected = options.expectedDigest;
    if (expected !== undefined) assertDigest(expected, 'expectedDigest');
    const upload = new TempUpload(this.#client, {
      bucket: this.#bucket,
      key: `${this.#keyPrefix}tmp/${randomUUID()}`,
      basePartBytes: this.#partBytes,
    });
    try {
      const { digest, sizeBytes } = await upload.consume(source);
      if (expected !== undefined && digest !== expected) throw digestMismatch(expected, digest);
      const key = this.#keyOf(digest);
      if (await this.#exists(key)) return { digest, sizeBytes, created: false };
      if (upload.isMultipart) {
        await upload.complete();
        await this.#copy(upload.key, key, sizeBytes);
      } else {
        // Small blob, already in memory and verified: a single PutObject is atomic, so write it in place.
        await this.#client.send(
          new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: upload.bytes() }),
        );
      }
      return { digest, sizeBytes, created: true };
    } finally {
      await upload.discard();
    }
  }

  async get(digest: Digest): Promise<Readable> {
    assertDigest(digest);
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#keyOf(digest) }),
      );
      if (!(response.Body instanceof Readable))
        throw new Error(`GetObject for ${digest} returned no Node stream`);
      return verifiedStream(response.Body, digest);
    } catch (error) {
      if (isMissing(error)) throw new CairnError('NOT_FOUND', `blob ${digest} not found in ${this.location}`);
      throw error;
    }
  }

  async getRange(digest: Digest, range: { offset: number; length: number }): Promise<Buffer> {
    assertDigest(digest);
    assertRange(range);
    if (range.length === 0) return Buffer.alloc(0);
    try {
      const response = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#keyOf(digest),
          Range: `bytes=${range.offset}-${range.offset + range.length - 1}`,
        }),
      );
      const bytes = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
      if (bytes.length !== range.length) throw shortRange(digest, range);
      return bytes;
    } catch (error) {
      if (isMissing(error)) throw new CairnError('NOT_FOUND', `blob ${digest} not found in ${this.location}`);
      if ((error as { name?: unknown } | null)?.name === 'InvalidRange') throw shortRange(digest, range);
      throw error;
    }
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    assertDigest(digest);
    const size = await this.#sizeOf(this.#keyOf(digest));
    return size === undefined ? undefined : { digest, sizeBytes: size };
  }

  async delete(digest: Digest): Promise<boolean> {
    assertDigest(digest);
    const key = this.#keyOf(digest);
    // DeleteObject succeeds on absent keys, so ask first to report whether anything was there.
    if (!(await this.#exists(key))) return false;
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    return true;
  }

  async *list(): AsyncIterable<Digest> {
    const prefix = `${this.#keyPrefix}sha256/`;
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const { Key } of page.Contents ?? []) {
        const digest: Digest = `sha256:${Key?.slice(Key.lastIndexOf('/') + 1) ?? ''}`;
        if (Key !== undefined && isDigest(digest) && Key === this.#keyOf(digest)) yield digest;
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  #keyOf(digest: Digest): string {
    const hex = hexOf(digest);
    return `${this.#keyPrefix}sha256/${hex.slice(0, 2)}/${hex}`;
  }

  async #exists(key: string): Promise<boolean> {
    return (await this.#sizeOf(key)) !== undefined;
  }

  async #sizeOf(key: string): Promise<number | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async #copy(from: string, to: string, sizeBytes: number): Promise<void> {
    const CopySource = `${this.#bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (sizeBytes <= COPY_OBJECT_MAX_BYTES) {
      await this.#client.send(new CopyObjectCommand({ Bucket: this.#bucket, Key: to, CopySource }));
      return;
    }
    const target = { Bucket: this.#bucket, Key: to };
    const { UploadId } = await this.#client.send(new CreateMultipartUploadCommand(target));
    if (UploadId === undefined) throw new Error(`CreateMultipartUpload for ${to} returned no UploadId`);
    const partBytes = Math.max(COPY_PART_BYTES, Math.ceil(sizeBytes / MAX_PARTS));
    const partCount = Math.ceil(sizeBytes / partBytes);
    const parts: CompletedPart[] = [];
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < partCount) {
        const index = next++;
        const start = index * partBytes;
        const end = Math.min(start + partBytes, sizeBytes) - 1;
        const PartNumber = index + 1;
        const { CopyPartResult } = await this.#client.send(
          new UploadPartCopyCommand({
            ...target,
            UploadId,
            PartNumber,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts[index] = { PartNumber, ETag: CopyPartResult?.ETag };
      }
    };
    try {
      await Promise.all(
        Array.from({ length: Math.min(COPY_CONCURRENCY, partCount) }, () =>
          worker().catch((error: unknown) => {
            failed = true;
            throw error;
          }),
        ),
      );
      await this.#client.send(
        new CompleteMultipartUploadCommand({ ...target, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (error) {
      await this.#client
        .send(new AbortMultipartUploadCommand({ ...target, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Streams a source into a temporary key, holding at most one part in memory.
 * Until a second part is needed nothing is sent, so small blobs cost a single
 * PutObject done by the caller.
 */
class TempUpload {
  readonly key: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #basePartBytes: number;
  #buffer: Buffer | undefined;
  #filled = 0;
  #uploadId: string | undefined;
  readonly #parts: CompletedPart[] = [];
  #completed = false;

  constructor(client: S3Client, target: { bucket: string; key: string; basePartBytes: number }) {
    this.#client = client;
    this.#bucket = target.bucket;
    this.key = target.key;
    this.#basePartBytes = target.basePartBytes;
  }

  get isMultipart(): boolean {
    return this.#uploadId !== undefined;
  }

  /** The whole blob, when it fit in one part. */
  bytes(): Buffer {
    return this.#buffer?.subarray(0, this.#filled) ?? Buffer.alloc(0);
  }

  async consume(
    source: Readable | AsyncIterable<Uint8Array>,
  ): Promise<{ digest: Digest; sizeBytes: number }> {
    const counter = new Sha256Counter();
    for await (const raw of source as AsyncIterable<Uint8Array | string>) {
      let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      counter.update(chunk);
      while (chunk.byteLength > 0) {
        // Flush lazily, only once more bytes arrive, so an input of exactly one part stays a single PutObject.
        if (this.#buffer === undefined || this.#filled === this.#buffer.length) await this.#nextPart();
        const buffer = this.#buffer as Buffer;
        const take = Math.min(chunk.byteLength, buffer.length - this.#filled);
        buffer.set(chunk.subarray(0, take), this.#filled);
        this.#filled += take;
        chunk = chunk.subarray(take);
      }
    }
    return counter.finish();
  }

  async complete(): Promise<void> {
    await this.#uploadPart();
    await this.#client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.#bucket,
        Key: this.key,
        UploadId: this.#uploadId,
        MultipartUpload: { Parts: this.#parts },
      }),
    );
    this.#completed = true;
  }

  /** Best effort: leftovers are invisible under digests and expire by lifecycle rule. */
  async discard(): Promise<void> {
    this.#buffer = undefined;
    const target = { Bucket: this.#bucket, Key: this.key };
    if (this.#completed) {
      await this.#client.send(new DeleteObjectCommand(target)).catch(() => undefined);
    } else if (this.#uploadId !== undefined) {
      await this.#client
        .send(new AbortMultipartUploadCommand({ ...target, UploadId: this.#uploadId }))
        .catch(() => undefined);
    }
  }

  async #nextPart(): Promise<void> {
    if (this.#buffer !== undefined) await this.#uploadPart();
    const size = this.#basePartBytes * 2 ** Math.floor(this.#parts.length / PARTS_PER_SIZE_STEP);
    // The buffer is reused: once UploadPart has resolved the SDK no longer reads it.
    if (this.#buffer?.length !== size) this.#buffer = Buffer.allocUnsafe(size);
    this.#filled = 0;
  }

  async #uploadPart(): Promise<void> {
    if (this.#uploadId === undefined) {
      const created = await this.#client.send(
        new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: this.key }),
      );
      if (created.UploadId === undefined)
        throw new Error(`CreateMultipartUpload for ${this.key} returned no UploadId`);
      this.#uploadId = created.UploadId;
    }
    const PartNumber = this.#parts.length + 1;
    const { ETag } = await this.#client.send(
      new UploadPartCommand({
        Bucket: this.#bucket,
        Key: this.key,
        UploadId: this.#uploadId,
        PartNumber,
        Body: this.bytes(),
      }),
    );
    this.#parts.push({ PartNumber, ETag });
  }
}

/** 404 for the object — but a missing bucket is a configuration error, not an absent blob. */
function isMissing(error: unknown): boolean {
  const { name, $metadata } = (error ?? {}) as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}
