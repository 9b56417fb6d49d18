import type { Readable } from 'node:stream';
import { CairnError } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import type { BlobStore } from '../artifacts/index.js';
import { recordEdges } from '../lineage/index.js';
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
import type { LabelProtection } from './label-protection.js';
import { labelsOf, stageLabel } from './label-protection.js';
import { moveStage } from './label-moves.js';
import { manifestDigest } from './model-files.js';
import { parseModelSource } from './model-source.js';
import { page, type SearchInput } from './registry-input.js';
import { authorizedModel, recheckModel, versionTarget, type RegistryContext } from './registry-context.js';
import { MODEL_VERSION_SEARCH, registrySearchQuery } from './registry-search.js';
import {
  REGISTRY_LIMITS,
  checkBoolean,
  checkModelName,
  checkOptionalText,
  checkStage,
  checkTagKey,
  checkTags,
  checkText,
} from './validation.js';
import { changeVersion, type FoundVersion } from './version-change.js';
import { VersionResolver } from './version-resolver.js';
import { VersionSources, type VersionSourceDeps } from './version-sources.js';

export interface ModelVersionServiceDeps extends VersionSourceDeps {
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
}

const ACTIVE_STAGES: readonly Stage[] = ['Staging', 'Production'];

/**
 * Model versions: registration (pinning + inspection), reads, stages, tags,
 * files. Reads need `read` in the model's project, changes `write`, checked
 * before any transaction opens; every change records its audit event in its
 * transaction.
 */
export class ModelVersionService {
  private readonly sources: VersionSources;
  private readonly reads: VersionResolver;

  constructor(
    private readonly ctx: RegistryContext,
    private readonly deps: ModelVersionServiceDeps,
  ) {
    this.reads = new VersionResolver(ctx);
    this.sources = new VersionSources(ctx, {
      ...deps,
      resolveModel: (reference) => this.reads.resolve(reference),
    });
  }

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
    const action = 'model_versions.create';

    const checked = await authorizedModel(this.ctx, { name, permission: 'write', action });
    const resolved = await this.sources.resolve(parseModelSource(sourceText));
    if (givenRunId !== undefined && resolved.runId !== undefined && givenRunId !== resolved.runId) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `run_id ${givenRunId} does not match the run of source ${sourceText} (${resolved.runId})`,
        { field: 'run_id' },
      );
    }
    const runId = givenRunId ?? resolved.runId;
    if (givenRunId !== undefined && resolved.runId === undefined) {
      await this.deps.runs.getRun(givenRunId);
      await this.sources.requireRunReadable(givenRunId, action);
    }
    const inspection = await inspectModel(
      resolved.files.map((f) => ({
        path: f.path,
        sizeBytes: f.sizeBytes,
        open: () => this.deps.blobs.get(f.digest),
      })),
      declared,
    );
    const now = this.ctx.clock.now();
    const actor = this.ctx.access.caller().actor;
    return this.ctx.transactor.run(async ({ registry, lineage, audit }) => {
      const model = await recheckModel(this.ctx, registry, { checked, permission: 'write', action });
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
      const { source, format, digest, fileCount, sizeBytes } = record;
      audit.record({
        action,
        target: versionTarget(model.name, number),
        projectId: model.projectId,
        details: {
          versionId: record.versionId,
          source,
          runId: record.runId,
          format,
          digest,
          fileCount,
          sizeBytes,
          description: record.description,
          tags: record.tags,
        },
      });
      return record;
    });
  }

  async getVersion(rawName: unknown, rawVersion: unknown): Promise<ModelVersionRecord> {
    return this.reads.version(rawName, rawVersion, 'model_versions.get');
  }

  /**
   * `name@alias`, `name/3`, `name/latest`, `name` (the newest version), or the
   * same as a `models:/` URI.
   */
  async resolve(rawReference: unknown): Promise<ModelVersionRecord> {
    return this.reads.resolve(rawReference);
  }

  async getByAlias(rawName: unknown, rawAlias: unknown): Promise<ModelVersionRecord> {
    return this.reads.byAlias(rawName, rawAlias);
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
    const request = { name: rawName, version: rawVersion, action: 'model_versions.update' };
    return changeVersion(this.ctx, request, async ({ registry }, { record }, now) => {
      if (description === undefined) return { result: record };
      await registry.updateVersion(record.versionId, { description, lastUpdateTime: now });
      return { result: { ...record, description, lastUpdateTime: now }, details: { description } };
    });
  }

  /**
   * Removes the version; aliases pointing at it go with it and its stage
   * interval closes. A version holding a protected label goes only by a
   * project admin's hand.
   */
  async deleteVersion(rawName: unknown, rawVersion: unknown): Promise<void> {
    const action = 'model_versions.delete';
    const request = {
      name: rawName,
      version: rawVersion,
      action,
      guard: (protection: LabelProtection, { model, record }: FoundVersion) =>
        protection.requireAdminToRemove(this.ctx.access, {
          model,
          version: record.version,
          labels: labelsOf(record),
          action,
        }),
    };
    const actor = this.ctx.access.caller().actor;
    await changeVersion(this.ctx, request, async ({ registry }, { record }, now) => {
      const { modelId, version } = record;
      const aliases = await registry.deleteAliasesOf(modelId, version);
      await registry.closeLabels({ modelId, kind: 'alias', version, at: now, actor });
      await registry.closeLabels({ modelId, kind: 'stage', version, at: now, actor });
      await registry.deleteVersion(record.versionId);
      return { result: record, details: { versionId: record.versionId, stage: record.stage, aliases } };
    });
  }

  async searchVersions(input: SearchInput): Promise<Page<ModelVersionRecord>> {
    const query = registrySearchQuery(input, {
      subject: MODEL_VERSION_SEARCH,
      defaultLimit: 10_000,
      maxLimit: REGISTRY_LIMITS.maxSearchResultsVersions,
      readable: this.ctx.access.readableProjects(),
    });
    if (query === undefined) return { items: [] };
    return page(await this.ctx.store.searchVersions(query), query.offset, query.limit);
  }

  async setVersionTag(input: {
    name: unknown;
    version: unknown;
    key: unknown;
    value: unknown;
  }): Promise<void> {
    const key = checkTagKey(input.key);
    const value = checkText(input.value, 'value', REGISTRY_LIMITS.maxTagValueLength);
    const request = { name: input.name, version: input.version, action: 'model_versions.tag_set' };
    await changeVersion(this.ctx, request, async ({ registry }, { record }, now) => {
      await registry.setVersionTag(record.versionId, key, value);
      await registry.updateVersion(record.versionId, { lastUpdateTime: now });
      return { result: record, details: { key, value } };
    });
  }

  async deleteVersionTag(input: { name: unknown; version: unknown; key: unknown }): Promise<void> {
    const key = checkTagKey(input.key);
    const request = { name: input.name, version: input.version, action: 'model_versions.tag_delete' };
    await changeVersion(this.ctx, request, async ({ registry }, { record }) => {
      if (!(await registry.deleteVersionTag(record.versionId, key))) {
        throw new CairnError(
          'NOT_FOUND',
          `No tag with key=${key} on model version ${record.name}/${record.version}`,
          { field: 'key' },
        );
      }
      return { result: record, details: { key } };
    });
  }

  /**
   * MLflow stages, kept for older clients; `archiveExisting` archives the
   * others in Staging/Production. Moving onto a stage the project's policy
   * protects goes through a promotion request; moving off one is for project
   * admins.
   */
  async transitionStage(input: {
    name: unknown;
    version: unknown;
    stage: unknown;
    archiveExistingVersions?: unknown;
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
    const action = 'model_versions.stage_transition';
    const request = {
      name: input.name,
      version: input.version,
      action,
      guard: (protection: LabelProtection, { model, record }: FoundVersion) => {
        const version = record.version;
        protection.refuseProtectedMove({ model, version, target: stageLabel(stage), action });
        if (record.stage === stage || record.stage === 'None') return;
        const labels = [stageLabel(record.stage)];
        protection.requireAdminToRemove(this.ctx.access, { model, version, labels, action });
      },
    };
    const actor = this.ctx.access.caller().actor;
    return changeVersion(this.ctx, request, async (stores, { model, record }, at) => ({
      result: await moveStage(stores, { model, record, stage, archiveExisting, at, actor }),
    }));
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

  /**
   * The project of a version's model, with no permission check: for the
   * artifact proxy deciding who may read `_registry/<version id>/…`.
   */
  async projectOfVersion(versionId: string): Promise<string | undefined> {
    return this.ctx.store.projectOfVersion(versionId);
  }

  /** Where MLflow clients download the pinned files: the read-only `_registry/` tree of the artifact proxy. */
  async downloadUri(rawName: unknown, rawVersion: unknown): Promise<string> {
    const record = await this.reads.version(rawName, rawVersion, 'model_versions.download');
    return `mlflow-artifacts:/${pinnedArtifactPath(record.versionId)}`;
  }

  async listFiles(rawName: unknown, rawVersion: unknown): Promise<PinnedFile[]> {
    const record = await this.reads.version(rawName, rawVersion, 'model_versions.download');
    return this.ctx.store.listFiles(record.versionId, '');
  }

  /** Streams one pinned file; the blob store fails the stream if the bytes no longer match the digest. */
  async openFile(input: {
    name: unknown;
    version: unknown;
    path: unknown;
  }): Promise<{ file: PinnedFile; stream: Readable }> {
    const record = await this.reads.version(input.name, input.version, 'model_versions.download');
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
}

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
