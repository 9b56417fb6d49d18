import { describe, expect, it } from 'vitest';
import { parsePolicyDocument } from '../governance/index.js';
import type { PromotionFacts } from './entities.js';
import { evaluatePromotion, type EvaluationInput } from './promotion-checks.js';

const policy = parsePolicyDocument({
  checks: {
    metrics: ['auc >= 0.85', 'loss < 0.3'],
    modelCard: ['intendedUse', 'limitations'],
    trainingData: true,
  },
  approvals: { default: 1, byRiskTier: { high: 2, low: 0 } },
});

const facts: PromotionFacts = {
  runId: 'r1',
  metrics: { auc: 0.9, loss: 0.1 },
  card: {
    intendedUse: 'churn',
    outOfScopeUse: '',
    limitations: 'none known',
    ethicalConsiderations: '',
    riskTier: 'medium',
    markdown: '',
  },
  riskTier: 'medium',
  datasets: [{ kind: 'dataset', id: 'd1', label: 'train' }],
};

type InputOverrides = Partial<Omit<EvaluationInput, 'facts'>> & { facts?: Partial<PromotionFacts> };

const input = (over: InputOverrides = {}): EvaluationInput => ({
  requester: 'alice',
  approvedBy: ['bob'],
  now: 1_000,
  expiresAt: 2_000,
  ...over,
  facts: { ...facts, ...over.facts },
});

const failed = (i: EvaluationInput, p = policy) =>
  evaluatePromotion(p, i)
    .checks.filter((c) => !c.passed)
    .map((c) => c.id);

describe('promotion checks', () => {
  it('passes when every check and the approvals are in', () => {
    const result = evaluatePromotion(policy, input());
    expect(result.passed).toBe(true);
    expect(result.checks.map((c) => c.id)).toEqual([
      'metric:auc >= 0.85',
      'metric:loss < 0.3',
      'model_card',
      'training_data',
      'approvals',
      'four_eyes',
      'expiry',
    ]);
    expect(result.approvals).toEqual({ count: 1, required: 1, riskTier: 'medium' });
  });

  it.each<[string, Parameters<typeof input>[0], string[]]>([
    [
      'a metric under its threshold',
      { facts: { metrics: { auc: 0.84, loss: 0.1 } } },
      ['metric:auc >= 0.85'],
    ],
    ['a metric never logged', { facts: { metrics: { auc: 0.9 } } }, ['metric:loss < 0.3']],
    ['a NaN metric', { facts: { metrics: { auc: Number.NaN, loss: 0.1 } } }, ['metric:auc >= 0.85']],
    [
      'no source run',
      { facts: { runId: null, metrics: undefined, datasets: [] } },
      ['metric:auc >= 0.85', 'metric:loss < 0.3', 'training_data'],
    ],
    ['an unreadable run', { facts: { metrics: undefined } }, ['metric:auc >= 0.85', 'metric:loss < 0.3']],
    ['a blank card field', { facts: { card: { ...facts.card, limitations: '  ' } } }, ['model_card']],
    ['no dataset in lineage', { facts: { datasets: [] } }, ['training_data']],
    ['high risk with one approval', { facts: { riskTier: 'high' } }, ['approvals']],
    ['no approval', { approvedBy: [] }, ['approvals']],
    ['past the expiry', { now: 2_000 }, ['expiry']],
    ['the requester’s own approval stored', { approvedBy: ['alice'] }, ['approvals', 'four_eyes']],
  ])('fails on %s, naming the check', (_name, over, expected) => {
    expect(failed(input(over))).toEqual(expected);
  });

  it('keeps the evidence a reviewer needs', () => {
    const result = evaluatePromotion(
      policy,
      input({ facts: { metrics: { auc: Number.NaN }, card: { ...facts.card, intendedUse: '' } } }),
    );
    const by = (id: string) => result.checks.find((c) => c.id === id)?.evidence;
    expect(by('metric:auc >= 0.85')).toEqual({
      metric: 'auc',
      op: '>=',
      threshold: 0.85,
      runId: 'r1',
      value: 'NaN',
    });
    expect(by('metric:loss < 0.3')).toMatchObject({
      value: null,
      reason: 'the source run logged no metric loss',
    });
    expect(by('model_card')).toEqual({
      required: ['intendedUse', 'limitations'],
      present: ['limitations'],
      missing: ['intendedUse'],
    });
    expect(by('approvals')).toEqual({ approvedBy: ['bob'], count: 1, required: 1, riskTier: 'medium' });
  });

  it('counts a reviewer once, lets zero approvals pass and drops four eyes when the policy does', () => {
    expect(
      evaluatePromotion(policy, input({ approvedBy: ['bob', 'bob'], facts: { riskTier: 'high' } })).passed,
    ).toBe(false);
    expect(evaluatePromotion(policy, input({ approvedBy: [], facts: { riskTier: 'low' } })).passed).toBe(
      true,
    );
    const trusting = parsePolicyDocument({ fourEyes: false });
    const own = evaluatePromotion(trusting, input({ approvedBy: ['alice'] }));
    expect(own.passed).toBe(true);
    expect(own.checks.map((c) => c.id)).toEqual(['approvals', 'expiry']);
  });
});
