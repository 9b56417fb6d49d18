import {
  CairnError,
  POLICY_CARD_FIELDS,
  POLICY_LIMITS,
  PROTECTABLE_STAGES,
  RISK_TIERS,
  type MetricOperator,
  type PolicyCardField,
  type PolicyDocument,
  type ProtectableStage,
  type RiskTier,
} from '@cairn/contract';
import { parseDocument } from 'yaml';
import type { LabelTarget } from './protected-targets.js';

/**
 * A project's policy: which labels are protected and what a promotion request
 * must pass. Parsed from JSON or YAML into one normal form; the canonical JSON
 * of that form (`policyJson`) is what is stored and frozen into requests.
 */
export interface MetricCondition {
  readonly metric: string;
  readonly op: MetricOperator;
  readonly threshold: number;
  /** `auc >= 0.85`: the condition as the policy states it (and the check's id). */
  readonly text: string;
}

export interface Policy {
  readonly protect: { readonly aliases: readonly string[]; readonly stages: readonly ProtectableStage[] };
  readonly checks: {
    readonly metrics: readonly MetricCondition[];
    readonly modelCard: readonly PolicyCardField[];
    readonly trainingData: boolean;
  };
  readonly approvals: { readonly default: number; readonly byRiskTier: Partial<Record<RiskTier, number>> };
  readonly fourEyes: boolean;
  readonly requestTtlDays: number;
}

export type PolicyFormat = 'json' | 'yaml';

const GOVERNED_PROTECT = { aliases: ['champion'], stages: ['Production'] as ProtectableStage[] };

/** What a stored policy leaves out: a policy alone says what it protects, whatever the server's mode. */
const DEFAULTS = {
  protect: GOVERNED_PROTECT,
  approvals: 1,
  fourEyes: true,
  requestTtlDays: 14,
} as const;

/** With auth on and no stored policy: `champion` and `Production` need one other person's approval. */
export const GOVERNED_DEFAULT_POLICY: Policy = freeze({
  protect: GOVERNED_PROTECT,
  checks: { metrics: [], modelCard: [], trainingData: false },
  approvals: { default: DEFAULTS.approvals, byRiskTier: {} },
  fourEyes: DEFAULTS.fourEyes,
  requestTtlDays: DEFAULTS.requestTtlDays,
});

/** Local mode with no stored policy: a laptop's MLflow workflow moves labels as it always did. */
export const LOCAL_DEFAULT_POLICY: Policy = freeze({
  ...GOVERNED_DEFAULT_POLICY,
  protect: { aliases: [], stages: [] },
});

// Same rule as the registry's aliases (governance sits below the registry, so it is restated here).
const ALIAS_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;
const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const CONDITION = new RegExp(String.raw`^\s*(.+?)\s*(>=|<=|==|!=|>|<)\s*(${NUMBER})\s*$`);
const EXPECTED_CONDITION =
  'expected "<metric> <op> <number>" with op one of >=, >, <=, <, ==, !=, e.g. "auc >= 0.85"';

const TOP_KEYS = ['protect', 'checks', 'approvals', 'fourEyes', 'requestTtlDays'] as const;

function invalid(path: string, message: string): CairnError {
  return new CairnError('INVALID_ARGUMENT', `${path === '' ? 'policy' : path}: ${message}`, {
    field: path === '' ? 'document' : `document.${path}`,
  });
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value} ${String(value)}`;
}

function mapping(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, `expected a mapping, got ${kindOf(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      const where = path === '' ? key : `${path}.${key}`;
      throw invalid(where, `unknown key; expected one of ${keys.join(', ')}`);
    }
  }
  return value as Record<string, unknown>;
}

function list(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw invalid(path, `expected a list, got ${kindOf(value)}`);
  if (value.length > max) throw invalid(path, `at most ${max} entries, got ${value.length}`);
  return value;
}

function flag(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalid(path, `expected true or false, got ${kindOf(value)}`);
  return value;
}

function wholeNumber(value: unknown, path: string, range: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw invalid(path, `expected a whole number from ${range.min} to ${range.max}, got ${kindOf(value)}`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalid(path, `expected one of ${choices.join(', ')}, got ${kindOf(value)}`);
  }
  return value as T;
}

function unique<T>(items: T[], path: string, keyOf: (item: T) => string): T[] {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    if (seen.has(key)) throw invalid(`${path}[${i}]`, `${JSON.stringify(key)} is listed twice`);
    seen.add(key);
  });
  return items;
}

export function parseMetricCondition(value: unknown, path: string): MetricCondition {
  if (typeof value !== 'string') throw invalid(path, `${EXPECTED_CONDITION}, got ${kindOf(value)}`);
  // Bounded before the regular expression sees it, so its backtracking stays linear in practice.
  if (value.length > POLICY_LIMITS.maxMetricNameLength + 64)
    throw invalid(path, `${EXPECTED_CONDITION} (too long)`);
  const match = CONDITION.exec(value);
  if (match === null) throw invalid(path, EXPECTED_CONDITION);
  // The examples write `metrics.auc`; a metric literally named `metrics.x` is `metrics.metrics.x`.
  const metric = match[1]!.startsWith('metrics.') ? match[1]!.slice('metrics.'.length) : match[1]!;
  const threshold = Number(match[3]);
  if (metric === '' || metric.length > POLICY_LIMITS.maxMetricNameLength) {
    throw invalid(path, `the metric name must be 1-${POLICY_LIMITS.maxMetricNameLength} characters`);
  }
  if (!Number.isFinite(threshold)) throw invalid(path, `${match[3]} is not a finite number`);
  const op = match[2] as MetricOperator;
  return { metric, op, threshold, text: `${metric} ${op} ${threshold}` };
}

function parseProtect(value: unknown): Policy['protect'] {
  if (value === undefined) return DEFAULTS.protect;
  const raw = mapping(value, 'protect', ['aliases', 'stages']);
  const aliases = list(raw['aliases'] ?? [], 'protect.aliases', POLICY_LIMITS.maxAliases).map((a, i) => {
    const path = `protect.aliases[${i}]`;
    if (typeof a !== 'string' || !ALIAS_PATTERN.test(a) || /^[vV]?\d+$/.test(a)) {
      throw invalid(
        path,
        `expected an alias name (a letter or "_", then letters, digits, "_" or "-"), got ${kindOf(a)}`,
      );
    }
    return a;
  });
  const stages = list(raw['stages'] ?? [], 'protect.stages', PROTECTABLE_STAGES.length + 1).map((s, i) =>
    oneOf(s, `protect.stages[${i}]`, PROTECTABLE_STAGES),
  );
  return {
    aliases: unique(aliases, 'protect.aliases', (a) => a),
    stages: unique(stages, 'protect.stages', (s) => s),
  };
}

function parseChecks(value: unknown): Policy['checks'] {
  const raw = mapping(value ?? {}, 'checks', ['metrics', 'modelCard', 'trainingData']);
  const metrics = list(raw['metrics'] ?? [], 'checks.metrics', POLICY_LIMITS.maxMetricChecks).map((m, i) =>
    parseMetricCondition(m, `checks.metrics[${i}]`),
  );
  const card = list(raw['modelCard'] ?? [], 'checks.modelCard', POLICY_CARD_FIELDS.length + 1).map((f, i) =>
    oneOf(f, `checks.modelCard[${i}]`, POLICY_CARD_FIELDS),
  );
  return {
    metrics: unique(metrics, 'checks.metrics', (m) => m.text),
    modelCard: unique(card, 'checks.modelCard', (f) => f),
    trainingData:
      raw['trainingData'] === undefined ? false : flag(raw['trainingData'], 'checks.trainingData'),
  };
}

function parseApprovals(value: unknown): Policy['approvals'] {
  const raw = mapping(value ?? {}, 'approvals', ['default', 'byRiskTier']);
  const range = { min: 0, max: POLICY_LIMITS.maxApprovals };
  const byTier = mapping(raw['byRiskTier'] ?? {}, 'approvals.byRiskTier', RISK_TIERS);
  const byRiskTier: Partial<Record<RiskTier, number>> = {};
  for (const tier of RISK_TIERS) {
    if (byTier[tier] !== undefined) {
      byRiskTier[tier] = wholeNumber(byTier[tier], `approvals.byRiskTier.${tier}`, range);
    }
  }
  return {
    default:
      raw['default'] === undefined
        ? DEFAULTS.approvals
        : wholeNumber(raw['default'], 'approvals.default', range),
    byRiskTier,
  };
}

/** Checks a policy given as a value (parsed JSON or YAML); every refusal names the path at fault. */
export function parsePolicyDocument(value: unknown): Policy {
  const raw = mapping(value, '', TOP_KEYS);
  return freeze({
    protect: parseProtect(raw['protect']),
    checks: parseChecks(raw['checks']),
    approvals: parseApprovals(raw['approvals']),
    fourEyes: raw['fourEyes'] === undefined ? DEFAULTS.fourEyes : flag(raw['fourEyes'], 'fourEyes'),
    requestTtlDays:
      raw['requestTtlDays'] === undefined
        ? DEFAULTS.requestTtlDays
        : wholeNumber(raw['requestTtlDays'], 'requestTtlDays', {
            min: 1,
            max: POLICY_LIMITS.maxRequestTtlDays,
          }),
  });
}

/** The text as its author wrote it, JSON or YAML; anchors may be used but never expand into a bomb. */
export function parsePolicySource(source: string, format: PolicyFormat): Policy {
  if (Buffer.byteLength(source, 'utf8') > POLICY_LIMITS.maxSourceBytes) {
    throw invalid('', `the text is larger than ${POLICY_LIMITS.maxSourceBytes} bytes`);
  }
  return parsePolicyDocument(format === 'json' ? parseJsonText(source) : parseYamlText(source));
}

/** JSON text starts with `{`; anything else is read as YAML (of which JSON is nearly a subset). */
export function sniffPolicyFormat(source: string): PolicyFormat {
  return source.trimStart().startsWith('{') ? 'json' : 'yaml';
}

function parseJsonText(source: string): unknown {
  try {
    return JSON.parse(source);
  } catch (error) {
    throw invalid('', `not valid JSON (${firstLine(error)})`);
  }
}

/** A policy nests four levels deep; the YAML parser slows down (and its errors grow) with every level. */
const MAX_FLOW_DEPTH = 16;

/** Deepest `[`/`{` nesting outside quotes and comments: a cheap look before the real parser. */
function flowDepth(source: string): number {
  let depth = 0;
  let deepest = 0;
  let quote: string | undefined;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(source[i - 1]!))) {
      const end = source.indexOf('\n', i);
      i = end === -1 ? source.length : end;
    } else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return deepest;
}

function parseYamlText(source: string): unknown {
  if (flowDepth(source) > MAX_FLOW_DEPTH) {
    throw invalid('', `nested more than ${MAX_FLOW_DEPTH} levels deep; a policy needs four`);
  }
  try {
    const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: true, stringKeys: true });
    const problem = doc.errors[0];
    if (problem !== undefined) throw invalid('', `not valid YAML (${firstLine(problem)})`);
    // Each alias may stand for a few nodes, not the billions a nested "billion laughs" expands to.
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof CairnError) throw error;
    // A stack overflow on absurd nesting, or the alias limit: refused either way, never a crash.
    throw invalid('', `not a YAML document Cairn accepts (${firstLine(error)})`);
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').slice(0, 200);
}

/** The policy in document form with every default filled in: the text stored and frozen into requests. */
export function policyJson(policy: Policy): PolicyDocument {
  return {
    protect: { aliases: [...policy.protect.aliases], stages: [...policy.protect.stages] },
    checks: {
      metrics: policy.checks.metrics.map((m) => m.text),
      modelCard: [...policy.checks.modelCard],
      trainingData: policy.checks.trainingData,
    },
    approvals: { default: policy.approvals.default, byRiskTier: { ...policy.approvals.byRiskTier } },
    fourEyes: policy.fourEyes,
    requestTtlDays: policy.requestTtlDays,
  };
}

export function protects(policy: Policy, target: LabelTarget): boolean {
  return target.kind === 'alias'
    ? policy.protect.aliases.includes(target.name)
    : (policy.protect.stages as readonly string[]).includes(target.name);
}

/** Approvals a version of this risk tier needs; a card with no tier takes the default. */
export function approvalsRequired(policy: Policy, riskTier: RiskTier | null): number {
  return (riskTier === null ? undefined : policy.approvals.byRiskTier[riskTier]) ?? policy.approvals.default;
}

export function compareMetric(value: number, condition: Pick<MetricCondition, 'op' | 'threshold'>): boolean {
  const { op, threshold } = condition;
  switch (op) {
    case '>=':
      return value >= threshold;
    case '>':
      return value > threshold;
    case '<=':
      return value <= threshold;
    case '<':
      return value < threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

function freeze(policy: Policy): Policy {
  return Object.freeze(policy);
}
