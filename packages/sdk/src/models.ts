import type {
  CreateModelVersionRequest,
  CreateRegisteredModelRequest,
  LabelHistory,
  LabelKind,
  LineageGraph,
  ModelCard,
  ModelCardPatch,
  ModelUploadResult,
  ModelVersion,
  ModelVersionList,
  PinnedFileList,
  RegisteredModel,
  RegisteredModelList,
  UpdateRegisteredModelRequest,
} from '@cairn/contract';
import { artifactPathOf, pathOf, readJson, type RequestBody, type Transport } from './transport.js';

export interface ListModelsOptions {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

export type ListVersionsOptions = ListModelsOptions;

export interface LabelHistoryOptions {
  kind?: LabelKind;
  /** One alias (or stage, with kind 'stage'). */
  label?: string;
  /** Only the intervals covering this moment: a Date, epoch ms, or an ISO date such as '2026-03-03'. */
  at?: Date | number | string;
  maxResults?: number;
}

export interface FileUpload {
  /** A fresh body for every attempt. */
  body: () => RequestBody;
  sizeBytes?: number;
}

const API = '/api/v1';

/** Downloads and uploads get the normal timeout plus one second per MiB (a floor of 1 MiB/s). */
export const transferTimeoutMs = (base: number, sizeBytes: number | undefined): number =>
  base + Math.ceil((sizeBytes ?? 0) / (1024 * 1024)) * 1000;

const model = (name: string, ...rest: Array<string | number>): string =>
  `${API}/models${pathOf(name, ...rest.map(String))}`;

/**
 * `cairn.models` — the registry over HTTP, one method per route. Model names
 * may hold spaces and dots; every path segment is URL-encoded here.
 */
export class ModelsResource {
  constructor(
    private readonly transport: Transport,
    private readonly timeoutMs: number,
  ) {}

  async create(input: CreateRegisteredModelRequest): Promise<RegisteredModel> {
    return readJson(await this.transport.send({ method: 'POST', path: `${API}/models`, json: input }));
  }

  async get(name: string): Promise<RegisteredModel> {
    return readJson(await this.transport.send({ method: 'GET', path: model(name) }));
  }

  async list(options: ListModelsOptions = {}): Promise<RegisteredModelList> {
    const { filter, orderBy, maxResults, pageToken } = options;
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: `${API}/models`,
        query: { filter, orderBy, maxResults, pageToken },
      }),
    );
  }

  /** Renames (`name`) and/or describes the model. */
  async update(name: string, patch: UpdateRegisteredModelRequest): Promise<RegisteredModel> {
    return readJson(await this.transport.send({ method: 'PATCH', path: model(name), json: patch }));
  }

  /** Deletes the model with all its versions (alias history is kept). */
  async delete(name: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: model(name) });
  }

  async setTag(name: string, key: string, value: string): Promise<void> {
    await this.transport.send({ method: 'PUT', path: model(name, 'tags', key), json: { value } });
  }

  async deleteTag(name: string, key: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: model(name, 'tags', key) });
  }

  // ── versions ──

  async createVersion(name: string, input: CreateModelVersionRequest): Promise<ModelVersion> {
    return readJson(
      await this.transport.send({ method: 'POST', path: model(name, 'versions'), json: input }),
    );
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    return readJson(await this.transport.send({ method: 'GET', path: model(name, 'versions', version) }));
  }

  /** Newest first. */
  async listVersions(name: string, options: ListVersionsOptions = {}): Promise<ModelVersionList> {
    const { filter, orderBy, maxResults, pageToken } = options;
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: model(name, 'versions'),
        query: { filter, orderBy, maxResults, pageToken },
      }),
    );
  }

  async updateVersion(name: string, version: number, patch: { description?: string }): Promise<ModelVersion> {
    return readJson(
      await this.transport.send({ method: 'PATCH', path: model(name, 'versions', version), json: patch }),
    );
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: model(name, 'versions', version) });
  }

  async setVersionTag(input: { name: string; version: number; key: string; value: string }): Promise<void> {
    await this.transport.send({
      method: 'PUT',
      path: model(input.name, 'versions', input.version, 'tags', input.key),
      json: { value: input.value },
    });
  }

  async deleteVersionTag(input: { name: string; version: number; key: string }): Promise<void> {
    await this.transport.send({
      method: 'DELETE',
      path: model(input.name, 'versions', input.version, 'tags', input.key),
    });
  }

  /** MLflow stages, for older clients; prefer aliases. */
  async transitionStage(input: {
    name: string;
    version: number;
    stage: string;
    archiveExisting?: boolean;
  }): Promise<ModelVersion> {
    const { name, version, stage, archiveExisting } = input;
    return readJson(
      await this.transport.send({
        method: 'POST',
        path: model(name, 'versions', version, 'stage'),
        json: archiveExisting === undefined ? { stage } : { stage, archiveExisting },
      }),
    );
  }

  /** `name@alias`, `name/3`, `name@3`, `name/Production` or `name` (the newest version). */
  async resolve(reference: string): Promise<ModelVersion> {
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: `${API}/model-versions/resolve`,
        query: { ref: reference },
      }),
    );
  }

  // ── aliases ──

  async setAlias(name: string, alias: string, version: number): Promise<ModelVersion> {
    return readJson(
      await this.transport.send({ method: 'PUT', path: model(name, 'aliases', alias), json: { version } }),
    );
  }

  async getAlias(name: string, alias: string): Promise<ModelVersion> {
    return readJson(await this.transport.send({ method: 'GET', path: model(name, 'aliases', alias) }));
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: model(name, 'aliases', alias) });
  }

  /** Which version each alias (and stage) pointed at, from when to when; newest first. */
  async history(name: string, options: LabelHistoryOptions = {}): Promise<LabelHistory> {
    const { kind, label, at, maxResults } = options;
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: model(name, 'history'),
        query: { kind, label, maxResults, at: at instanceof Date ? at.toISOString() : at },
      }),
    );
  }

  // ── files ──

  async listFiles(name: string, version: number): Promise<PinnedFileList> {
    return readJson(
      await this.transport.send({ method: 'GET', path: model(name, 'versions', version, 'files') }),
    );
  }

  /** The raw response of one pinned file, for streaming; `sizeBytes` stretches the timeout. */
  async openFile(input: {
    name: string;
    version: number;
    path: string;
    sizeBytes?: number;
  }): Promise<Response> {
    return this.transport.send({
      method: 'GET',
      path: `${model(input.name, 'versions', input.version, 'files')}/${artifactPathOf(input.path)}`,
      headers: { accept: '*/*' },
      timeoutMs: transferTimeoutMs(this.timeoutMs, input.sizeBytes),
    });
  }

  /** Streams one file into the upload folder `uploadId` (a UUID); register the returned `source`. */
  async uploadFile(uploadId: string, path: string, upload: FileUpload): Promise<ModelUploadResult> {
    return readJson(
      await this.transport.send({
        method: 'PUT',
        path: `${API}/model-uploads${pathOf(uploadId)}/${artifactPathOf(path)}`,
        body: upload.body,
        headers: {
          'content-type': 'application/octet-stream',
          ...(upload.sizeBytes === undefined ? {} : { 'content-length': String(upload.sizeBytes) }),
        },
        timeoutMs: transferTimeoutMs(this.timeoutMs, upload.sizeBytes),
      }),
    );
  }

  // ── cards and lineage ──

  async getCard(name: string, version: number): Promise<ModelCard> {
    return readJson(
      await this.transport.send({ method: 'GET', path: model(name, 'versions', version, 'card') }),
    );
  }

  async getCardMarkdown(name: string, version: number): Promise<string> {
    const response = await this.transport.send({
      method: 'GET',
      path: model(name, 'versions', version, 'card'),
      query: { format: 'markdown' },
      headers: { accept: 'text/markdown' },
    });
    return response.text();
  }

  /** Changes the given sections; the others are kept. */
  async updateCard(name: string, version: number, patch: ModelCardPatch): Promise<ModelCard> {
    return readJson(
      await this.transport.send({
        method: 'PATCH',
        path: model(name, 'versions', version, 'card'),
        json: patch,
      }),
    );
  }

  /** Replaces the editable sections from an edited Markdown export; a section left out is emptied. */
  async replaceCardMarkdown(name: string, version: number, markdown: string): Promise<ModelCard> {
    return readJson(
      await this.transport.send({
        method: 'PUT',
        path: model(name, 'versions', version, 'card'),
        body: () => markdown,
        headers: { 'content-type': 'text/markdown; charset=utf-8' },
      }),
    );
  }

  /** Provenance: the run that made the version, its datasets, parent runs and code versions. */
  async lineage(name: string, version: number): Promise<LineageGraph> {
    return readJson(
      await this.transport.send({ method: 'GET', path: model(name, 'versions', version, 'lineage') }),
    );
  }
}
