import { CairnError, DATASET_LIMITS } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import type { Digest } from '../artifacts/index.js';
import {
  actor,
  authorizedDataset,
  checkAliasName,
  checkDatasetName,
  checkText,
  datasetTarget,
  DEFAULT_DATASET_PROJECT,
  resolveVersion,
  type DatasetsContext,
} from './datasets-context.js';
import type { DatasetRecord, DatasetVersionRecord, ObjectChunk, VersionFile } from './entities.js';
import { decodeCursor, encodeCursor, checkLimit } from '../../kernel/page-cursor.js';

/** A dataset with what a listing shows next to it. */
export interface DatasetView {
  dataset: DatasetRecord;
  latestVersion: number;
  aliases: Map<string, number>;
}

export interface VersionView {
  dataset: DatasetRecord;
  version: DatasetVersionRecord;
  aliases: string[];
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/**
 * Datasets, their versions, files and aliases. Reads need `read` in the
 * dataset's project, changes `write`, checked before any transaction opens;
 * every change records its audit event in its transaction.
 */
export class DatasetsService {
  constructor(private readonly ctx: DatasetsContext) {}

  async create(input: { name: unknown; project?: unknown; description?: unknown }): Promise<DatasetView> {
    const name = checkDatasetName(input.name);
    const description = checkText(input.description, 'description', DATASET_LIMITS.maxDescriptionLength);
    const projectId =
      input.project === undefined || input.project === null || input.project === ''
        ? DEFAULT_DATASET_PROJECT
        : checkText(input.project, 'project', 256);
    this.ctx.access.require('write', projectId, { action: 'datasets.create', target: datasetTarget(name) });
    if ((await this.ctx.projects.getProject(projectId)) === undefined) {
      throw new CairnError('NOT_FOUND', `project ${projectId} not found`, { field: 'project' });
    }
    const at = this.ctx.clock.now();
    const dataset: DatasetRecord = {
      datasetId: newId(),
      projectId,
      name,
      description,
      lastVersion: 0,
      createdAt: at,
      createdBy: actor(),
      updatedAt: at,
    };
    await this.ctx.transactor.run(async (stores) => {
      if ((await stores.datasets.getDatasetByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `dataset ${name} already exists`, { field: 'name' });
      }
      await stores.datasets.insertDataset(dataset);
      stores.audit.record({
        action: 'datasets.create',
        target: datasetTarget(name),
        projectId,
        details: { description },
      });
    });
    return { dataset, latestVersion: 0, aliases: new Map() };
  }

  async get(name: unknown): Promise<DatasetView> {
    const dataset = await authorizedDataset(this.ctx, { name, permission: 'read', action: 'datasets.get' });
    return this.view(dataset);
  }

  async list(input: {
    project?: unknown;
    prefix?: unknown;
    maxResults?: unknown;
    pageToken?: unknown;
  }): Promise<Page<DatasetView>> {
    const limit = checkLimit(input.maxResults, { max: DATASET_LIMITS.maxDatasetResults, fallback: 100 });
    const offset = decodeCursor(input.pageToken);
    const readable = this.ctx.access.readableProjects();
    let projectIds = readable === 'all' ? undefined : [...readable];
    if (input.project !== undefined && input.project !== '') {
      const wanted = checkText(input.project, 'project', 256);
      projectIds = projectIds === undefined || projectIds.includes(wanted) ? [wanted] : [];
    }
    const prefix = input.prefix === undefined ? undefined : checkText(input.prefix, 'prefix', 256);
    const rows = await this.ctx.store.listDatasets({
      ...(projectIds === undefined ? {} : { projectIds }),
      ...(prefix ? { namePrefix: prefix } : {}),
      offset,
      limit,
    });
    const items = await Promise.all(rows.slice(0, limit).map((d) => this.view(d)));
    return rows.length > limit ? { items, nextPageToken: encodeCursor(offset + limit) } : { items };
  }

  async update(input: { name: unknown; description: unknown }): Promise<DatasetView> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'datasets.update',
    });
    const description = checkText(input.description, 'description', DATASET_LIMITS.maxDescriptionLength);
    const at = this.ctx.clock.now();
    await this.ctx.transactor.run(async (stores) => {
      await stores.datasets.updateDataset(dataset.datasetId, { description, updatedAt: at });
      stores.audit.record({
        action: 'datasets.update',
        target: datasetTarget(dataset.name),
        projectId: dataset.projectId,
        details: { description },
      });
    });
    return this.view({ ...dataset, description, updatedAt: at });
  }

  async setAlias(input: { name: unknown; alias: unknown; version: unknown }): Promise<DatasetView> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'datasets.alias.set',
    });
    const alias = checkAliasName(input.alias);
    const version = await resolveVersion({ store: this.ctx.store, dataset }, input.version);
    await this.ctx.transactor.run(async (stores) => {
      await stores.datasets.setAlias(dataset.datasetId, alias, version.version, this.ctx.clock.now());
      stores.audit.record({
        action: 'datasets.alias.set',
        target: datasetTarget(dataset.name),
        projectId: dataset.projectId,
        details: { alias, version: version.version },
      });
    });
    return this.view(dataset);
  }

  async deleteAlias(input: { name: unknown; alias: unknown }): Promise<DatasetView> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'datasets.alias.delete',
    });
    const alias = checkAliasName(input.alias);
    await this.ctx.transactor.run(async (stores) => {
      if (!(await stores.datasets.deleteAlias(dataset.datasetId, alias))) {
        throw new CairnError('NOT_FOUND', `dataset ${dataset.name} has no alias ${alias}`, {
          field: 'alias',
        });
      }
      stores.audit.record({
        action: 'datasets.alias.delete',
        target: datasetTarget(dataset.name),
        projectId: dataset.projectId,
        details: { alias },
      });
    });
    return this.view(dataset);
  }

  async listVersions(input: {
    name: unknown;
    maxResults?: unknown;
    pageToken?: unknown;
  }): Promise<Page<VersionView>> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'read',
      action: 'datasets.versions.list',
    });
    const limit = checkLimit(input.maxResults, { max: DATASET_LIMITS.maxVersionResults, fallback: 100 });
    const offset = decodeCursor(input.pageToken);
    const [rows, aliases] = await Promise.all([
      this.ctx.store.listVersions(dataset.datasetId, { offset, limit }),
      this.ctx.store.getAliases(dataset.datasetId),
    ]);
    const items = rows.slice(0, limit).map((version) => ({
      dataset,
      version,
      aliases: aliasesOf(aliases, version.version),
    }));
    return rows.length > limit ? { items, nextPageToken: encodeCursor(offset + limit) } : { items };
  }

  async getVersion(input: { name: unknown; ref: unknown }): Promise<VersionView> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'read',
      action: 'datasets.versions.get',
    });
    const version = await resolveVersion({ store: this.ctx.store, dataset }, input.ref);
    const aliases = await this.ctx.store.getAliases(dataset.datasetId);
    return { dataset, version, aliases: aliasesOf(aliases, version.version) };
  }

  /** A page of a version's files in path order, with each file's chunks when asked (checkout). */
  async listFiles(input: {
    name: unknown;
    ref: unknown;
    prefix?: unknown;
    maxResults?: unknown;
    pageToken?: unknown;
    withChunks?: boolean;
  }): Promise<Page<VersionFile & { chunks?: ObjectChunk[] }> & { version: VersionView }> {
    const view = await this.getVersion(input);
    const limit = checkLimit(input.maxResults, { max: DATASET_LIMITS.maxFileResults, fallback: 1000 });
    const afterPath =
      input.pageToken === undefined || input.pageToken === '' ? undefined : decodePath(input.pageToken);
    const prefix = input.prefix === undefined ? undefined : checkText(input.prefix, 'prefix', 4096);
    const rows = await this.ctx.store.listVersionFiles(view.version.versionId, {
      ...(prefix ? { prefix } : {}),
      ...(afterPath === undefined ? {} : { afterPath }),
      limit,
    });
    const files = rows.slice(0, limit);
    const items = input.withChunks
      ? await Promise.all(
          files.map(async (f) => ({ ...f, chunks: await this.ctx.reader.objectChunks(f.digest) })),
        )
      : files;
    const last = files.at(-1);
    return rows.length > limit && last !== undefined
      ? { version: view, items, nextPageToken: encodePath(last.path) }
      : { version: view, items };
  }

  private async view(dataset: DatasetRecord): Promise<DatasetView> {
    const [aliases, newest] = await Promise.all([
      this.ctx.store.getAliases(dataset.datasetId),
      this.ctx.store.listVersions(dataset.datasetId, { offset: 0, limit: 1 }),
    ]);
    return { dataset, latestVersion: newest[0]?.version ?? 0, aliases };
  }
}

function aliasesOf(aliases: Map<string, number>, version: number): string[] {
  return [...aliases].filter(([, v]) => v === version).map(([alias]) => alias);
}

function encodePath(path: string): string {
  return Buffer.from(`p:${path}`).toString('base64url');
}

function decodePath(token: unknown): string {
  const text = typeof token === 'string' ? Buffer.from(token, 'base64url').toString() : '';
  if (!text.startsWith('p:')) {
    throw new CairnError('INVALID_ARGUMENT', 'page_token is not one this server handed out', {
      field: 'page_token',
    });
  }
  return text.slice(2);
}

export type { Digest };
