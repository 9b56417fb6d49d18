import type { Readable } from 'node:stream';
import { CairnError } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import type { BlobStore } from '../artifacts/index.js';
import { recordEdges } from '../lineage/index.js';
import { decodePageToken, parseFilter, parseOrderBy } from '../tracking/index.js';
import {
  MODEL_FORMATS,
  pinnedArtifactPath,
  type ModelFormat,
  type ModelVersionRecord,
  type Page,
  type PinnedFile,
  type Stage,
} from './entities.js';
import { inspectModel } from './formats/index.js';
import {
  manifestDigest,
  resolveArtifactFiles,
  sortFiles,
  type ArtifactLookup,
  type ResolvedFiles,
  type RunLookup,
} from './model-files.js';
import { parseModelSource } from './model-source.js';
import { checkOrderBy, page, type SearchInput } from './registered-models.service.js';
import { LOCAL_ACTOR, requireModel, requireVersion, type RegistryContext } from './registry-context.js';
import { MODEL_VERSION_SEARCH } from './registry-search.js';
import {
  REGISTRY_LIMITS,
  checkBoolean,
  checkMaxResults,
  checkModelName,
  checkOptionalText,
  checkStage,
  checkTagKey,
  checkTags,
  checkText,
  checkVersionNumber,
} from './validation.js';

export interface ModelVersionServiceDeps {
  runs: RunLookup;
  artifacts: ArtifactLookup;
  blobs: BlobStore;
}

export interface CreateVersionInput {
  name: unknown;
  source: unknown;
  runId?: unknown;
  tags?: unknown;
  description?: unknown;
  runLink?: unknown;
  /** Declared format; detected from the files when absent. */
  format?: unknown;
  actor?: string;
}

const ACTIVE_STAGES: readonly Stage[] = ['Staging', 'Production'];

/** Model versions: registration (pinning + inspection), reads, stages, tags, files. */
export class ModelVersionService {
  constructor(
    private readonly ctx: RegistryContext,
    private readonly deps: ModelVersionServiceDeps,
  ) {}

  async createVersion(input: CreateVersionInput): Promise<ModelVersionRecord> {
    const name = checkModelName(input.name);
    const sourceText = checkText(input.source, 'source', REGISTRY_LIMITS.maxSourceLength);
    const givenRunId = checkOptionalText(input.runId, 'run_id', 64) || undefined;
    const tags = checkTags(input.tags);
    const description = checkOptionalText(
      input.description,
      'description',
      REGISTRY_LIMITS.maxDescriptionLength,
    );
    const runLink = checkOptionalText(input.runLink, 'run_link', REGISTRY_LIMITS.maxSourceLength) ?? '';
    const declared = checkFormat(input.format);
    const actor = input.actor ?? LOCAL_ACTOR;

    await requireModel(this.ctx.store, name);
    const resolved = await this.resolveSource(sourceText);
    if (givenRunId !== undefined && resolved.runId !== undefined && givenRunId !== resolved.runId) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `run_id ${givenRunId} does not match the run of source ${sourceText} (${resolved.runId})`,
        { field: 'run_id' },
      );
    }
    const runId = givenRunId ?? resolved.runId;
    if (givenRunId !== undefined && resolved.runId === undefined) await this.deps.runs.getRun(givenRunId);
    const inspection = await inspectModel(
      resolved.files.map((f) => ({
        path: f.path,
        sizeBytes: f.sizeBytes,
        open: () => this.deps.blobs.get(f.digest),
      })),
      declared,
    );
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry, lineage }) => {
      const model = await requireModel(registry, name);
      const number = await registry.nextVersionNumber(model.modelId);
      const record: ModelVersionRecord = {
        versionId: newId(),
        modelId: model.modelId,
        name: model.name,
        version: number,
        description: description ?? '',
        userId: actor,
        status: 'READY',
        statusMessage: inspection.warnings.join('; '),
        stage: 'None',
        source: sourceText,
        runId: runId ?? null,
        runLink,
        format: inspection.format,
        digest: manifestDigest(resolved.files),
        fileCount: resolved.files.length,
        sizeBytes: resolved.files.reduce((sum, f) => sum + f.sizeBytes, 0),
        signature: inspection.signature ?? null,
        formatDetails: {
          ...inspection.details,
          ...(inspection.warnings.length > 0 ? { warnings: inspection.warnings } : {}),
        },
        creationTime: now,
        lastUpdateTime: now,
        tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
        aliases: [],
      };
      const { aliases: _aliases, ...row } = record;
      await registry.insertVersion(row, resolved.files);
      await registry.updateModel(model.modelId, { lastUpdateTime: now });
      if (runId !== undefined) {
        await recordEdges({ lineage }, [
          {
            from: { kind: 'run', id: runId },
            to: { kind: 'model_version', id: record.versionId },
            relation: 'produced',
            createdAt: now,
          },
        ]);
      }
      return record;
    });
  }

  private async resolveSource(sourceText: string): Promise<ResolvedFiles> {
    const source = parseModelSource(sourceText);
    if (source.kind !== 'model') return resolveArtifactFiles(source, this.deps);
    const from = await this.resolve(
      `${source.name}${source.reference.startsWith('@') ? '' : '/'}${source.reference}`,
    );
    return {
      files: sortFiles(await this.ctx.store.listFiles(from.versionId, '')),
      runId: from.runId ?? undefined,
    };
  }

  async getVersion(rawName: unknown, rawVersion: unknown): Promise<ModelVersionRecord> {
    const model = await requireModel(this.ctx.store, checkModelName(rawName));
    return requireVersion(this.ctx.store, model, checkVersionNumber(rawVersion));
  }

  /**
   * `name@alias`, `name/3`, `name/latest`, `name` (the newest version), or the
   * same as a `models:/` URI.
   */
  async resolve(rawReference: unknown): Promise<ModelVersionRecord> {
    const text = checkText(rawReference, 'model', REGISTRY_LIMITS.maxNameLength + 300).replace(
      /^models:\//,
      '',
    );
    const at = text.lastIndexOf('@');
    const slash = text.lastIndexOf('/');
    if (at > 0) return this.getByAlias(text.slice(0, at), text.slice(at + 1));
    const name = slash > 0 ? text.slice(0, slash) : text;
    const reference = slash > 0 ? text.slice(slash + 1) : 'latest';
    if (reference.toLowerCase() !== 'latest') {
      const stage = ['none', 'staging', 'production', 'archived'].includes(reference.toLowerCase());
      if (!stage) return this.getVersion(name, reference);
      const [latest] = await this.latestIn(name, checkStage(reference, 'model'));
      if (latest === undefined)
        throw new CairnError('NOT_FOUND', `No version of ${name} is in stage ${reference}`, {
          field: 'model',
        });
      return latest;
    }
    const model = await requireModel(this.ctx.store, checkModelName(name, 'model'), 'model');
    const [newest] = await this.ctx.store.searchVersions({
      filter: { kind: 'compare', entity: 'attribute', key: 'name', op: '=', value: model.name },
      orderBy: [{ entity: 'attribute', key: 'version_number', ascending: false }],
      offset: 0,
      limit: 1,
    });
    if (newest === undefined)
      throw new CairnError('NOT_FOUND', `Registered model ${model.name} has no versions`, { field: 'model' });
    return newest;
  }

  private async latestIn(name: string, stage: Stage): Promise<ModelVersionRecord[]> {
    const model = await requireModel(this.ctx.store, checkModelName(name, 'model'), 'model');
    return this.ctx.store.latestVersions(model.modelId, [stage]);
  }

  async getByAlias(rawName: unknown, rawAlias: unknown): Promise<ModelVersionRecord> {
    const model = await requireModel(this.ctx.store, checkModelName(rawName));
    const alias = checkText(rawAlias, 'alias', REGISTRY_LIMITS.maxAliasLength);
    const version = model.aliases[alias];
    if (version === undefined) {
      throw new CairnError('NOT_FOUND', `Registered model alias ${alias} not found on model ${model.name}`, {
        field: 'alias',
      });
    }
    return requireVersion(this.ctx.store, model, version);
  }

  async updateVersion(
    rawName: unknown,
    rawVersion: unknown,
    patch: { description?: unknown },
  ): Promise<ModelVersionRecord> {
    const description = checkOptionalText(
      patch.description,
      'description',
      REGISTRY_LIMITS.maxDescriptionLength,
    );
    return this.change(rawName, rawVersion, async (registry, record, now) => {
      if (description === undefined) return record;
      await registry.updateVersion(record.versionId, { description, lastUpdateTime: now });
      return { ...record, description, lastUpdateTime: now };
    });
  }

  /** Removes the version; aliases pointing at it go with it and its stage interval closes. */
  async deleteVersion(rawName: unknown, rawVersion: unknown, actor = LOCAL_ACTOR): Promise<void> {
    await this.change(rawName, rawVersion, async (registry, record, now) => {
      const { modelId, version } = record;
      await registry.deleteAliasesOf(modelId, version);
      await registry.closeLabels({ modelId, kind: 'alias', version, at: now, actor });
      await registry.closeLabels({ modelId, kind: 'stage', version, at: now, actor });
      await registry.deleteVersion(record.versionId);
      return record;
    });
  }

  async searchVersions(input: SearchInput): Promise<Page<ModelVersionRecord>> {
    const filterText = checkOptionalText(input.filter, 'filter', 20_000) ?? '';
    const filter = parseFilter(filterText, MODEL_VERSION_SEARCH);
    const orderBy = parseOrderBy(checkOrderBy(input.orderBy), MODEL_VERSION_SEARCH);
    const limit = checkMaxResults(input.maxResults, 10_000, REGISTRY_LIMITS.maxSearchResultsVersions);
    const offset = decodePageToken(checkOptionalText(input.pageToken, 'page_token', 1_000));
    return page(await this.ctx.store.searchVersions({ filter, orderBy, offset, limit }), offset, limit);
  }

  async setVersionTag(input: {
    name: unknown;
    version: unknown;
    key: unknown;
    value: unknown;
  }): Promise<void> {
    const key = checkTagKey(input.key);
    const value = checkText(input.value, 'value', REGISTRY_LIMITS.maxTagValueLength);
    await this.change(input.name, input.version, async (registry, record, now) => {
      await registry.setVersionTag(record.versionId, key, value);
      await registry.updateVersion(record.versionId, { lastUpdateTime: now });
      return record;
    });
  }

  async deleteVersionTag(input: { name: unknown; version: unknown; key: unknown }): Promise<void> {
    const key = checkTagKey(input.key);
    await this.change(input.name, input.version, async (registry, record) => {
      if (!(await registry.deleteVersionTag(record.versionId, key))) {
        throw new CairnError(
          'NOT_FOUND',
          `No tag with key=${key} on model version ${record.name}/${record.version}`,
          {
            field: 'key',
          },
        );
      }
      return record;
    });
  }

  /** MLflow stages, kept for older clients; `archiveExisting` archives the others in Staging/Production. */
  async transitionStage(input: {
    name: unknown;
    version: unknown;
    stage: unknown;
    archiveExistingVersions?: unknown;
    actor?: string;
  }): Promise<ModelVersionRecord> {
    const stage = checkStage(input.stage);
    const archiveExisting = checkBoolean(input.archiveExistingVersions, 'archive_existing_versions');
    if (archiveExisting && !ACTIVE_STAGES.includes(stage)) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `archive_existing_versions: only applies when moving to Staging or Production, not ${stage}`,
        { field: 'archive_existing_versions' },
      );
    }
    const actor = input.actor ?? LOCAL_ACTOR;
    return this.change(input.name, input.version, async (registry, record, now) => {
      const moves = [{ record, stage }];
      if (archiveExisting) {
        const others = await registry.versionsInStage(record.modelId, stage);
        moves.push(
          ...others
            .filter((o) => o.version !== record.version)
            .map((o) => ({ record: o, stage: 'Archived' as Stage })),
        );
      }
      for (const move of moves) {
        if (move.record.stage === move.stage) continue;
        const { modelId, version, versionId } = move.record;
        await registry.updateVersion(versionId, { stage: move.stage, lastUpdateTime: now });
        await registry.closeLabels({ modelId, kind: 'stage', version, at: now, actor });
        if (move.stage !== 'None') {
          await registry.openLabel({
            entryId: newId(),
            modelId,
            kind: 'stage',
            label: move.stage,
            version,
            at: now,
            actor,
          });
        }
      }
      return { ...record, stage, lastUpdateTime: now };
    });
  }

  /** Labels for lineage nodes of kind `model_version`, for a whole graph at once. */
  async describeVersions(
    versionIds: readonly string[],
  ): Promise<Map<string, { label: string; attributes: Record<string, unknown> }>> {
    const records = await this.ctx.store.getVersionsByIds(versionIds);
    return new Map(
      records.map((r) => [
        r.versionId,
        {
          label: `${r.name}/${r.version}`,
          attributes: {
            name: r.name,
            version: r.version,
            format: r.format,
            digest: r.digest,
            stage: r.stage,
            aliases: r.aliases,
            createdAt: r.creationTime,
          },
        },
      ]),
    );
  }

  /** Where MLflow clients download the pinned files: the read-only `_registry/` tree of the artifact proxy. */
  async downloadUri(rawName: unknown, rawVersion: unknown): Promise<string> {
    const record = await this.getVersion(rawName, rawVersion);
    return `mlflow-artifacts:/${pinnedArtifactPath(record.versionId)}`;
  }

  async listFiles(rawName: unknown, rawVersion: unknown): Promise<PinnedFile[]> {
    const record = await this.getVersion(rawName, rawVersion);
    return this.ctx.store.listFiles(record.versionId, '');
  }

  /** Streams one pinned file; the blob store fails the stream if the bytes no longer match the digest. */
  async openFile(input: {
    name: unknown;
    version: unknown;
    path: unknown;
  }): Promise<{ file: PinnedFile; stream: Readable }> {
    const record = await this.getVersion(input.name, input.version);
    const path = checkText(input.path, 'path', 4_000);
    const file = await this.ctx.store.getFile(record.versionId, path);
    if (file === undefined) {
      throw new CairnError(
        'NOT_FOUND',
        `Model version ${record.name}/${record.version} has no file "${path}"`,
        { field: 'path' },
      );
    }
    return { file, stream: await this.deps.blobs.get(file.digest) };
  }

  private async change(
    rawName: unknown,
    rawVersion: unknown,
    work: (
      registry: RegistryContextStore,
      record: ModelVersionRecord,
      now: number,
    ) => Promise<ModelVersionRecord>,
  ): Promise<ModelVersionRecord> {
    const name = checkModelName(rawName);
    const version = checkVersionNumber(rawVersion);
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      const record = await requireVersion(registry, model, version);
      const result = await work(registry, record, now);
      await registry.updateModel(model.modelId, { lastUpdateTime: now });
      return result;
    });
  }
}

type RegistryContextStore = RegistryContext['store'];

function checkFormat(value: unknown): ModelFormat | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && (MODEL_FORMATS as readonly string[]).includes(value.toLowerCase())) {
    return value.toLowerCase() as ModelFormat;
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `format: ${JSON.stringify(value)} is not one of ${MODEL_FORMATS.join(', ')}`,
    {
      field: 'format',
    },
  );
}
