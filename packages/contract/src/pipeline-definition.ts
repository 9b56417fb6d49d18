import {
  PIPELINE_LIMITS,
  PIPELINE_TITLE_PATTERN,
  type DefinitionProblem,
  type ForeachSource,
  type InputRef,
  type ParamValue,
  type PipelineSpec,
  type StepSpec,
} from './pipeline-spec.js';
import {
  byName,
  checkKeys,
  checkParam,
  describeValue,
  isMap,
  jsonProblem,
  listNames,
  nameProblem,
  paramProblem,
  readCode,
  readEnv,
  readForeach,
  readInputRef,
  readNameList,
  readResources,
  readRetry,
  readTimeout,
  readWholeNumber,
  type RefContext,
  type Report,
} from './pipeline-step-fields.js';
import { parseTemplate } from './pipeline-templates.js';

/**
 * Turns a raw pipeline definition (what YAML parses to, or what the SDK
 * builds) into a `PipelineSpec`, or every problem found, each located by step
 * and dotted field (list items are `outputs.1`). In every optional field null
 * means absent; keys starting with `x-` are left to their owners.
 */

export type PipelineDefinitionResult =
  { ok: true; spec: PipelineSpec } | { ok: false; problems: DefinitionProblem[] };

export const PIPELINE_DEFINITION_KEYS = ['name', 'description', 'params', 'concurrency', 'steps'] as const;
export const PIPELINE_STEP_KEYS = [
  'run',
  'description',
  'inputs',
  'outputs',
  'foreach',
  'params',
  'retry',
  'timeout',
  'cache',
  'resources',
  'env',
  'code',
] as const;

interface Draft {
  spec: StepSpec;
  after: Set<string>;
}

/** One line per problem: `step "x" › inputs.numbers: message`, `pipeline › params: message`. */
export function formatProblems(problems: readonly DefinitionProblem[]): string {
  return problems
    .map((p) => {
      const where = p.step === null ? 'pipeline' : `step ${JSON.stringify(p.step)}`;
      return `${where}${p.field === '' ? '' : ` › ${p.field}`}: ${p.message}`;
    })
    .join('\n');
}

function readParams(value: unknown, report: Report): Map<string, ParamValue> {
  const params = new Map<string, ParamValue>();
  if (value === undefined || value === null) return params;
  if (!isMap(value)) {
    report('params', `expected a map of parameter name → default value, found ${describeValue(value)}`);
    return params;
  }
  for (const [name, param] of Object.entries(value)) {
    const bad = nameProblem('parameter', name) ?? jsonProblem(param);
    if (bad !== null) report(`params.${name}`, bad);
    else params.set(name, param as ParamValue);
  }
  if (params.size > PIPELINE_LIMITS.maxParams) {
    report('params', `${params.size} parameters; at most ${PIPELINE_LIMITS.maxParams}`);
  }
  return params;
}

function readRun(value: unknown, report: Report): string {
  if (typeof value !== 'string' || value.trim() === '') {
    const found = typeof value === 'string' ? 'empty: give' : `found ${describeValue(value)}, expected`;
    report('run', value === undefined ? 'required: the command to run' : `${found} the command to run`);
    return '';
  }
  if (value.length > PIPELINE_LIMITS.maxRunLength) {
    report('run', `${value.length} characters; at most ${PIPELINE_LIMITS.maxRunLength}`);
  }
  return value;
}

interface RunContext {
  /** Every input name the step declares, including those whose reference is wrong. */
  inputs: readonly string[];
  foreach: boolean;
  /** Filled in: the parameters the template uses. */
  used: Set<string>;
}

function checkRunReferences(step: StepSpec, ctx: RefContext, run: RunContext): void {
  const seen = new Set<string>();
  const once = (message: string | null) => {
    if (message !== null && !seen.has(message)) ctx.report('run', message);
    if (message !== null) seen.add(message);
  };
  const { parts, problems } = parseTemplate(step.run);
  for (const problem of problems) once(problem.message);
  for (const part of parts) {
    if (part.kind === 'text') continue;
    const name = part.name ?? '';
    if (part.scope === 'inputs' && !run.inputs.includes(name)) {
      once(`{{inputs.${name}}} names no input; ${listNames('inputs', run.inputs)}`);
    } else if (part.scope === 'outputs' && !step.outputs.includes(name)) {
      once(`{{outputs.${name}}} names no output; ${listNames('outputs', step.outputs)}`);
    } else if (part.scope === 'params') {
      once(paramProblem(ctx, name));
      if (ctx.params.has(name)) run.used.add(name);
    } else if (part.name === null && !run.foreach) {
      once(`{{${part.scope}}} is only defined in a step with foreach`);
    }
  }
}

function readInputs(value: unknown, ctx: RefContext, used: Set<string>): Record<string, InputRef> {
  if (value === undefined || value === null) return {};
  if (!isMap(value)) {
    ctx.report('inputs', `expected a map of input name → reference, found ${describeValue(value)}`);
    return {};
  }
  const inputs: Array<[string, InputRef]> = [];
  for (const [name, raw] of Object.entries(value)) {
    const bad = nameProblem('input', name);
    if (bad !== null) ctx.report(`inputs.${name}`, bad);
    const ref = readInputRef(raw, `inputs.${name}`, ctx);
    if (ref?.kind === 'param') used.add(ref.param);
    if (ref !== undefined) inputs.push([name, ref]);
  }
  return Object.fromEntries(inputs.sort(byName));
}

function readStep(raw: unknown, ctx: RefContext): Draft {
  const used = new Set<string>();
  const report = ctx.report;
  const fields = isMap(raw) ? raw : {};
  if (!isMap(raw)) report('', `expected a step: a map with run and optionally inputs, outputs…`);
  checkKeys(fields, PIPELINE_STEP_KEYS, report);
  if (
    fields.description !== undefined &&
    fields.description !== null &&
    typeof fields.description !== 'string'
  ) {
    report('description', 'expected text');
  }
  const run = readRun(fields.run, report);
  const inputs = readInputs(fields.inputs, ctx, used);
  const outputs = readNameList(fields.outputs, 'outputs', report);
  let foreach: ForeachSource | null = null;
  if (fields.foreach !== undefined && fields.foreach !== null) {
    foreach = readForeach(fields.foreach, ctx) ?? null;
    if (foreach?.kind === 'param') used.add(foreach.param);
  }
  for (const param of readNameList(fields.params, 'params', report)) {
    if (checkParam(ctx, param, 'params')) used.add(param);
  }
  const cache = fields.cache ?? true;
  if (typeof cache !== 'boolean') report('cache', 'expected true or false');
  const spec: StepSpec = {
    name: ctx.step,
    run,
    inputs,
    outputs,
    foreach,
    retry: readRetry(fields.retry, report),
    timeoutMs: readTimeout(fields.timeout, report),
    cache: cache !== false,
    resources: readResources(fields.resources, report),
    env: readEnv(fields.env, report),
    code: readCode(fields.code, report),
    params: [],
    after: [],
  };
  const declaredInputs = isMap(fields.inputs) ? Object.keys(fields.inputs) : [];
  const hasForeach = fields.foreach !== undefined && fields.foreach !== null;
  checkRunReferences(spec, ctx, { inputs: declaredInputs, foreach: hasForeach, used });
  spec.params = [...used].sort();
  return { spec, after: ctx.after };
}

/** Kahn's algorithm, the smallest ready name first; steps on or after a cycle are left out. */
function topologicalOrder(after: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const waiting = new Map([...after].map(([name, deps]) => [name, deps.size]));
  const dependents = new Map<string, string[]>();
  for (const [name, deps] of after)
    for (const dep of deps) dependents.set(dep, [...(dependents.get(dep) ?? []), name]);
  const ready = [...waiting].filter(([, count]) => count === 0).map(([name]) => name);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const next = ready.pop() as string;
    order.push(next);
    for (const name of dependents.get(next) ?? []) {
      const left = (waiting.get(name) ?? 0) - 1;
      waiting.set(name, left);
      if (left === 0) ready.push(name);
    }
  }
  return order;
}

/** One cycle per walk among the steps left over by Kahn, each in data-flow order from its smallest name. */
function findCycles(
  after: ReadonlyMap<string, ReadonlySet<string>>,
  ordered: ReadonlySet<string>,
): string[][] {
  const left = [...after.keys()].filter((name) => !ordered.has(name)).sort();
  const walked = new Set<string>();
  const cycles: string[][] = [];
  for (const start of left) {
    const path: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && !walked.has(at)) {
      walked.add(at);
      path.push(at);
      at = [...(after.get(at) ?? [])].filter((dep) => !ordered.has(dep)).sort()[0];
    }
    if (at === undefined || !path.includes(at)) continue;
    const cycle = path.slice(path.indexOf(at)).reverse();
    const first = cycle.indexOf([...cycle].sort()[0] ?? '');
    cycles.push([...cycle.slice(first), ...cycle.slice(0, first)]);
  }
  return cycles;
}

export function validatePipelineDefinition(raw: unknown): PipelineDefinitionResult {
  const problems: DefinitionProblem[] = [];
  const reporter =
    (step: string | null): Report =>
    (field, message) =>
      problems.push({ step, field, message });
  const report = reporter(null);
  const root = isMap(raw) ? raw : {};
  if (!isMap(raw))
    report('', `expected a pipeline definition (a map with name and steps), found ${describeValue(raw)}`);
  checkKeys(root, PIPELINE_DEFINITION_KEYS, report);

  const name = typeof root.name === 'string' ? root.name : '';
  if (typeof root.name !== 'string') {
    const found = root.name === undefined ? 'required' : `expected text, found ${describeValue(root.name)}`;
    report('name', `${found}: the pipeline name, such as churn-training`);
  } else if (!PIPELINE_TITLE_PATTERN.test(name)) {
    report(
      'name',
      `"${name}" is not a valid pipeline name: letters, digits, ., _ and -, at most 128 characters`,
    );
  }
  if (root.description !== undefined && root.description !== null && typeof root.description !== 'string') {
    report('description', 'expected text');
  }
  const params = readParams(root.params, report);
  let concurrency: number | null = null;
  if (root.concurrency !== undefined && root.concurrency !== null) {
    concurrency = readWholeNumber(root.concurrency, { min: 1, max: PIPELINE_LIMITS.maxConcurrency }) ?? null;
    if (concurrency === null)
      report('concurrency', `expected a whole number from 1 to ${PIPELINE_LIMITS.maxConcurrency}`);
  }

  const steps = isMap(root.steps) ? Object.entries(root.steps) : [];
  if (!isMap(root.steps)) {
    report(
      'steps',
      root.steps === undefined ? 'required: a map of step name → step' : 'expected a map of step name → step',
    );
  } else if (steps.length === 0) report('steps', 'a pipeline needs at least one step');
  else if (steps.length > PIPELINE_LIMITS.maxSteps) {
    report('steps', `${steps.length} steps; at most ${PIPELINE_LIMITS.maxSteps}`);
  }
  const outputsByStep = new Map(
    steps.map(([step, def]) => [
      step,
      isMap(def) && Array.isArray(def.outputs)
        ? def.outputs.filter((o): o is string => typeof o === 'string')
        : [],
    ]),
  );
  const stepNames = [...outputsByStep.keys()].sort();
  const drafts = new Map<string, Draft>();
  for (const [step, def] of steps) {
    const bad = nameProblem('step', step);
    if (bad !== null) report('steps', bad);
    const ctx: RefContext = {
      step,
      report: reporter(step),
      params,
      outputsByStep,
      stepNames,
      after: new Set(),
    };
    drafts.set(step, readStep(def, ctx));
  }

  if (steps.length > PIPELINE_LIMITS.maxSteps) return { ok: false, problems };
  const after = new Map([...drafts].map(([step, draft]) => [step, draft.after]));
  const order = topologicalOrder(after);
  for (const cycle of findCycles(after, new Set(order))) {
    report('steps', `cycle: ${[...cycle, cycle[0]].join(' → ')}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const specSteps = order.map((step) => {
    const draft = drafts.get(step) as Draft;
    return { ...draft.spec, after: [...draft.after].sort() };
  });
  return {
    ok: true,
    spec: { name, params: Object.fromEntries([...params].sort(byName)), concurrency, steps: specSteps },
  };
}
