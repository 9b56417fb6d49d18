import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { CairnError, isCairnError, type DatasetVersionJson } from '@cairn/contract';
import { eachLimited, expandPaths, sha256File, type LocalDataFile } from './dataset-paths.js';
import type { DatasetsResource } from './datasets.js';

/**
 * `cairn data add`: local files become the next version of a dataset (Node
 * only). The version is a snapshot: exactly the files given. A file whose
 * size and sha256 equal the parent version's file at the same path is staged
 * by digest without being sent; every other file is streamed, and the server
 * chunks, deduplicates and deltas it. Any failure aborts the upload, so a
 * failed add leaves no version behind.
 */

export interface AddProgress {
  /** `hashing` files that may be unchanged, `uploading` the rest, then `committing`. */
  phase: 'hashing' | 'uploading' | 'committing';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The file just worked on. */
  path?: string;
}

export interface AddDatasetOptions {
  /** Says what changed, like a commit message. */
  message: string;
  /** The project of a dataset this call creates (default `default`); ignored when it exists. */
  project?: string;
  /** The description of a dataset this call creates. */
  description?: string;
  /** Aliases to point at the new version. */
  aliases?: readonly string[];
  onProgress?: (progress: AddProgress) => void;
  /** Relative paths are taken from here; the process's working folder by default. */
  cwd?: string;
}

// Each upload is CPU work on the server (chunking, hashing, compressing): two keep it busy
// without one client crowding out others.
const UPLOADS_IN_FLIGHT = 2;
const HASH_CONCURRENCY = 4;
const REUSE_BATCH = 1_000;

/** Counts bytes as they pass, for progress. */
/**
 * Read and sent in 1 MiB pieces: fetch's body stream costs per piece, and at
 * the default 64 KiB that overhead, not the disk, limits a large add.
 */
const READ_PIECE_BYTES = 1024 * 1024;

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    highWaterMark: READ_PIECE_BYTES,
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

async function ensureDataset(
  datasets: DatasetsResource,
  options: { name: string; project?: string; description?: string },
): Promise<void> {
  try {
    await datasets.get(options.name);
    return;
  } catch (error) {
    if (!isCairnError(error) || error.code !== 'NOT_FOUND') throw error;
  }
  try {
    await datasets.create({
      name: options.name,
      ...(options.project === undefined ? {} : { project: options.project }),
      ...(options.description === undefined ? {} : { description: options.description }),
    });
  } catch (error) {
    // Another add created it first.
    if (!isCairnError(error) || error.code !== 'ALREADY_EXISTS') throw error;
  }
}

export async function addDataset(
  datasets: DatasetsResource,
  options: AddDatasetOptions & { name: string; paths: readonly string[] },
): Promise<DatasetVersionJson> {
  if (options.message.trim() === '') {
    throw new CairnError('INVALID_ARGUMENT', 'Give a message saying what this version changes.', {
      field: 'message',
    });
  }
  const { files } = await expandPaths(options.paths, options.cwd === undefined ? {} : { cwd: options.cwd });
  await ensureDataset(datasets, options);
  const upload = await datasets.startUpload(options.name);
  const session = { name: options.name, uploadId: upload.uploadId };
  const progress: AddProgress = {
    phase: 'uploading',
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
  };
  const report = (path?: string): void =>
    options.onProgress?.({ ...progress, ...(path === undefined ? {} : { path }) });
  try {
    const unchanged = await unchangedFiles(datasets, {
      name: options.name,
      parent: upload.parent,
      files,
      // While hashing, the counts are of the files being compared with the parent.
      onHashed: (hashing) => options.onProgress?.({ phase: 'hashing', ...hashing }),
    });
    const reused = new Set<string>();
    for (let i = 0; i < unchanged.length; i += REUSE_BATCH) {
      const batch = unchanged.slice(i, i + REUSE_BATCH);
      const answer = await datasets.reuseFiles({ ...session, files: batch });
      const missing = new Set(answer.missing);
      for (const f of batch) if (!missing.has(f.path)) reused.add(f.path);
    }
    for (const f of files) {
      if (!reused.has(f.path)) continue;
      progress.filesDone++;
      progress.bytesDone += f.size;
    }
    report();
    const toSend = files.filter((f) => !reused.has(f.path));
    const sent = new Array<number>(toSend.length).fill(0);
    const base = progress.bytesDone;
    const update = (path: string): void => {
      progress.bytesDone = base + sent.reduce((a, b) => a + b, 0);
      report(path);
    };
    await eachLimited(toSend, UPLOADS_IN_FLIGHT, async (file, index) => {
      // A file that vanishes or turns unreadable mid-add fails the request like a network
      // error would; this keeps the real cause.
      let readError: Error | undefined;
      try {
        await datasets.uploadFile({
          ...session,
          path: file.path,
          mode: file.mode,
          sizeBytes: file.size,
          // A retry sends the file again from the start, so its count starts again too.
          body: () => {
            sent[index] = 0;
            const count = counter((n) => {
              sent[index] = (sent[index] ?? 0) + n;
              update(file.path);
            });
            const stream = createReadStream(file.localPath, { highWaterMark: READ_PIECE_BYTES }).on(
              'error',
              (error) => {
                readError = error;
              },
            );
            return stream.pipe(count);
          },
        });
      } catch (error) {
        if (readError === undefined) throw error;
        throw new CairnError(
          'FAILED_PRECONDITION',
          `${file.localPath} could not be read: ${readError.message}`,
          {
            field: 'paths',
            cause: readError,
          },
        );
      }
      progress.filesDone++;
      update(file.path);
    });
    progress.phase = 'committing';
    report();
    return await datasets.commitUpload({
      ...session,
      message: options.message,
      ...(options.aliases === undefined || options.aliases.length === 0 ? {} : { aliases: options.aliases }),
    });
  } catch (error) {
    await datasets.abortUpload(options.name, upload.uploadId).catch(() => undefined);
    throw error;
  }
}

/**
 * Local files that hold exactly what the parent version has at the same path:
 * same size (checked first, from the stat), then same sha256.
 */
async function unchangedFiles(
  datasets: DatasetsResource,
  input: {
    name: string;
    parent: number | null;
    files: readonly LocalDataFile[];
    onHashed: (progress: Omit<AddProgress, 'phase'>) => void;
  },
): Promise<Array<{ path: string; digest: string; mode: number }>> {
  if (input.parent === null) return [];
  const parentFiles = new Map(
    (await datasets.allFiles(input.name, input.parent)).map((f) => [f.path, f] as const),
  );
  const candidates = input.files.filter((f) => parentFiles.get(f.path)?.size === f.size);
  const found: Array<{ path: string; digest: string; mode: number } | undefined> = [];
  const hashed = {
    filesDone: 0,
    filesTotal: candidates.length,
    bytesDone: 0,
    bytesTotal: candidates.reduce((sum, f) => sum + f.size, 0),
  };
  await eachLimited(candidates, HASH_CONCURRENCY, async (file, i) => {
    const digest = await sha256File(file.localPath);
    if (digest === parentFiles.get(file.path)?.digest) {
      found[i] = { path: file.path, digest, mode: file.mode };
    }
    hashed.filesDone++;
    hashed.bytesDone += file.size;
    input.onHashed({ ...hashed, path: file.path });
  });
  return found.filter((f) => f !== undefined);
}
