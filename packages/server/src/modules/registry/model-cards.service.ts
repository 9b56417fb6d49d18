import { CairnError } from '@cairn/contract';
import type { ModelCardFields, ModelSignature, RiskTier } from './entities.js';
import type { ModelVersionService } from './model-versions.service.js';
import {
  authorizedModel,
  recheckModel,
  requireVersion,
  versionTarget,
  type RegistryContext,
} from './registry-context.js';
import {
  REGISTRY_LIMITS,
  checkModelName,
  checkRiskTier,
  checkText,
  checkVersionNumber,
} from './validation.js';

/** What the card needs from tracking: the source run's params, latest metrics and tags. */
export interface CardRunLookup {
  getRun(runId: unknown): Promise<{
    info: {
      runId: string;
      runName: string;
      experimentId: string;
      status: string;
      startTime: number;
      endTime: number | null;
    };
    data: {
      params: Record<string, string>;
      tags: Record<string, string>;
      metrics: Array<{ key: string; value: number }>;
    };
  }>;
}

/** What the card needs from lineage: the nodes upstream of the version. */
export interface CardProvenanceLookup {
  provenance(node: { kind: 'model_version'; id: string }): Promise<{
    nodes: Array<{ kind: string; id: string; label: string; attributes: Record<string, unknown> }>;
  }>;
}

export interface ModelCardView {
  model: string;
  version: number;
  fields: ModelCardFields;
  updatedAt: number | null;
  updatedBy: string | null;
  /** Filled from the registry, tracking and lineage on every read; never edited. */
  generated: {
    format: string;
    digest: string;
    stage: string;
    aliases: string[];
    createdAt: number;
    source: string;
    signature: ModelSignature | null;
    trainingData: Array<{ kind: string; id: string; label: string }>;
    sourceRun?: {
      runId: string;
      runName: string;
      experimentId: string;
      status: string;
      params: Record<string, string>;
      metrics: Record<string, number>;
    };
    codeVersions: Array<{ commit: string; source: string }>;
  };
}

const EMPTY_CARD: ModelCardFields = {
  intendedUse: '',
  outOfScopeUse: '',
  limitations: '',
  ethicalConsiderations: '',
  riskTier: null,
  markdown: '',
};

const FIELD_NAMES: Record<string, keyof ModelCardFields> = {
  intendedUse: 'intendedUse',
  intended_use: 'intendedUse',
  outOfScopeUse: 'outOfScopeUse',
  out_of_scope_use: 'outOfScopeUse',
  limitations: 'limitations',
  ethicalConsiderations: 'ethicalConsiderations',
  ethical_considerations: 'ethicalConsiderations',
  riskTier: 'riskTier',
  risk_tier: 'riskTier',
  markdown: 'markdown',
};

/** Model cards: the editable sections plus sections generated from tracking and lineage. */
export class ModelCardService {
  constructor(
    private readonly ctx: RegistryContext,
    private readonly deps: {
      versions: ModelVersionService;
      runs: CardRunLookup;
      lineage: CardProvenanceLookup;
    },
  ) {}

  async getCard(rawName: unknown, rawVersion: unknown): Promise<ModelCardView> {
    const record = await this.deps.versions.getVersion(rawName, rawVersion);
    const [stored, provenance, run] = await Promise.all([
      this.ctx.store.getCard(record.versionId),
      this.deps.lineage.provenance({ kind: 'model_version', id: record.versionId }),
      record.runId === null ? undefined : this.deps.runs.getRun(record.runId).catch(() => undefined),
    ]);
    const commits = new Map<string, string>();
    for (const node of provenance.nodes) {
      if (node.kind === 'code_version') commits.set(node.id, String(node.attributes['source'] ?? ''));
    }
    const runTags = run?.data.tags ?? {};
    const commit = runTags['mlflow.source.git.commit'];
    if (commit !== undefined && !commits.has(commit))
      commits.set(commit, runTags['mlflow.source.name'] ?? '');
    if (commit === undefined && runTags['mlflow.source.name'] !== undefined)
      commits.set('', runTags['mlflow.source.name']);
    const { updatedAt, updatedBy, ...fields } = stored ?? { ...EMPTY_CARD, updatedAt: null, updatedBy: null };
    return {
      model: record.name,
      version: record.version,
      fields,
      updatedAt,
      updatedBy,
      generated: {
        format: record.format,
        digest: record.digest,
        stage: record.stage,
        aliases: record.aliases,
        createdAt: record.creationTime,
        source: record.source,
        signature: record.signature,
        trainingData: provenance.nodes
          .filter((n) => n.kind === 'dataset' || n.kind === 'dataset_version')
          .map(({ kind, id, label }) => ({ kind, id, label })),
        ...(run === undefined
          ? {}
          : {
              sourceRun: {
                runId: run.info.runId,
                runName: run.info.runName,
                experimentId: run.info.experimentId,
                status: run.info.status,
                params: run.data.params,
                metrics: Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value])),
              },
            }),
        codeVersions: [...commits].map(([c, source]) => ({ commit: c, source })),
      },
    };
  }

  /**
   * Changes the given sections and keeps the rest; unknown fields and risk
   * tiers are refused. Needs `write` in the model's project.
   */
  async updateCard(input: { name: unknown; version: unknown; patch: unknown }): Promise<ModelCardView> {
    const patch = checkCardPatch(input.patch);
    const name = checkModelName(input.name);
    const version = checkVersionNumber(input.version);
    const action = 'model_cards.update';
    const target = versionTarget(name, version);
    const checked = await authorizedModel(this.ctx, { name, permission: 'write', action, target });
    const now = this.ctx.clock.now();
    const actor = this.ctx.access.caller().actor;
    await this.ctx.transactor.run(async ({ registry, audit }) => {
      const model = await recheckModel(this.ctx, registry, { checked, permission: 'write', action });
      const record = await requireVersion(registry, model, version);
      const existing = await registry.getCard(record.versionId);
      const base: ModelCardFields = existing === undefined ? EMPTY_CARD : existing;
      const merged: ModelCardFields = {
        intendedUse: patch.intendedUse ?? base.intendedUse,
        outOfScopeUse: patch.outOfScopeUse ?? base.outOfScopeUse,
        limitations: patch.limitations ?? base.limitations,
        ethicalConsiderations: patch.ethicalConsiderations ?? base.ethicalConsiderations,
        riskTier: patch.riskTier === undefined ? base.riskTier : patch.riskTier,
        markdown: patch.markdown ?? base.markdown,
      };
      await registry.putCard(record.versionId, merged, now, actor);
      // Sections run to 100 kB each: the chain names what changed, the card keeps the text.
      audit.record({
        action,
        target,
        projectId: model.projectId,
        details: {
          fields: Object.keys(patch).sort(),
          ...(patch.riskTier === undefined
            ? {}
            : { riskTier: patch.riskTier, previousRiskTier: base.riskTier }),
        },
      });
    });
    return this.getCard(input.name, input.version);
  }
}

export function checkCardPatch(value: unknown): Partial<ModelCardFields> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CairnError('INVALID_ARGUMENT', 'card: must be an object of card sections', { field: 'card' });
  }
  const patch: Partial<ModelCardFields> = {};
  for (const [key, raw] of Object.entries(value)) {
    const field = Object.hasOwn(FIELD_NAMES, key) ? FIELD_NAMES[key] : undefined;
    if (field === undefined) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `card.${key}: not a card section; expected one of intended_use, out_of_scope_use, limitations, ethical_considerations, risk_tier, markdown`,
        { field: `card.${key}` },
      );
    }
    if (field === 'riskTier') patch.riskTier = checkRiskTier(raw, `card.${key}`) as RiskTier | null;
    else patch[field] = checkText(raw, `card.${key}`, REGISTRY_LIMITS.maxCardFieldLength);
  }
  return patch;
}
