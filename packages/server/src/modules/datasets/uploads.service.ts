import { createHash } from 'node:crypto';
import { CairnError, DATASET_LIMITS } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import { isDigest, type Digest } from '../artifacts/index.js';
import {
  actor,
  authorizedDataset,
  checkAliasName,
  checkFilePath,
  checkMode,
  checkText,
  resolveVersion,
  versionTarget,
  type DatasetsContext,
} from './datasets-context.js';
import type { DatasetRecord, DatasetVersionRecord, UploadRecord, VersionFile } from './entities.js';
import { ingestFile, type DeltaBase } from './file-ingest.js';
import { PackWriter } from './pack-writer.js';

export interface UploadedFile {
  path: string;
  digest: Digest;
  sizeBytes: number;
  chunks: number;
  bytesNew: number;
}

/** Told about every new version, after it commits (table profiling hooks in here). */
export type VersionCommitted = (
  dataset: DatasetRecord,
  version: DatasetVersionRecord,
  files: VersionFile[],
) => void;

/**
 * Adds, as sessions: begin, stream or reuse files, commit. Until the commit
 * nothing is visible as a version; what a session stored so far is kept (and
 * protected from garbage collection) so a re-run after a crash reuses it.
 * The new version's manifest is exactly the staged files (a snapshot).
 */
export class UploadsService {
  #onCommitted: VersionCommitted | undefined;

  constructor(private readonly ctx: DatasetsContext) {}

  onCommitted(listener: VersionCommitted): void {
    this.#onCommitted = listener;
  }

  async begin(input: {
    name: unknown;
    parent?: unknown;
  }): Promise<{ upload: UploadRecord; dataset: DatasetRecord }> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'datasets.add',
    });
    const parent =
      input.parent === undefined || input.parent === null
        ? dataset.lastVersion > 0
          ? await resolveVersion({ store: this.ctx.store, dataset }, 'latest').catch(() => undefined)
          : undefined
        : await resolveVersion({ store: this.ctx.store, dataset }, input.parent, 'parent');
    const at = this.ctx.clock.now();
    const upload: UploadRecord = {
      uploadId: newId(),
      datasetId: dataset.datasetId,
      parentVersion: parent?.version ?? null,
      createdBy: actor(),
      createdAt: at,
      touchedAt: at,
      bytesNew: 0,
    };
    await this.ctx.transactor.run((stores) => stores.datasets.insertUpload(upload));
    return { upload, dataset };
  }

  /** Streams one file of an add in; the body is consumed whatever happens, so the connection stays usable. */
  async putFile(input: {
    name: unknown;
    uploadId: unknown;
    path: unknown;
    mode?: unknown;
    body: AsyncIterable<Uint8Array>;
  }): Promise<UploadedFile> {
    const { dataset, upload } = await this.session(input);
    const path = checkFilePath(input.path);
    const mode = checkMode(input.mode);
    const base = await this.baseFor(dataset, upload, path);
    const writer = new PackWriter({
      blobs: this.ctx.blobs,
      now: () => this.ctx.clock.now(),
      onStored: (pack, rows) =>
        this.ctx.transactor.run(async (stores) => {
          await stores.datasets.insertPack(pack);
          await stores.datasets.insertChunks(rows);
          await stores.datasets.pinUploadChunks(
            upload.uploadId,
            rows.map((r) => r.digest),
          );
          await stores.datasets.touchUpload(upload.uploadId, {
            at: this.ctx.clock.now(),
            bytesNew: pack.sizeBytes,
          });
        }),
    });
    const file = await ingestFile(
      { store: this.ctx.store, reader: this.ctx.reader, writer },
      input.body,
      base,
    );
    await writer.flush();
    await this.ctx.transactor.run(async (stores) => {
      await stores.datasets.pinUploadChunks(upload.uploadId, file.reused);
      await stores.datasets.insertObject(
        {
          digest: file.digest,
          sizeBytes: file.sizeBytes,
          chunkCount: file.chunks.length,
          depth: file.depth,
          createdAt: this.ctx.clock.now(),
        },
        file.chunks,
      );
      await stores.datasets.stageUploadFile(upload.uploadId, { path, digest: file.digest, mode });
      await stores.datasets.touchUpload(upload.uploadId, { at: this.ctx.clock.now(), bytesNew: 0 });
    });
    return {
      path,
      digest: file.digest,
      sizeBytes: file.sizeBytes,
      chunks: file.chunks.length,
      bytesNew: writer.storedBytes,
    };
  }

  /** Stages files the store already holds, by content digest; answers which it does not hold. */
  async reuse(input: {
    name: unknown;
    uploadId: unknown;
    files: unknown;
  }): Promise<{ staged: UploadedFile[]; missing: string[] }> {
    const { upload } = await this.session(input);
    if (!Array.isArray(input.files) || input.files.length > DATASET_LIMITS.maxDigestsPerRequest) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `files must be a list of at most ${DATASET_LIMITS.maxDigestsPerRequest} {path, digest, mode}`,
        { field: 'files' },
      );
    }
    const wanted = input.files.map((raw: unknown, i: number) => {
      const f = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      const digest = f['digest'];
      if (typeof digest !== 'string' || !isDigest(digest)) {
        throw new CairnError('INVALID_ARGUMENT', `files[${i}].digest must be sha256:<64 hex>`, {
          field: `files[${i}].digest`,
        });
      }
      return {
        path: checkFilePath(f['path'], `files[${i}].path`),
        digest,
        mode: checkMode(f['mode'], `files[${i}].mode`),
      };
    });
    const objects = new Map(
      (await this.ctx.store.getObjects([...new Set(wanted.map((w) => w.digest))])).map((o) => [o.digest, o]),
    );
    const present = wanted.filter((w) => objects.has(w.digest));
    await this.ctx.transactor.run(async (stores) => {
      for (const file of present) await stores.datasets.stageUploadFile(upload.uploadId, file);
      await stores.datasets.touchUpload(upload.uploadId, { at: this.ctx.clock.now(), bytesNew: 0 });
    });
    return {
      staged: present.map((f) => ({
        path: f.path,
        digest: f.digest,
        sizeBytes: objects.get(f.digest)!.sizeBytes,
        chunks: objects.get(f.digest)!.chunkCount,
        bytesNew: 0,
      })),
      missing: wanted.filter((w) => !objects.has(w.digest)).map((w) => w.path),
    };
  }

  async commit(input: {
    name: unknown;
    uploadId: unknown;
    message: unknown;
    aliases?: unknown;
  }): Promise<{ dataset: DatasetRecord; version: DatasetVersionRecord; aliases: string[] }> {
    const { dataset, upload } = await this.session(input);
    const message = checkText(input.message, 'message', DATASET_LIMITS.maxMessageLength);
    const aliases = checkAliasList(input.aliases);
    const staged = await this.ctx.store.listUploadFiles(upload.uploadId);
    if (staged.length === 0) {
      throw new CairnError('FAILED_PRECONDITION', 'nothing was added: a version needs at least one file', {
        field: 'uploadId',
      });
    }
    const objects = new Map(
      (await this.ctx.store.getObjects([...new Set(staged.map((s) => s.digest))])).map((o) => [o.digest, o]),
    );
    const files: VersionFile[] = staged
      .map((s) => ({
        path: s.path,
        digest: s.digest,
        mode: s.mode,
        sizeBytes: objects.get(s.digest)?.sizeBytes ?? 0,
      }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const version = await this.ctx.transactor.run(async (stores) => {
      // Re-read inside the transaction: the count of new bytes grows until the last file lands.
      const current = await stores.datasets.getUpload(upload.uploadId);
      if (current === undefined) throw uploadGone(upload.uploadId);
      const number = await stores.datasets.nextVersionNumber(dataset.datasetId);
      const record: DatasetVersionRecord = {
        versionId: newId(),
        datasetId: dataset.datasetId,
        version: number,
        parentVersion: current.parentVersion,
        message,
        author: actor(),
        createdAt: this.ctx.clock.now(),
        digest: manifestDigest(files),
        fileCount: files.length,
        sizeBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0),
        bytesNew: current.bytesNew,
      };
      await stores.datasets.insertVersion(record, files);
      for (const alias of aliases)
        await stores.datasets.setAlias(dataset.datasetId, alias, number, record.createdAt);
      await stores.datasets.deleteUpload(upload.uploadId);
      stores.audit.record({
        action: 'datasets.versions.create',
        target: versionTarget(dataset.name, number),
        projectId: dataset.projectId,
        details: {
          parent: record.parentVersion,
          digest: record.digest,
          files: record.fileCount,
          bytesTotal: record.sizeBytes,
          bytesNew: record.bytesNew,
          aliases,
        },
      });
      return record;
    });
    this.#onCommitted?.(dataset, version, files);
    return { dataset, version, aliases };
  }

  async abort(input: { name: unknown; uploadId: unknown }): Promise<void> {
    const { upload } = await this.session(input);
    await this.ctx.transactor.run((stores) => stores.datasets.deleteUpload(upload.uploadId));
  }

  private async session(input: {
    name: unknown;
    uploadId: unknown;
  }): Promise<{ dataset: DatasetRecord; upload: UploadRecord }> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'datasets.add',
    });
    const id = typeof input.uploadId === 'string' ? input.uploadId : '';
    const upload = id.length > 0 && id.length <= 64 ? await this.ctx.store.getUpload(id) : undefined;
    if (upload === undefined || upload.datasetId !== dataset.datasetId) throw uploadGone(id);
    return { dataset, upload };
  }

  /** The same path in the parent version, if any: the base a changed file is delta-encoded against. */
  private async baseFor(
    dataset: DatasetRecord,
    upload: UploadRecord,
    path: string,
  ): Promise<DeltaBase | undefined> {
    if (upload.parentVersion === null) return undefined;
    const parent = await this.ctx.store.getVersion(dataset.datasetId, upload.parentVersion);
    const file =
      parent === undefined ? undefined : await this.ctx.store.getVersionFile(parent.versionId, path);
    if (file === undefined) return undefined;
    const [object] = await this.ctx.store.getObjects([file.digest]);
    return object === undefined
      ? undefined
      : { digest: object.digest, sizeBytes: object.sizeBytes, depth: object.depth };
  }
}

function checkAliasList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 32) {
    throw new CairnError('INVALID_ARGUMENT', 'aliases must be a list of at most 32 names', {
      field: 'aliases',
    });
  }
  return [...new Set(value.map((a, i) => checkAliasName(a, `aliases[${i}]`)))];
}

function uploadGone(id: string): CairnError {
  return new CairnError(
    'NOT_FOUND',
    `upload ${id || '(none)'} not found: it was committed, aborted or expired; start the add again (stored chunks are reused)`,
    { field: 'uploadId' },
  );
}

/** One name for a version's content: sha256 over its sorted (mode, digest, path) lines. */
export function manifestDigest(files: readonly VersionFile[]): Digest {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.mode.toString(8)} ${f.digest} ${f.path}\n`);
  return `sha256:${hash.digest('hex')}`;
}
