import type { PolicyCardField } from '@cairn/contract';
import { approvalsRequired, compareMetric, type MetricCondition, type Policy } from '../governance/index.js';
import type { CheckResult, Evaluation, PromotionFacts } from './entities.js';

/** Everything one evaluation needs besides the policy; no I/O happens here. */
export interface EvaluationInput {
  readonly facts: PromotionFacts;
  readonly requester: string;
  /** Distinct reviewers who approved, oldest first. */
  readonly approvedBy: readonly string[];
  readonly now: number;
  readonly expiresAt: number;
}

function metricCheck(condition: MetricCondition, facts: PromotionFacts): CheckResult {
  const id = `metric:${condition.text}`;
  const description = `metric ${condition.metric} ${condition.op} ${condition.threshold} on the source run`;
  const base = { metric: condition.metric, op: condition.op, threshold: condition.threshold };
  if (facts.runId === null || facts.metrics === undefined) {
    const reason =
      facts.runId === null ? 'the version has no source run' : `source run ${facts.runId} could not be read`;
    return { id, description, passed: false, evidence: { ...base, runId: facts.runId, value: null, reason } };
  }
  const value = facts.metrics[condition.metric];
  if (value === undefined) {
    const reason = `the source run logged no metric ${condition.metric}`;
    return { id, description, passed: false, evidence: { ...base, runId: facts.runId, value: null, reason } };
  }
  // NaN is kept as text: JSON has no NaN, and "not a number" is the evidence.
  const shown = Number.isFinite(value) ? value : String(value);
  return {
    id,
    description,
    passed: compareMetric(value, condition),
    evidence: { ...base, runId: facts.runId, value: shown },
  };
}

const filled = (value: string | null): boolean => value !== null && value.trim() !== '';

function cardCheck(fields: readonly PolicyCardField[], facts: PromotionFacts): CheckResult {
  const present = fields.filter((f) => filled(facts.card[f]));
  const missing = fields.filter((f) => !filled(facts.card[f]));
  return {
    id: 'model_card',
    description: `model card fields filled in: ${fields.join(', ')}`,
    passed: missing.length === 0,
    evidence: { required: [...fields], present, missing },
  };
}

function trainingDataCheck(facts: PromotionFacts): CheckResult {
  return {
    id: 'training_data',
    description: 'the source run has a dataset input recorded in lineage',
    passed: facts.runId !== null && facts.datasets.length > 0,
    evidence: {
      runId: facts.runId,
      datasets: facts.datasets.map(({ kind, id, label }) => ({ kind, id, label })),
      ...(facts.runId === null ? { reason: 'the version has no source run' } : {}),
    },
  };
}

/**
 * Judges a request by its frozen policy: one result per check, each with its
 * evidence, in the policy's order, then approvals, four eyes and expiry.
 * With four eyes the requester's own approval never counts, and one stored
 * anyway (a change of policy cannot cause it, a bug or a hand edit could)
 * fails the four-eyes check.
 */
export function evaluatePromotion(policy: Policy, input: EvaluationInput): Evaluation {
  const { facts, requester, now, expiresAt } = input;
  const checks: CheckResult[] = policy.checks.metrics.map((m) => metricCheck(m, facts));
  if (policy.checks.modelCard.length > 0) checks.push(cardCheck(policy.checks.modelCard, facts));
  if (policy.checks.trainingData) checks.push(trainingDataCheck(facts));

  const approvers = [...new Set(input.approvedBy)].filter((r) => !policy.fourEyes || r !== requester);
  const required = approvalsRequired(policy, facts.riskTier);
  checks.push({
    id: 'approvals',
    description:
      facts.riskTier === null
        ? `${required} approval(s) (no risk tier on the model card)`
        : `${required} approval(s) for risk tier ${facts.riskTier}`,
    passed: approvers.length >= required,
    evidence: { approvedBy: approvers, count: approvers.length, required, riskTier: facts.riskTier },
  });
  if (policy.fourEyes) {
    checks.push({
      id: 'four_eyes',
      description: 'the requester does not approve their own request',
      passed: !input.approvedBy.includes(requester),
      evidence: { requester, approvedBy: [...new Set(input.approvedBy)] },
    });
  }
  checks.push({
    id: 'expiry',
    description: `decided before ${new Date(expiresAt).toISOString()}`,
    passed: now < expiresAt,
    evidence: { expiresAt, evaluatedAt: now },
  });
  return {
    evaluatedAt: now,
    passed: checks.every((c) => c.passed),
    approvals: { count: approvers.length, required, riskTier: facts.riskTier },
    checks,
  };
}
