import type {
  ArtifactListing,
  ArtifactUploadResult,
  CreateRunRequest,
  LogBatchRequest,
  MetricHistory,
  Run,
  RunInfo,
  RunList,
  RunStatus,
  ViewType,
} from '@cairn/contract';
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
