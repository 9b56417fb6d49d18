import { isCairnError, POLICY_CARD_FIELDS, type PolicyCardField, type RiskTier } from '@cairn/contract';
import { runAsCaller, SYSTEM_CALLER } from '../governance/index.js';
import type { PromotionFacts } from './entities.js';

/** What the checks read, from the tracking, registry and lineage services (wired in app.ts). */
export interface EvidenceSources {
  versions: {
    getVersion(name: unknown, version: unknown): Promise<{ runId: string | null }>;
  };
  cards: {
    getCard(
      name: unknown,
      version: unknown,
    ): Promise<{
      fields: Record<Exclude<PolicyCardField, 'riskTier'>, string> & { riskTier: RiskTier | null };
    }>;
  };
  runs: {
    getRun(runId: unknown): Promise<{ data: { metrics: ReadonlyArray<{ key: string; value: number }> } }>;
  };
  lineage: {
    upstream(node: { kind: unknown; id: unknown }): Promise<{
      nodes: ReadonlyArray<{ kind: string; id: string; label: string }>;
    }>;
  };
}

const DATASET_KINDS = new Set(['dataset', 'dataset_version']);

/**
 * Gathers the facts about a version, read as the server itself: the caller
 * was already allowed to request or decide in the model's project, and the
 * evidence must be the same whoever evaluates, so a source run in a project
 * the evaluator cannot read neither fails nor passes a check by accident.
 * Only what the policy's checks name reaches the request.
 */
export async function gatherFacts(
  sources: EvidenceSources,
  version: { modelName: string; version: number },
): Promise<PromotionFacts> {
  return runAsCaller(SYSTEM_CALLER, async () => {
    const { modelName, version: number } = version;
    const [record, card] = await Promise.all([
      sources.versions.getVersion(modelName, number),
      sources.cards.getCard(modelName, number),
    ]);
    const cardFields = Object.fromEntries(
      POLICY_CARD_FIELDS.map((f) => [f, card.fields[f] ?? null]),
    ) as Record<PolicyCardField, string | null>;
    if (record.runId === null) {
      return {
        runId: null,
        metrics: undefined,
        card: cardFields,
        riskTier: card.fields.riskTier,
        datasets: [],
      };
    }
    const runId = record.runId;
    const [run, upstream] = await Promise.all([
      sources.runs.getRun(runId).catch((error: unknown) => {
        // A deleted run fails the checks that need it; anything else is not evidence, it is an outage.
        if (isCairnError(error) && error.code === 'NOT_FOUND') return undefined;
        throw error;
      }),
      sources.lineage.upstream({ kind: 'run', id: runId }),
    ]);
    return {
      runId,
      metrics:
        run === undefined ? undefined : Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value])),
      card: cardFields,
      riskTier: card.fields.riskTier,
      datasets: upstream.nodes
        .filter((n) => DATASET_KINDS.has(n.kind))
        .map(({ kind, id, label }) => ({ kind, id, label })),
    };
  });
}
