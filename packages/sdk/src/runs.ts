import type {
  ArtifactListing,
  ArtifactUploadResult,
  CodeVersionJson,
  CreateRunRequest,
  DatasetVersionJson,
  LogInputsRequest,
  LogBatchRequest,
  MetricHistory,
  Run,
  RunInfo,
  RunList,
  RunStatus,
  ViewType,
} from '@cairn/contract';
import { CairnError, RUN_TAGS } from '@cairn/contract';
import { artifactPathOf, pathOf, readJson, type RequestBody, type Transport } from './transport.js';

export interface SearchRunsInput {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}

export interface RunPatch {
  status?: RunStatus;
  endTime?: number;
  runName?: string;
}

export interface CodeVersionInput {
  commit: string;
  branch?: string | null;
  remoteUrl?: string | null;
  dirty: boolean;
  /** The uncommitted changes as a `git apply --binary`-able patch. */
  diff?: Uint8Array;
}

/** A dataset version: `NAME@3`, `NAME@alias`, `NAME@latest`, `NAME` (latest), or its parts. */
export type DatasetVersionRef = string | { dataset: string; version: number | string };

export interface ArtifactUpload {
  /** A fresh body for every attempt. */
  body: () => RequestBody;
  sizeBytes?: number;
}

const API = '/api/v1/runs';

/** Uploads get the normal timeout plus one second per MiB (a floor of 1 MiB/s). */
const uploadTimeoutMs = (base: number, sizeBytes: number | undefined): number =>
  base + Math.ceil((sizeBytes ?? 0) / (1024 * 1024)) * 1000;

/** `cairn.runs` — read, search, update runs; their metrics and artifacts. */
export class RunsResource {
  constructor(
    private readonly transport: Transport,
    private readonly timeoutMs: number,
  ) {}

  async create(input: CreateRunRequest): Promise<Run> {
    return readJson(await this.transport.send({ method: 'POST', path: API, json: input }));
  }

  async get(runId: string): Promise<Run> {
    return readJson(await this.transport.send({ method: 'GET', path: API + pathOf(runId) }));
  }

  async search(input: SearchRunsInput): Promise<RunList> {
    return readJson(await this.transport.send({ method: 'POST', path: `${API}/search`, json: input }));
  }

  async update(runId: string, patch: RunPatch): Promise<RunInfo> {
    return readJson(await this.transport.send({ method: 'PATCH', path: API + pathOf(runId), json: patch }));
  }

  async delete(runId: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: API + pathOf(runId) });
  }

  async restore(runId: string): Promise<void> {
    await this.transport.send({ method: 'POST', path: `${API + pathOf(runId)}/restore` });
  }

  /** One request, all-or-nothing; see `ActiveRun` for buffered logging. */
  async logBatch(runId: string, batch: LogBatchRequest): Promise<void> {
    await this.transport.send({ method: 'POST', path: `${API + pathOf(runId)}/log-batch`, json: batch });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.transport.send({ method: 'PUT', path: API + pathOf(runId, 'tags', key), json: { value } });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: API + pathOf(runId, 'tags', key) });
  }

  async metricHistory(
    runId: string,
    key: string,
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<MetricHistory> {
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: API + pathOf(runId, 'metrics', key),
        query: { maxResults: options.maxResults, pageToken: options.pageToken },
      }),
    );
  }

  async logInputs(runId: string, datasets: LogInputsRequest['datasets']): Promise<void> {
    await this.transport.send({ method: 'POST', path: `${API + pathOf(runId)}/inputs`, json: { datasets } });
  }

  /**
   * Logs a Cairn dataset version as an input of the run: the version is
   * looked up, then logged with its digest and a `cairn:NAME@N` source, so the
   * server links the run to the version in lineage.
   */
  async logDatasetInput(
    runId: string,
    ref: DatasetVersionRef,
    options: { context?: string } = {},
  ): Promise<DatasetVersionJson> {
    const { dataset, version } = parseDatasetVersionRef(ref);
    const found = await readJson<{ version: DatasetVersionJson }>(
      await this.transport.send({
        method: 'GET',
        path: `/api/v1/datasets${pathOf(dataset, 'versions', String(version))}`,
      }),
    );
    const resolved = found.version;
    await this.logInputs(runId, [
      {
        dataset: {
          name: resolved.dataset,
          digest: resolved.digest,
          sourceType: 'cairn',
          source: `cairn:${resolved.dataset}@${resolved.version}`,
        },
        tags: options.context === undefined ? [] : [{ key: RUN_TAGS.datasetContext, value: options.context }],
      },
    ]);
    return resolved;
  }

  /** Records the git source of a run (see `captureCodeVersion`); recording again replaces it. */
  async setCodeVersion(runId: string, input: CodeVersionInput): Promise<CodeVersionJson> {
    const { diff, ...rest } = input;
    const body = { ...rest, ...(diff === undefined || diff.length === 0 ? {} : { diff: toBase64(diff) }) };
    const response = await this.transport.send({
      method: 'PUT',
      path: `${API + pathOf(runId)}/code`,
      json: body,
      timeoutMs: uploadTimeoutMs(this.timeoutMs, diff?.length),
    });
    return (await readJson<{ codeVersion: CodeVersionJson }>(response)).codeVersion;
  }

  /** The git source a run ran from; NOT_FOUND when none was recorded. */
  async codeVersion(runId: string): Promise<CodeVersionJson> {
    const response = await this.transport.send({ method: 'GET', path: `${API + pathOf(runId)}/code` });
    return (await readJson<{ codeVersion: CodeVersionJson }>(response)).codeVersion;
  }

  /** The run's uncommitted changes as a patch for `git apply --binary`; NOT_FOUND for a clean tree. */
  async codeDiff(runId: string): Promise<Uint8Array> {
    const response = await this.transport.send({
      method: 'GET',
      path: `${API + pathOf(runId)}/code/diff`,
      headers: { accept: '*/*' },
    });
    return new Uint8Array(await response.arrayBuffer());
  }

  async listArtifacts(runId: string, path?: string): Promise<ArtifactListing> {
    return readJson(
      await this.transport.send({ method: 'GET', path: `${API + pathOf(runId)}/artifacts`, query: { path } }),
    );
  }

  async downloadArtifact(runId: string, path: string): Promise<Uint8Array> {
    const response = await this.transport.send({
      method: 'GET',
      path: `${API + pathOf(runId)}/artifacts/${artifactPathOf(path)}`,
      headers: { accept: '*/*' },
    });
    return new Uint8Array(await response.arrayBuffer());
  }

  /** Streams one file's bytes to `path` below the run's artifact root. */
  async uploadArtifact(runId: string, path: string, upload: ArtifactUpload): Promise<ArtifactUploadResult> {
    return readJson(
      await this.transport.send({
        method: 'PUT',
        path: `${API + pathOf(runId)}/artifacts/${artifactPathOf(path)}`,
        body: upload.body,
        headers: {
          'content-type': 'application/octet-stream',
          ...(upload.sizeBytes === undefined ? {} : { 'content-length': String(upload.sizeBytes) }),
        },
        timeoutMs: uploadTimeoutMs(this.timeoutMs, upload.sizeBytes),
      }),
    );
  }
}

export function parseDatasetVersionRef(ref: DatasetVersionRef): { dataset: string; version: string } {
  if (typeof ref !== 'string') return { dataset: ref.dataset, version: String(ref.version) };
  const at = ref.lastIndexOf('@');
  const dataset = at === -1 ? ref : ref.slice(0, at);
  const version = at === -1 ? 'latest' : ref.slice(at + 1);
  if (dataset === '' || version === '') {
    throw new CairnError('INVALID_ARGUMENT', `"${ref}" is not a dataset version (expected NAME@VERSION)`, {
      field: 'dataset',
    });
  }
  return { dataset, version };
}

/** Base64 without Node's Buffer, so the SDK runs in browsers too. */
function toBase64(bytes: Uint8Array): string {
  if (typeof Buffer !== 'undefined')
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
