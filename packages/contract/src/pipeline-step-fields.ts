import { isCairnError } from './errors.js';
import { formatDuration, parseDuration, parseMemory } from './pipeline-durations.js';
import {
  PIPELINE_LIMITS,
  PIPELINE_NAME_PATTERN,
  type ForeachSource,
  type InputRef,
  type ParamValue,
  type ResourceHint,
  type RetryPolicy,
} from './pipeline-spec.js';

/**
 * Internal to pipeline-definition.ts (not exported from the package): how
 * one step's fields are read — input references, `foreach`, retry, timeout,
 * resources, env, code — and the small value checks they share.
 */

export type Report = (field: string, message: string) => void;

export interface RefContext {
  /** The step being read. */
  step: string;
  report: Report;
  params: ReadonlyMap<string, ParamValue>;
  /** Every step's declared outputs, read leniently before any step is checked. */
  outputsByStep: ReadonlyMap<string, readonly string[]>;
  stepNames: readonly string[];
  /** Filled in: the steps this one needs. */
  after: Set<string>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV_PREFIXES = ['CAIRN_', 'MLFLOW_'];
const DEFAULT_BACKOFF_MS = 1000;

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DATASET_REF = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_JSON_DEPTH = 64;
const LISTED_NAMES = 20;

/** A plain object: what YAML and JSON make of a map (not a list, Date or class instance). */
export function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (isMap(value)) return 'a map';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'} object`;
  return typeof value === 'undefined' ? 'nothing' : `a ${typeof value}`;
}

/** Code-unit order of `[name, value]` entries, independent of locale. */
export function byName<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export function nameProblem(what: string, name: string): string | null {
  return PIPELINE_NAME_PATTERN.test(name)
    ? null
    : `${describeValue(name)} is not a valid ${what} name: letters, digits, _ and -, ` +
        'starting with a letter or _, at most 64 characters';
}

/** `inputs are: a, b` or `the step declares no inputs`. */
export function listNames(what: string, names: readonly string[]): string {
  if (names.length === 0) return `the step declares no ${what}`;
  const more = names.length > LISTED_NAMES ? ` and ${names.length - LISTED_NAMES} more` : '';
  return `${what} are: ${names.slice(0, LISTED_NAMES).join(', ')}${more}`;
}

/** Why a value is not plain JSON (a Date, NaN, a cycle…), or null when it is. */
export function jsonProblem(value: unknown, root = 'the value'): string | null {
  const open = new Set<object>();
  const visit = (item: unknown, path: string, depth: number): string | null => {
    const it = path === '' ? root : `${root} at ${path.replace(/^\./, '')}`;
    if (item === null || typeof item === 'string' || typeof item === 'boolean') return null;
    if (typeof item === 'number') return Number.isFinite(item) ? null : `${it} is ${item}, not a JSON number`;
    if (!Array.isArray(item) && !isMap(item)) return `${it} is ${describeValue(item)}, not a JSON value`;
    if (open.has(item)) return `${it} contains itself`;
    if (depth >= MAX_JSON_DEPTH) return `${it} is nested more than ${MAX_JSON_DEPTH} levels deep`;
    open.add(item);
    const entries: Array<[string, unknown]> = Array.isArray(item)
      ? Array.from(item, (v, i) => [`${path}[${i}]`, v])
      : Object.entries(item).map(([k, v]) => [`${path}.${k}`, v]);
    for (const [at, v] of entries) {
      const problem = visit(v, at, depth + 1);
      if (problem !== null) return problem;
    }
    open.delete(item);
    return null;
  };
  return visit(value, '', 0);
}

/** Why a parameter name is wrong (the pipeline does not declare it), or null. */
export function paramProblem(ctx: RefContext, name: string): string | null {
  if (ctx.params.has(name)) return null;
  const declared = [...ctx.params.keys()].sort();
  const known =
    declared.length === 0 ? 'the pipeline declares no params' : `params are: ${declared.join(', ')}`;
  return `unknown param "${name}"; ${known}`;
}

/** Reports an unknown parameter; true when the pipeline declares it. */
export function checkParam(ctx: RefContext, name: string, field: string): boolean {
  const problem = paramProblem(ctx, name);
  if (problem !== null) ctx.report(field, problem);
  return problem === null;
}

/** Reports an unknown step or output; records the dependency when it is valid. */
function checkStepOutput(ctx: RefContext, ref: { step: string; output: string }, field: string): boolean {
  const outputs = ctx.outputsByStep.get(ref.step);
  if (outputs === undefined) {
    const steps = ctx.stepNames.slice(0, LISTED_NAMES).join(', ');
    const more =
      ctx.stepNames.length > LISTED_NAMES ? ` and ${ctx.stepNames.length - LISTED_NAMES} more` : '';
    ctx.report(field, `unknown step "${ref.step}"; steps are: ${steps}${more}`);
  } else if (ref.step === ctx.step) {
    ctx.report(field, `steps.${ref.step} is this step: a step cannot use its own outputs`);
  } else if (!outputs.includes(ref.output)) {
    const declared = outputs.length === 0 ? 'it declares no outputs' : `it declares: ${outputs.join(', ')}`;
    ctx.report(field, `steps.${ref.step} has no output "${ref.output}" (${declared})`);
  } else {
    ctx.after.add(ref.step);
    return true;
  }
  return false;
}

function datasetRef(name: string, ref: string): InputRef | string {
  if (!DATASET_NAME.test(name)) return `${describeValue(name)} is not a dataset name`;
  if (!DATASET_REF.test(ref)) return `${describeValue(ref)} is not a dataset version id or alias`;
  return { kind: 'dataset', dataset: name, ref };
}

const REF_FORMS =
  'write steps.<step>.outputs.<output>, params.<name> or dataset:<name>[@<version or alias>] ' +
  '(or a map: { step, output }, { param }, { dataset, version | alias })';

function readRefText(text: string): InputRef | string {
  if (text.startsWith('dataset:')) {
    const at = text.indexOf('@');
    return at < 0 ? datasetRef(text.slice(8), 'latest') : datasetRef(text.slice(8, at), text.slice(at + 1));
  }
  const parts = text.split('.');
  const [scope, first, middle, last] = parts;
  if (scope === 'steps' && parts.length === 4 && middle === 'outputs' && first && last) {
    return { kind: 'step', step: first, output: last };
  }
  if (scope === 'params' && parts.length === 2 && first) return { kind: 'param', param: first };
  return `${describeValue(text)} is not a reference: ${REF_FORMS}`;
}

function readRefMap(raw: Record<string, unknown>): InputRef | string {
  const kind = ['step', 'dataset', 'param'].find((key) => Object.hasOwn(raw, key));
  const allowed =
    kind === 'step' ? ['step', 'output'] : kind === 'dataset' ? ['dataset', 'version', 'alias'] : ['param'];
  const extra = Object.keys(raw).find((key) => !allowed.includes(key));
  if (kind === undefined || extra !== undefined) {
    return `unexpected ${extra === undefined ? 'map' : `key "${extra}"`} in a reference: ${REF_FORMS}`;
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : Number.isSafeInteger(v) ? String(v) : null);
  const { step, output, dataset, version, alias, param } = raw;
  if (kind === 'step') {
    if (typeof step === 'string' && typeof output === 'string') return { kind: 'step', step, output };
    return 'expected { step: <step>, output: <output> } with both names given';
  }
  if (kind === 'param')
    return typeof param === 'string' ? { kind: 'param', param } : 'expected { param: <name> }';
  if (typeof dataset !== 'string') return 'expected { dataset: <name>[@<version or alias>] }';
  const given = [version, alias].filter((v) => v !== undefined && v !== null);
  if (given.length === 0) return readRefText(`dataset:${dataset}`);
  if (given.length > 1 || dataset.includes('@')) return 'give the dataset version or alias once';
  const ref = text(given[0]);
  return ref === null
    ? `${describeValue(given[0])} is not a dataset version id or alias`
    : datasetRef(dataset, ref);
}

function readRef(raw: unknown): InputRef | string {
  if (typeof raw === 'string') return readRefText(raw);
  if (isMap(raw)) return readRefMap(raw);
  return `expected a reference, found ${describeValue(raw)}: ${REF_FORMS}`;
}

/** An input reference, checked against the pipeline; undefined (and reported) when wrong. */
export function readInputRef(raw: unknown, field: string, ctx: RefContext): InputRef | undefined {
  const ref = readRef(raw);
  if (typeof ref === 'string') ctx.report(field, ref);
  else if (
    ref.kind === 'step'
      ? checkStepOutput(ctx, ref, field)
      : ref.kind !== 'param' || checkParam(ctx, ref.param, field)
  ) {
    return ref;
  }
  return undefined;
}

/** A `foreach` source: a list, `params.<name>` holding a list, or a step output. */
export function readForeach(raw: unknown, ctx: RefContext): ForeachSource | undefined {
  if (Array.isArray(raw)) {
    const problem = jsonProblem(raw, 'the list');
    if (raw.length > PIPELINE_LIMITS.maxForeachItems) {
      ctx.report('foreach', `${raw.length} items; at most ${PIPELINE_LIMITS.maxForeachItems}`);
    } else if (problem !== null) ctx.report('foreach', problem);
    else return { kind: 'list', items: raw as ParamValue[] };
    return undefined;
  }
  const ref = readRef(raw);
  if (typeof ref === 'string' || ref.kind === 'dataset') {
    ctx.report(
      'foreach',
      `expected a list, params.<name> or steps.<step>.outputs.<output> (or { param }, { step, output }), ` +
        `found ${describeValue(raw)}`,
    );
    return undefined;
  }
  if (ref.kind === 'step') return checkStepOutput(ctx, ref, 'foreach') ? ref : undefined;
  if (!checkParam(ctx, ref.param, 'foreach')) return undefined;
  const items = ctx.params.get(ref.param);
  if (Array.isArray(items) && items.length <= PIPELINE_LIMITS.maxForeachItems) return ref;
  ctx.report(
    'foreach',
    Array.isArray(items)
      ? `params.${ref.param} has ${items.length} items; at most ${PIPELINE_LIMITS.maxForeachItems}`
      : `params.${ref.param} is ${describeValue(items)}, not a list: foreach needs a list as the param's default`,
  );
  return undefined;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

export function checkKeys(raw: Record<string, unknown>, known: readonly string[], report: Report): void {
  for (const key of Object.keys(raw)) {
    if (known.includes(key) || key.startsWith('x-')) continue;
    const distances = known.map((k) => [k, editDistance(key.toLowerCase(), k)] as const);
    const near = distances.filter(([, d]) => d <= 2).sort((a, b) => a[1] - b[1])[0]?.[0];
    const hint =
      near === undefined ? `expected ${known.join(', ')} or x-<extension>` : `did you mean "${near}"?`;
    report(key, `unknown field; ${hint}`);
  }
}

/** Calls a throwing parser and reports its INVALID_ARGUMENT as a problem. */
function attempt<T>(parse: () => T, field: string, report: Report): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (!isCairnError(error)) throw error;
    report(field, error.message);
    return undefined;
  }
}

export function readWholeNumber(value: unknown, range: { min: number; max: number }): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max
    ? value
    : undefined;
}

export function readNameList(value: unknown, field: string, report: Report): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    report(field, `expected a list of names, found ${describeValue(value)}`);
    return [];
  }
  const names: string[] = [];
  value.forEach((name: unknown, i) => {
    const bad =
      typeof name === 'string' ? nameProblem(field === 'outputs' ? 'output' : 'parameter', name) : null;
    if (typeof name !== 'string') report(`${field}.${i}`, `expected a name, found ${describeValue(name)}`);
    else if (bad !== null) report(`${field}.${i}`, bad);
    else if (names.includes(name)) report(`${field}.${i}`, `"${name}" is listed twice`);
    else names.push(name);
  });
  return names;
}

export function readRetry(value: unknown, report: Report): RetryPolicy {
  const retry: RetryPolicy = { count: 0, backoffMs: DEFAULT_BACKOFF_MS };
  if (value === undefined || value === null) return retry;
  const countRange = { min: 0, max: PIPELINE_LIMITS.maxRetries };
  const countProblem = `expected a whole number of retries from 0 to ${PIPELINE_LIMITS.maxRetries}`;
  if (!isMap(value)) {
    const count = readWholeNumber(value, countRange);
    if (count === undefined) report('retry', `${countProblem} or { count, backoff }`);
    return { ...retry, count: count ?? 0 };
  }
  checkKeys(value, ['count', 'backoff'], (key, message) => report(`retry.${key}`, message));
  const count = readWholeNumber(value.count, countRange);
  if (count === undefined) {
    report('retry.count', value.count === undefined ? `required: ${countProblem}` : countProblem);
  }
  retry.count = count ?? 0;
  if (value.backoff === undefined || value.backoff === null) return retry;
  const backoffMs = attempt(() => parseDuration(value.backoff, 'retry.backoff'), 'retry.backoff', report);
  if (backoffMs !== undefined && backoffMs > PIPELINE_LIMITS.maxBackoffMs) {
    report('retry.backoff', `at most ${formatDuration(PIPELINE_LIMITS.maxBackoffMs)}`);
  }
  retry.backoffMs = backoffMs ?? DEFAULT_BACKOFF_MS;
  return retry;
}

export function readTimeout(value: unknown, report: Report): number | null {
  if (value === undefined || value === null) return null;
  const ms = attempt(() => parseDuration(value, 'timeout'), 'timeout', report);
  if (ms === 0) report('timeout', 'must be more than 0 (leave timeout out for no limit)');
  if (ms !== undefined && ms > PIPELINE_LIMITS.maxTimeoutMs) {
    report('timeout', `at most ${formatDuration(PIPELINE_LIMITS.maxTimeoutMs)}`);
  }
  return ms ?? null;
}

export function readResources(value: unknown, report: Report): ResourceHint {
  const resources: ResourceHint = { cpu: 1, memoryMb: null, gpu: 0 };
  if (value === undefined || value === null) return resources;
  if (!isMap(value)) {
    report('resources', `expected a map with cpu, memory or gpu, found ${describeValue(value)}`);
    return resources;
  }
  checkKeys(value, ['cpu', 'memory', 'gpu'], (key, message) => report(`resources.${key}`, message));
  const { cpu, memory, gpu } = value;
  if (typeof cpu === 'number' && Number.isFinite(cpu) && cpu > 0) resources.cpu = cpu;
  else if (cpu !== undefined && cpu !== null) report('resources.cpu', 'expected a number of cores above 0');
  if (memory !== undefined && memory !== null) {
    resources.memoryMb =
      attempt(() => parseMemory(memory, 'resources.memory'), 'resources.memory', report) ?? null;
  }
  const gpus = readWholeNumber(gpu, { min: 0, max: Number.MAX_SAFE_INTEGER });
  if (gpus !== undefined) resources.gpu = gpus;
  else if (gpu !== undefined && gpu !== null)
    report('resources.gpu', 'expected a whole number of GPUs, 0 or more');
  return resources;
}

export function readEnv(value: unknown, report: Report): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isMap(value)) {
    report('env', `expected a map of variable name → value, found ${describeValue(value)}`);
    return {};
  }
  const env: Array<[string, string]> = [];
  for (const [name, raw] of Object.entries(value)) {
    const reserved = RESERVED_ENV_PREFIXES.find((prefix) => name.startsWith(prefix));
    if (!ENV_NAME.test(name)) {
      report(`env.${name}`, 'not a variable name: use letters, digits and _, not starting with a digit');
    } else if (reserved !== undefined) {
      report(`env.${name}`, `names starting with ${reserved} are reserved for Cairn`);
    } else if (typeof raw === 'string' || typeof raw === 'boolean' || Number.isFinite(raw)) {
      env.push([name, String(raw)]);
    } else {
      report(`env.${name}`, `expected a string, number or boolean, found ${describeValue(raw)}`);
    }
  }
  return Object.fromEntries(env.sort(byName));
}

export function readCode(value: unknown, report: Report): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0) {
    report(
      'code',
      'expected a non-empty list of globs such as src/**, or no code field for the whole package',
    );
    return null;
  }
  value.forEach((glob: unknown, i) => {
    if (typeof glob !== 'string' || glob.trim() === '') report(`code.${i}`, 'expected a non-empty glob');
    else if (/^([\\/]|[A-Za-z]:)/.test(glob)) report(`code.${i}`, 'globs are relative to the code package');
    else if (glob.split(/[\\/]/).includes('..'))
      report(`code.${i}`, 'globs may not reach outside the code package (..)');
  });
  return value.filter((glob): glob is string => typeof glob === 'string');
}
