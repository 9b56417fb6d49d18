import { createHash } from 'node:crypto';
import { CairnError, DATASET_LIMITS, frameHead } from '@cairn/contract';
import { isDigest, type Digest } from '../artifacts/index.js';
import {
  authorizedDataset,
  checkFilePath,
  resolveVersion,
  type DatasetsContext,
} from './datasets-context.js';
import type { DatasetVersionRecord, VersionFile } from './entities.js';
import { readAhead } from './read-ahead.js';

/** Chunks decoded ahead of the one being sent, so reading overlaps sending. */
const READ_AHEAD = 8;

/**
 * The read side of datasets: a file's bytes, and chunks by digest for
 * checkout (decoded) and push/pull (as stored). Every byte leaves verified.
 */
export class DatasetReadService {
  constructor(private readonly ctx: DatasetsContext) {}

  /** A file of a version, streamed; the stream fails (never ends cleanly) on a corrupt chunk. */
  async openContent(input: {
    name: unknown;
    ref: unknown;
    path: unknown;
  }): Promise<{ version: DatasetVersionRecord; file: VersionFile; body: AsyncIterable<Buffer> }> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'read',
      action: 'datasets.files.read',
    });
    const version = await resolveVersion({ store: this.ctx.store, dataset }, input.ref);
    const path = checkFilePath(input.path);
    const file = await this.ctx.store.getVersionFile(version.versionId, path);
    if (file === undefined) {
      throw new CairnError('NOT_FOUND', `${dataset.name}@${version.version} has no file ${path}`, {
        field: 'path',
      });
    }
    // The first chunk is read before answering, so a damaged start is a proper error, not a cut-off stream.
    const bytes = this.fileBytes(file)[Symbol.asyncIterator]();
    const first = await bytes.next();
    async function* body(): AsyncIterable<Buffer> {
      if (first.done === true) return;
      yield first.value;
      for (let next = await bytes.next(); next.done !== true; next = await bytes.next()) yield next.value;
    }
    return { version, file, body: body() };
  }

  private async *fileBytes(file: VersionFile): AsyncIterable<Buffer> {
    const chunks = await this.ctx.reader.objectChunks(file.digest);
    await this.ctx.reader.prefetchRows(chunks.map((c) => c.digest));
    const hash = createHash('sha256');
    for await (const bytes of readAhead(
      chunks.map((c) => c.digest),
      (d) => this.ctx.reader.read(d),
      READ_AHEAD,
    )) {
      hash.update(bytes);
      yield bytes;
    }
    if (`sha256:${hash.digest('hex')}` !== file.digest) {
      throw new CairnError(
        'DATA_LOSS',
        `${file.path}: its chunks do not add up to the file's digest ${file.digest}`,
      );
    }
  }

  /**
   * Frames of decoded, verified chunks, in the order asked. A chunk that
   * fails verification becomes an error frame naming it, and the rest still
   * come, so the client can say exactly what is damaged.
   */
  async readChunks(input: { name: unknown; digests: unknown }): Promise<AsyncIterable<Uint8Array>> {
    const digests = await this.checkedDigests(input, 'datasets.chunks.read');
    return this.frames(digests, async (digest) => {
      const bytes = await this.ctx.reader.read(digest);
      return { header: { kind: 'chunk', digest, length: bytes.length, size: bytes.length }, payload: bytes };
    });
  }

  /** Frames of chunks as stored (encoding, delta base and depth in the header), for push and pull. */
  async exportChunks(input: { name: unknown; digests: unknown }): Promise<AsyncIterable<Uint8Array>> {
    const digests = await this.checkedDigests(input, 'datasets.chunks.export');
    return this.frames(digests, async (digest) => {
      const { row, payload } = await this.ctx.reader.stored(digest);
      return {
        header: {
          kind: 'chunk',
          digest,
          length: payload.length,
          size: row.sizeBytes,
          encoding: row.encoding,
          baseObject: row.baseObject,
          depth: row.depth,
        },
        payload,
      };
    });
  }

  private async checkedDigests(
    input: { name: unknown; digests: unknown },
    action: string,
  ): Promise<Digest[]> {
    const dataset = await authorizedDataset(this.ctx, { name: input.name, permission: 'read', action });
    const digests = checkDigestList(input.digests);
    const members = await this.ctx.store.chunksOfDataset(dataset.datasetId, digests);
    const stranger = digests.find((d) => !members.has(d));
    if (stranger !== undefined) {
      throw new CairnError('NOT_FOUND', `no version of ${dataset.name} has chunk ${stranger}`, {
        field: 'digests',
      });
    }
    await this.ctx.reader.prefetchRows(digests);
    return digests;
  }

  private async *frames(
    digests: Digest[],
    load: (
      digest: Digest,
    ) => Promise<{ header: { kind: string; length: number; [k: string]: unknown }; payload: Uint8Array }>,
  ): AsyncIterable<Uint8Array> {
    const settled = (digest: Digest) =>
      load(digest).then(
        (frame) => frame,
        (error: unknown) => {
          const e = error as { code?: unknown; message?: unknown };
          const code = typeof e.code === 'string' ? e.code : 'INTERNAL';
          const message = typeof e.message === 'string' ? e.message : 'unreadable chunk';
          return { header: { kind: 'error', digest, length: 0, code, message }, payload: new Uint8Array(0) };
        },
      );
    for await (const frame of readAhead(digests, settled, READ_AHEAD)) {
      yield frameHead(frame.header);
      if (frame.payload.length > 0) yield frame.payload;
    }
  }
}

export function checkDigestList(value: unknown, field = 'digests'): Digest[] {
  if (!Array.isArray(value) || value.length > DATASET_LIMITS.maxDigestsPerRequest) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${field} must be a list of at most ${DATASET_LIMITS.maxDigestsPerRequest} digests`,
      { field },
    );
  }
  return value.map((d: unknown, i: number) => {
    if (typeof d !== 'string' || !isDigest(d)) {
      throw new CairnError('INVALID_ARGUMENT', `${field}[${i}] must be sha256:<64 hex>`, { field });
    }
    return d;
  });
}
