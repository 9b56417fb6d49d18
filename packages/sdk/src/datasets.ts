import {
  CairnError,
  DATASET_ALIAS_PATTERN,
  DATASET_LIMITS,
  DATASET_NAME_PATTERN,
  type DatasetDiffJson,
  type DatasetJson,
  type DatasetVersionJson,
  type FileChunksJson,
  type GcResultJson,
  type TableJson,
  type UploadedFileJson,
  type UploadJson,
  type VersionFileJson,
} from '@cairn/contract';
import { transferTimeoutMs } from './models.js';
import { pathOf, readJson, type RequestBody, type Transport } from './transport.js';

/** A version: its number, an alias, or `latest`. */
export type DatasetRef = number | string;

export interface DatasetReference {
  name: string;
  /** `latest` when the reference names the dataset alone. */
  ref: DatasetRef;
}

export interface Page {
  maxResults?: number;
  pageToken?: string;
}

export interface ListDatasetsOptions extends Page {
  project?: string;
  /** Names starting with this text. */
  prefix?: string;
}

export interface ListFilesOptions extends Page {
  /** Only paths starting with this text. */
  prefix?: string;
}

export interface VersionDetail {
  version: DatasetVersionJson;
  /** Profiles of the tabular files (csv, parquet, jsonl). */
  tables: TableJson[];
}

const NAME = new RegExp(DATASET_NAME_PATTERN);
const ALIAS = new RegExp(DATASET_ALIAS_PATTERN);
const MAX_VERSION = 2 ** 31 - 1;

const invalidRef = (message: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field: 'ref' });

/**
 * `NAME`, `NAME@3`, `NAME@champion` or `NAME@latest`; `NAME` alone is the
 * newest version. Names and aliases cannot hold `@`, so the split is exact.
 */
export function parseDatasetRef(text: string): DatasetReference {
  const at = text.indexOf('@');
  const name = at === -1 ? text : text.slice(0, at);
  const version = at === -1 ? 'latest' : text.slice(at + 1);
  if (name === '') throw invalidRef(`"${text}" names no dataset (expected NAME or NAME@VERSION)`);
  if (!NAME.test(name)) {
    throw invalidRef(
      `"${name}" is not a dataset name (letters, digits, ".", "_", "-", starting with a letter or digit)`,
    );
  }
  if (version === '') throw invalidRef(`"${text}": give a version after "@" (a number, an alias or latest)`);
  if (/^\d+$/.test(version)) {
    const n = Number(version);
    if (n < 1 || n > MAX_VERSION) throw invalidRef(`"${text}": version numbers start at 1`);
    return { name, ref: n };
  }
  if (!ALIAS.test(version)) {
    throw invalidRef(`"${text}": "${version}" is neither a version number nor an alias`);
  }
  return { name, ref: version };
}

const API = '/api/v1';
const dataset = (name: string, ...rest: Array<string | number>): string =>
  `${API}/datasets${pathOf(name, ...rest.map(String))}`;

interface WirePage {
  next_page_token?: string;
  nextPageToken?: string;
}

const nextToken = (page: WirePage): { nextPageToken?: string } => {
  const token = page.next_page_token ?? page.nextPageToken;
  return token === undefined || token === '' ? {} : { nextPageToken: token };
};

/** Every page of a listing, in order. */
async function allPages<T>(
  fetchPage: (pageToken: string | undefined) => Promise<{ items: T[]; nextPageToken?: string }>,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    out.push(...page.items);
    token = page.nextPageToken;
  } while (token !== undefined);
  return out;
}

/**
 * `cairn.datasets` — versioned data over HTTP, one method per route. Moving
 * files between the local disk and the server is `cairn.addDataset` and
 * `cairn.checkoutDataset` (Node only, loaded on first use).
 */
export class DatasetsResource {
  constructor(
    private readonly transport: Transport,
    readonly timeoutMs: number,
  ) {}

  async create(input: { name: string; project?: string; description?: string }): Promise<DatasetJson> {
    const body = await readJson<{ dataset: DatasetJson }>(
      await this.transport.send({ method: 'POST', path: `${API}/datasets`, json: input }),
    );
    return body.dataset;
  }

  async get(name: string): Promise<DatasetJson> {
    return (
      await readJson<{ dataset: DatasetJson }>(
        await this.transport.send({ method: 'GET', path: dataset(name) }),
      )
    ).dataset;
  }

  async list(
    options: ListDatasetsOptions = {},
  ): Promise<{ datasets: DatasetJson[]; nextPageToken?: string }> {
    const page = await readJson<{ datasets: DatasetJson[] } & WirePage>(
      await this.transport.send({
        method: 'GET',
        path: `${API}/datasets`,
        query: {
          project: options.project,
          prefix: options.prefix,
          max_results: options.maxResults,
          page_token: options.pageToken,
        },
      }),
    );
    return { datasets: page.datasets, ...nextToken(page) };
  }

  async update(name: string, patch: { description: string }): Promise<DatasetJson> {
    return (
      await readJson<{ dataset: DatasetJson }>(
        await this.transport.send({ method: 'PATCH', path: dataset(name), json: patch }),
      )
    ).dataset;
  }

  // ── versions ──

  /** Newest first. */
  async listVersions(
    name: string,
    options: Page = {},
  ): Promise<{ versions: DatasetVersionJson[]; nextPageToken?: string }> {
    const page = await readJson<{ versions: DatasetVersionJson[] } & WirePage>(
      await this.transport.send({
        method: 'GET',
        path: dataset(name, 'versions'),
        query: { max_results: options.maxResults, page_token: options.pageToken },
      }),
    );
    return { versions: page.versions, ...nextToken(page) };
  }

  /** Every version, newest first. */
  async allVersions(name: string): Promise<DatasetVersionJson[]> {
    return allPages(async (pageToken) => {
      const page = await this.listVersions(name, {
        maxResults: DATASET_LIMITS.maxVersionResults,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return {
        items: page.versions,
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    });
  }

  /** A version by number, alias or `latest`, with its table profiles. */
  async getVersion(name: string, ref: DatasetRef = 'latest'): Promise<VersionDetail> {
    return readJson(await this.transport.send({ method: 'GET', path: dataset(name, 'versions', ref) }));
  }

  /** One page of a version's files, in path order. */
  async listFiles(
    name: string,
    ref: DatasetRef,
    options: ListFilesOptions = {},
  ): Promise<{ files: VersionFileJson[]; nextPageToken?: string }> {
    return this.filesPage(name, ref, { ...options, chunks: false });
  }

  /** One page of a version's files with the chunks that make each. */
  async listFileChunks(
    name: string,
    ref: DatasetRef,
    options: ListFilesOptions = {},
  ): Promise<{ files: FileChunksJson[]; nextPageToken?: string }> {
    return this.filesPage(name, ref, { ...options, chunks: true });
  }

  /** Every file of a version, in path order. */
  async allFiles(
    name: string,
    ref: DatasetRef,
    options: { prefix?: string } = {},
  ): Promise<VersionFileJson[]> {
    return allPages(async (pageToken) => {
      const page = await this.listFiles(name, ref, {
        ...options,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return {
        items: page.files,
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    });
  }

  /** Every file of a version with its chunks, in path order. */
  async allFileChunks(name: string, ref: DatasetRef): Promise<FileChunksJson[]> {
    return allPages(async (pageToken) => {
      const page = await this.listFileChunks(name, ref, pageToken === undefined ? {} : { pageToken });
      return {
        items: page.files,
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    });
  }

  /** The raw response of one file's bytes (verified by the server as it streams), for reading. */
  async openContent(input: {
    name: string;
    ref: DatasetRef;
    path: string;
    sizeBytes?: number;
  }): Promise<Response> {
    return this.transport.send({
      method: 'GET',
      path: dataset(input.name, 'versions', input.ref, 'content'),
      query: { path: input.path },
      headers: { accept: '*/*' },
      timeoutMs: transferTimeoutMs(this.timeoutMs, input.sizeBytes),
    });
  }

  /** File, row, schema and statistics changes between two versions; `key` matches rows by a column. */
  async diff(
    name: string,
    options: { from: DatasetRef; to: DatasetRef; key?: string },
  ): Promise<DatasetDiffJson> {
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: dataset(name, 'diff'),
        query: { from: String(options.from), to: String(options.to), key: options.key },
        // Row diffs of large tables take a while on the server.
        timeoutMs: this.timeoutMs * 10,
      }),
    );
  }

  // ── aliases ──

  async setAlias(name: string, alias: string, version: number): Promise<DatasetJson> {
    return (
      await readJson<{ dataset: DatasetJson }>(
        await this.transport.send({
          method: 'PUT',
          path: dataset(name, 'aliases', alias),
          json: { version },
        }),
      )
    ).dataset;
  }

  async deleteAlias(name: string, alias: string): Promise<DatasetJson> {
    return (
      await readJson<{ dataset: DatasetJson }>(
        await this.transport.send({ method: 'DELETE', path: dataset(name, 'aliases', alias) }),
      )
    ).dataset;
  }

  // ── adds (an upload session; the new version is exactly the staged files) ──

  async startUpload(name: string, options: { parent?: number } = {}): Promise<UploadJson> {
    return readJson(
      await this.transport.send({ method: 'POST', path: dataset(name, 'uploads'), json: options }),
    );
  }

  /** Streams one file into the upload; `body` is called afresh for every attempt. */
  async uploadFile(input: {
    name: string;
    uploadId: string;
    path: string;
    mode: number;
    sizeBytes: number;
    body: () => RequestBody;
  }): Promise<UploadedFileJson> {
    return readJson(
      await this.transport.send({
        method: 'PUT',
        path: dataset(input.name, 'uploads', input.uploadId, 'files'),
        // Octal digits, as chmod takes them: the server reads `mode` as octal ("644").
        query: { path: input.path, mode: input.mode.toString(8) },
        body: input.body,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(input.sizeBytes) },
        timeoutMs: transferTimeoutMs(this.timeoutMs, input.sizeBytes),
      }),
    );
  }

  /** Stages files by digest; `missing` lists the paths whose content the server lacks (upload those). */
  async reuseFiles(input: {
    name: string;
    uploadId: string;
    files: ReadonlyArray<{ path: string; digest: string; mode: number }>;
  }): Promise<{ staged: UploadedFileJson[]; missing: string[] }> {
    return readJson(
      await this.transport.send({
        method: 'POST',
        path: dataset(input.name, 'uploads', input.uploadId, 'reuse'),
        json: { files: input.files },
      }),
    );
  }

  async commitUpload(input: {
    name: string;
    uploadId: string;
    message: string;
    aliases?: readonly string[];
  }): Promise<DatasetVersionJson> {
    const { name, uploadId, ...body } = input;
    const answer = await readJson<{ version: DatasetVersionJson }>(
      await this.transport.send({
        method: 'POST',
        path: dataset(name, 'uploads', uploadId, 'commit'),
        json: body,
        // Committing profiles nothing, but writes every staged file: allow for large manifests.
        timeoutMs: this.timeoutMs * 4,
      }),
    );
    return answer.version;
  }

  async abortUpload(name: string, uploadId: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: dataset(name, 'uploads', uploadId) });
  }

  // ── chunks (framed streams; see dataset-transfer.ts) ──

  /** Decoded, verified chunk bytes as a framed stream; a corrupt chunk is an error frame. */
  async readChunks(name: string, digests: readonly string[], sizeBytes?: number): Promise<Response> {
    return this.transport.send({
      method: 'POST',
      path: dataset(name, 'chunks', 'read'),
      json: { digests },
      headers: { accept: 'application/octet-stream' },
      timeoutMs: transferTimeoutMs(this.timeoutMs, sizeBytes),
    });
  }

  /** Stored (encoded) chunk bytes as a framed stream, for another server's `importChunks`. */
  async exportChunks(name: string, digests: readonly string[], sizeBytes?: number): Promise<Response> {
    return this.transport.send({
      method: 'POST',
      path: dataset(name, 'chunks', 'export'),
      json: { digests },
      headers: { accept: 'application/octet-stream' },
      timeoutMs: transferTimeoutMs(this.timeoutMs, sizeBytes),
    });
  }

  /** Which of these chunks the server lacks. */
  async missingChunks(name: string, digests: readonly string[]): Promise<string[]> {
    const body = await readJson<{ missing: string[] }>(
      await this.transport.send({
        method: 'POST',
        path: dataset(name, 'chunks', 'missing'),
        json: { digests },
      }),
    );
    return body.missing;
  }

  /** Which of these file objects the server lacks. */
  async missingObjects(digests: readonly string[]): Promise<string[]> {
    const body = await readJson<{ missing: string[] }>(
      await this.transport.send({
        method: 'POST',
        path: `${API}/datasets/objects/missing`,
        json: { digests },
      }),
    );
    return body.missing;
  }

  /** Stores export frames; each is verified by the server. */
  async importChunks(input: {
    name: string;
    body: () => RequestBody;
    sizeBytes?: number;
  }): Promise<{ imported: number; skipped: number }> {
    return readJson(
      await this.transport.send({
        method: 'POST',
        path: dataset(input.name, 'chunks', 'import'),
        body: input.body,
        headers: { 'content-type': 'application/octet-stream' },
        timeoutMs: transferTimeoutMs(this.timeoutMs, input.sizeBytes),
      }),
    );
  }

  /** Writes a version whose chunks are all present; a version with the same digest is returned as is. */
  async importVersion(
    name: string,
    input: {
      message: string;
      author: string;
      createdAt: number;
      parentDigest: string | null;
      files: readonly FileChunksJson[];
    },
  ): Promise<DatasetVersionJson> {
    const body = await readJson<{ version: DatasetVersionJson }>(
      await this.transport.send({
        method: 'POST',
        path: dataset(name, 'versions', 'import'),
        json: input,
        timeoutMs: this.timeoutMs * 4,
      }),
    );
    return body.version;
  }

  /** Deletes what no version reaches any more (Cairn admins). */
  async gc(options: { graceSeconds?: number } = {}): Promise<GcResultJson> {
    return readJson(
      await this.transport.send({
        method: 'POST',
        path: `${API}/datasets/gc`,
        json: options,
        timeoutMs: this.timeoutMs * 20,
      }),
    );
  }

  private async filesPage<T>(
    name: string,
    ref: DatasetRef,
    options: ListFilesOptions & { chunks: boolean },
  ): Promise<{ files: T[]; nextPageToken?: string }> {
    const page = await readJson<{ files: T[] } & WirePage>(
      await this.transport.send({
        method: 'GET',
        path: dataset(name, 'versions', ref, 'files'),
        query: {
          prefix: options.prefix,
          max_results: options.maxResults ?? DATASET_LIMITS.maxFileResults,
          page_token: options.pageToken,
          chunks: options.chunks ? 'true' : undefined,
        },
        timeoutMs: this.timeoutMs * 2,
      }),
    );
    return { files: page.files, ...nextToken(page) };
  }
}
