import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CairnError } from '@cairn/contract';
import type { BlobStore } from '../../modules/artifacts/blob.store.js';
import { FsBlobStore } from './fs-blob-store.js';

export interface S3Settings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
}

const SUPPORTED = 'file:/absolute/path (or file:relative/path) or s3://bucket/prefix';

/**
 * Opens the blob store a `CAIRN_BLOB_URL` names. Async because the S3 adapter
 * (and with it the AWS SDK) is only loaded when an s3:// URL asks for it.
 */
export async function openBlobStore(url: string, s3: S3Settings): Promise<BlobStore> {
  if (url.startsWith('file:')) return FsBlobStore.open({ root: fileUrlToPath(url) });
  if (url.startsWith('s3://')) {
    const { S3BlobStore } = await import('./s3-blob-store.js');
    return S3BlobStore.fromUrl(url, s3);
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `unsupported blob store URL ${JSON.stringify(url)}; use ${SUPPORTED}`,
  );
}

function fileUrlToPath(url: string): string {
  const rest = url.slice('file:'.length);
  // WHATWG parsing would silently turn `file:./blobs` into `/blobs`, so relative forms are resolved by hand.
  if (rest === '')
    throw new CairnError(
      'INVALID_ARGUMENT',
      `blob store URL ${JSON.stringify(url)} names no folder; use ${SUPPORTED}`,
    );
  if (!rest.startsWith('/')) return resolve(rest);
  try {
    return fileURLToPath(url);
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `invalid file URL ${JSON.stringify(url)}; use ${SUPPORTED}`, {
      cause: error,
    });
  }
}
