import type {
  DatasetJson,
  DatasetVersionJson,
  FileChunksJson,
  UploadedFileJson,
  VersionFileJson,
} from '@cairn/contract';
import type { DatasetView, VersionView } from './datasets.service.js';
import type { ObjectChunk, VersionFile } from './entities.js';
import type { UploadedFile } from './uploads.service.js';

/** Entities as the native API sends them. */
export function datasetJson(view: DatasetView): DatasetJson {
  const { dataset } = view;
  return {
    name: dataset.name,
    project: dataset.projectId,
    description: dataset.description,
    createdAt: dataset.createdAt,
    createdBy: dataset.createdBy,
    updatedAt: dataset.updatedAt,
    latestVersion: view.latestVersion,
    aliases: Object.fromEntries(view.aliases),
  };
}

export function versionJson(view: VersionView): DatasetVersionJson {
  const { version } = view;
  return {
    dataset: view.dataset.name,
    version: version.version,
    parent: version.parentVersion,
    message: version.message,
    author: version.author,
    createdAt: version.createdAt,
    digest: version.digest,
    files: version.fileCount,
    bytesTotal: version.sizeBytes,
    bytesNew: version.bytesNew,
    aliases: view.aliases,
  };
}

export function fileJson(file: VersionFile & { chunks?: ObjectChunk[] }): VersionFileJson | FileChunksJson {
  const json = { path: file.path, digest: file.digest, size: file.sizeBytes, mode: file.mode };
  if (file.chunks === undefined) return json;
  return {
    ...json,
    chunks: file.chunks.map((c) => ({ digest: c.digest, offset: c.offset, size: c.sizeBytes })),
  };
}

export function uploadedFileJson(file: UploadedFile): UploadedFileJson {
  return {
    path: file.path,
    digest: file.digest,
    size: file.sizeBytes,
    chunks: file.chunks,
    bytesNew: file.bytesNew,
  };
}
