import { createHash } from 'node:crypto';
import { CairnError, DATASET_LIMITS, readFrames, type Frame } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import { isDigest, type Digest } from '../artifacts/index.js';
import { decodeChunk } from './chunk-codec.js';
import { corrupt, sha256 } from './chunk-reader.js';
import { checkDigestList } from './dataset-reads.service.js';
import {
  actor,
  authorizedDataset,
  checkFilePath,
  checkMode,
  checkText,
  versionTarget,
  type DatasetsContext,
} from './datasets-context.js';
import {
  CHUNK_ENCODINGS,
  type ChunkEncoding,
  type DatasetRecord,
  type DatasetVersionRecord,
  type ObjectChunk,
  type VersionFile,
} from './entities.js';
import { MAX_DELTA_DEPTH } from './file-ingest.js';
import { PackWriter } from './pack-writer.js';
import { manifestDigest, type VersionCommitted } from './uploads.service.js';

const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The receiving side of push and pull between two Cairn servers: which
 * chunks and objects are missing here, chunks taken in as stored (each
 * decoded and verified before it is kept), and versions recreated from a
 * manifest once their chunks are here.
 */
export class DatasetTransferService {
  #onCommitted: VersionCommitted | undefined;

  constructor(private readonly ctx: DatasetsContext) {}

  /** Told about every version an import creates (not about one it finds already here). */
  onCommitted(listener: VersionCommitted): void {
    this.#onCommitted = listener;
  }

  async missingChunks(input: { name: unknown; digests: unknown }): Promise<Digest[]> {
    await authorizedDataset(this.ctx, { name: input.name, permission: 'write', action: 'datasets.import' });
    const digests = checkDigestList(input.digests);
    const held = await this.ctx.store.existingChunks(digests);
    return [...new Set(digests.filter((d) => !held.has(d)))];
  }

  async missingObjects(input: { digests: unknown }): Promise<Digest[]> {
    const digests = checkDigestList(input.digests);
    const held = new Set((await this.ctx.store.getObjects(digests)).map((o) => o.digest));
    return [...new Set(digests.filter((d) => !held.has(d)))];
  }

  async importChunks(input: {
    name: unknown;
    body: AsyncIterable<Uint8Array>;
  }): Promise<{ imported: number; skipped: number }> {
    await authorizedDataset(this.ctx, { name: input.name, permission: 'write', action: 'datasets.import' });
    const writer = new PackWriter({
      blobs: this.ctx.blobs,
      now: () => this.ctx.clock.now(),
      onStored: (pack, rows) =>
        this.ctx.transactor.run(async (stores) => {
          await stores.datasets.insertPack(pack);
          await stores.datasets.insertChunks(rows);
        }),
    });
    let imported = 0;
    let skipped = 0;
    for await (const frame of readFrames(input.body, { maxPayloadBytes: MAX_CHUNK_BYTES })) {
      const chunk = checkChunkFrame(frame);
      if (
        writer.depthOf(chunk.digest) !== undefined ||
        (await this.ctx.store.existingChunks([chunk.digest])).size > 0
      ) {
        skipped++;
        continue;
      }
      const depth = await this.verify(chunk, frame.payload);
      await writer.add({ ...chunk, depth, payload: frame.payload });
      imported++;
    }
    await writer.flush();
    return { imported, skipped };
  }

  /** Decodes an incoming chunk and checks its digest; answers its depth here. */
  private async verify(chunk: IncomingChunk, payload: Uint8Array): Promise<number> {
    let depth = 0;
    if (chunk.baseObject !== null) {
      const [base] = await this.ctx.store.getObjects([chunk.baseObject]);
      if (base === undefined) {
        throw new CairnError(
          'FAILED_PRECONDITION',
          `chunk ${chunk.digest} is a delta against file ${chunk.baseObject}, which this server does not hold: send that file's chunks first`,
          { field: 'baseObject' },
        );
      }
      depth = base.depth + 1;
      if (depth >= MAX_DELTA_DEPTH + 1) {
        throw new CairnError(
          'INVALID_ARGUMENT',
          `chunk ${chunk.digest} would make a delta chain deeper than ${MAX_DELTA_DEPTH}`,
        );
      }
    }
    const base = chunk.baseObject;
    let plain: Uint8Array;
    try {
      plain = await decodeChunk(
        { encoding: chunk.encoding, payload, sizeBytes: chunk.sizeBytes },
        base === null
          ? undefined
          : (offset, length) => this.ctx.reader.readObjectRange(base, { offset, length }),
      );
    } catch (error) {
      throw corrupt(chunk.digest, (error as Error).message);
    }
    if (sha256(plain) !== chunk.digest)
      throw corrupt(chunk.digest, 'the bytes sent do not hash to its digest');
    return depth;
  }

  /** Recreates a version from a manifest whose chunks are all here; the same content twice is one version. */
  async importVersion(input: {
    name: unknown;
    message: unknown;
    author?: unknown;
    createdAt?: unknown;
    parentDigest?: unknown;
    files: unknown;
  }): Promise<{ dataset: DatasetRecord; version: DatasetVersionRecord }> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'datasets.import',
    });
    const message = checkText(input.message, 'message', DATASET_LIMITS.maxMessageLength);
    const files = checkManifest(input.files);
    const digest = manifestDigest(files.map((f) => f.file));
    const existing = await this.ctx.store.findVersionInDataset(dataset.datasetId, digest);
    if (existing !== undefined) return { dataset, version: existing };
    await this.ensureObjects(files);
    const parentDigest =
      typeof input.parentDigest === 'string' && isDigest(input.parentDigest) ? input.parentDigest : undefined;
    const parent =
      parentDigest === undefined
        ? undefined
        : await this.ctx.store.findVersionInDataset(dataset.datasetId, parentDigest);
    const author = checkText(input.author, 'author', 256) || actor();
    const createdAt =
      typeof input.createdAt === 'number' && Number.isSafeInteger(input.createdAt) && input.createdAt > 0
        ? input.createdAt
        : this.ctx.clock.now();
    let created = false;
    const version = await this.ctx.transactor.run(async (stores) => {
      const again = await stores.datasets.findVersionInDataset(dataset.datasetId, digest);
      if (again !== undefined) return again;
      created = true;
      const number = await stores.datasets.nextVersionNumber(dataset.datasetId);
      const record: DatasetVersionRecord = {
        versionId: newId(),
        datasetId: dataset.datasetId,
        version: number,
        parentVersion: parent?.version ?? null,
        message,
        author,
        createdAt,
        digest,
        fileCount: files.length,
        sizeBytes: files.reduce((sum, f) => sum + f.file.sizeBytes, 0),
        bytesNew: 0,
      };
      await stores.datasets.insertVersion(
        record,
        files.map((f) => f.file),
      );
      stores.audit.record({
        action: 'datasets.versions.import',
        target: versionTarget(dataset.name, number),
        projectId: dataset.projectId,
        details: { digest, files: record.fileCount, bytesTotal: record.sizeBytes, importedBy: actor() },
      });
      return record;
    });
    if (created)
      this.#onCommitted?.(
        dataset,
        version,
        files.map((f) => f.file),
      );
    return { dataset, version };
  }

  /** Records the file objects a manifest names, after checking each against its chunks' bytes. */
  private async ensureObjects(files: ManifestEntry[]): Promise<void> {
    const held = new Set(
      (await this.ctx.store.getObjects(files.map((f) => f.file.digest))).map((o) => o.digest),
    );
    const fresh = new Map(files.filter((f) => !held.has(f.file.digest)).map((f) => [f.file.digest, f]));
    for (const entry of fresh.values()) {
      const digests = entry.chunks.map((c) => c.digest);
      const present = await this.ctx.store.existingChunks(digests);
      const absent = digests.find((d) => !present.has(d));
      if (absent !== undefined) {
        throw new CairnError(
          'FAILED_PRECONDITION',
          `${entry.file.path}: chunk ${absent} has not been sent yet`,
          {
            field: 'files',
          },
        );
      }
      await this.ctx.reader.prefetchRows(digests);
      const hash = createHash('sha256');
      let depth = 0;
      for (const chunk of entry.chunks) {
        hash.update(await this.ctx.reader.read(chunk.digest));
        depth = Math.max(depth, (await this.ctx.reader.row(chunk.digest)).depth);
      }
      if (`sha256:${hash.digest('hex')}` !== entry.file.digest) {
        throw new CairnError(
          'INVALID_ARGUMENT',
          `${entry.file.path}: its chunks do not hash to ${entry.file.digest}`,
          {
            field: 'files',
          },
        );
      }
      await this.ctx.transactor.run((stores) =>
        stores.datasets.insertObject(
          {
            digest: entry.file.digest,
            sizeBytes: entry.file.sizeBytes,
            chunkCount: entry.chunks.length,
            depth,
            createdAt: this.ctx.clock.now(),
          },
          entry.chunks,
        ),
      );
    }
  }
}

interface IncomingChunk {
  digest: Digest;
  sizeBytes: number;
  encoding: ChunkEncoding;
  baseObject: Digest | null;
}

function checkChunkFrame(frame: Frame): IncomingChunk {
  const h = frame.header;
  const digest = h['digest'];
  const size = h['size'];
  const encoding = h['encoding'];
  const baseObject = h['baseObject'] ?? null;
  const fail = (why: string) => new CairnError('INVALID_ARGUMENT', `chunk frame ${String(digest)}: ${why}`);
  if (h.kind !== 'chunk') throw fail(`kind must be "chunk", got ${JSON.stringify(h.kind)}`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw fail('digest must be sha256:<64 hex>');
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_CHUNK_BYTES) {
    throw fail('size must be a whole number of bytes');
  }
  if (typeof encoding !== 'string' || !(CHUNK_ENCODINGS as readonly string[]).includes(encoding)) {
    throw fail(`encoding must be one of ${CHUNK_ENCODINGS.join(', ')}`);
  }
  if (baseObject !== null && (typeof baseObject !== 'string' || !isDigest(baseObject))) {
    throw fail('baseObject must be a digest or null');
  }
  if ((encoding === 'delta') !== (baseObject !== null))
    throw fail('a delta (and only a delta) names its baseObject');
  return {
    digest,
    sizeBytes: size,
    encoding: encoding as ChunkEncoding,
    baseObject: baseObject as Digest | null,
  };
}

interface ManifestEntry {
  file: VersionFile;
  chunks: ObjectChunk[];
}

function checkManifest(value: unknown): ManifestEntry[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > DATASET_LIMITS.maxFilesPerVersion) {
    throw new CairnError('INVALID_ARGUMENT', 'files must be a non-empty list of files with their chunks', {
      field: 'files',
    });
  }
  const seen = new Set<string>();
  const entries = value.map((raw: unknown, i: number) => {
    const f = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const field = `files[${i}]`;
    const path = checkFilePath(f['path'], `${field}.path`);
    if (seen.has(path))
      throw new CairnError('INVALID_ARGUMENT', `${field}.path ${path} appears twice`, { field });
    seen.add(path);
    const digest = f['digest'];
    if (typeof digest !== 'string' || !isDigest(digest)) {
      throw new CairnError('INVALID_ARGUMENT', `${field}.digest must be sha256:<64 hex>`, { field });
    }
    const chunks = checkChunkList(f['chunks'], field);
    const sizeBytes = chunks.reduce((sum, c) => sum + c.sizeBytes, 0);
    if (f['size'] !== sizeBytes) {
      throw new CairnError('INVALID_ARGUMENT', `${field}.size must equal the sum of its chunk sizes`, {
        field,
      });
    }
    return { file: { path, digest, sizeBytes, mode: checkMode(f['mode'], `${field}.mode`) }, chunks };
  });
  return entries.sort((a, b) => (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0));
}

function checkChunkList(value: unknown, field: string): ObjectChunk[] {
  if (!Array.isArray(value))
    throw new CairnError('INVALID_ARGUMENT', `${field}.chunks must be a list`, { field });
  let offset = 0;
  return value.map((raw: unknown, j: number) => {
    const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const digest = c['digest'];
    const size = c['size'];
    if (typeof digest !== 'string' || !isDigest(digest)) {
      throw new CairnError('INVALID_ARGUMENT', `${field}.chunks[${j}].digest must be sha256:<64 hex>`, {
        field,
      });
    }
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0 || size > MAX_CHUNK_BYTES) {
      throw new CairnError('INVALID_ARGUMENT', `${field}.chunks[${j}].size must be a positive whole number`, {
        field,
      });
    }
    if (c['offset'] !== undefined && c['offset'] !== offset) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `${field}.chunks[${j}].offset must be ${offset} (chunks in order, no gaps)`,
        {
          field,
        },
      );
    }
    const chunk = { digest, offset, sizeBytes: size };
    offset += size;
    return chunk;
  });
}
