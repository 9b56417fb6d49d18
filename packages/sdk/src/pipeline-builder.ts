import {
  CairnError,
  formatProblems,
  validatePipelineDefinition,
  type DefinitionProblem,
  type ParamValue,
  type PipelineSpec,
} from '@cairn/contract';

/**
 * Pipelines written in TypeScript. `pipeline()` and `step()` build the same
 * raw definition a YAML file parses to, so both faces go through one
 * validator (`validatePipelineDefinition`) and one server path:
 *
 * ```ts
 * export default pipeline({
 *   name: 'squares',
 *   params: { n: 10 },
 *   steps: {
 *     make: step({ run: 'seq {{params.n}} > {{outputs.numbers}}', outputs: ['numbers'] }),
 *     square: step({
 *       run: 'python square.py {{inputs.numbers}} > {{outputs.squares}}',
 *       inputs: { numbers: output('make', 'numbers') },
 *       outputs: ['squares'],
 *     }),
 *   },
 * });
 * ```
 */

/** `steps.<step>.outputs.<output>`: another step's output. */
export type StepOutputRef = `steps.${string}.outputs.${string}`;
/** `params.<name>`: a parameter's value. */
export type ParamRef = `params.${string}`;
/** `dataset:<name>` (latest) or `dataset:<name>@<version or alias>`. */
export type DatasetInputRef = `dataset:${string}`;

/** Where a step input comes from; the helpers below write each form. */
export type InputRefText = StepOutputRef | ParamRef | DatasetInputRef;

/** Another step's output: `output('make', 'numbers')` → `steps.make.outputs.numbers`. */
export function output<S extends string, O extends string>(step: S, name: O): `steps.${S}.outputs.${O}` {
  return `steps.${step}.outputs.${name}`;
}

/** A parameter: `param('k')` → `params.k`. */
export function param<K extends string>(name: K): `params.${K}` {
  return `params.${name}`;
}

/** A dataset version: `dataset('churn')` → `dataset:churn` (latest); `dataset('churn', 3)` → `dataset:churn@3`. */
export function dataset(name: string, version?: string | number): DatasetInputRef {
  return version === undefined ? `dataset:${name}` : `dataset:${name}@${version}`;
}

/** A duration: seconds as a number, or text such as `500ms`, `30s`, `5m`, `1h30m`. */
export type DurationInput = number | string;

export interface StepInput {
  /** The command, run by `sh -c` after `{{inputs.x}}`, `{{outputs.y}}`, `{{params.k}}`, `{{item}}`, `{{index}}` are filled in. */
  run: string;
  description?: string;
  /** Input name → where it comes from. */
  inputs?: Record<string, InputRefText>;
  /** Names of the files or folders the command writes (`{{outputs.name}}`). */
  outputs?: readonly string[];
  /** Run once per item: a list, `params.<name>` holding a list, or a step output holding one. */
  foreach?: readonly ParamValue[] | ParamRef | StepOutputRef;
  /** Further attempts after a failure: a count, or `{ count, backoff }`. */
  retry?: number | { count: number; backoff?: DurationInput };
  timeout?: DurationInput;
  /** Reuse an earlier result with the same code, inputs and params; true by default. */
  cache?: boolean;
  /** `memory` as `512Mi`, `4G` or a number of MB. */
  resources?: { cpu?: number; memory?: string | number; gpu?: number };
  env?: Record<string, string | number | boolean>;
  /** Globs of the code files the step depends on (the cache key); the whole package when not given. */
  code?: readonly string[];
  /** Parameters the step depends on without naming them in `run`. */
  params?: readonly string[];
}

/** One step as the definition holds it: what YAML parses to. */
export type StepDefinition = StepInput;

export interface PipelineInput {
  /** Letters, digits, `.`, `_` and `-`. */
  name: string;
  description?: string;
  /** Parameter defaults; a run may override each (`cairn pipeline run --param k=v`). */
  params?: Record<string, ParamValue>;
  /** Steps at once, at most. */
  concurrency?: number;
  /** Step name → step. */
  steps: Record<string, StepDefinition>;
}

/** A raw pipeline definition, already validated; what `cairn.pipelines.start()` sends. */
export interface PipelineDefinition {
  name: string;
  description?: string;
  params?: Record<string, ParamValue>;
  concurrency?: number;
  steps: Record<string, StepDefinition>;
}

/** A definition that does not validate; `problems` locate each mistake by step and field. */
export class PipelineDefinitionError extends CairnError {
  readonly problems: DefinitionProblem[];

  constructor(name: string, problems: DefinitionProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const where = name === '' ? 'The pipeline' : `Pipeline ${JSON.stringify(name)}`;
    const lines = formatProblems(problems)
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n');
    super('INVALID_ARGUMENT', `${where} has ${count}:\n${lines}`, { field: 'definition' });
    this.name = 'PipelineDefinitionError';
    this.problems = problems;
  }
}

/** Drops undefined fields and copies lists, so the object is plain JSON like a parsed YAML file. */
function defined<T extends object>(fields: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
  return out as T;
}

/** One step. Checked with the rest of the pipeline by `pipeline()`, where references can be resolved. */
export function step(input: StepInput): StepDefinition {
  return defined(input) as StepDefinition;
}

/**
 * Validates the raw definition (from YAML, JSON, or built here) into the spec
 * the scheduler runs; throws a PipelineDefinitionError listing every problem.
 */
export function checkPipeline(definition: unknown): PipelineSpec {
  const result = validatePipelineDefinition(definition);
  if (result.ok) return result.spec;
  const name = (definition as { name?: unknown } | null)?.name;
  throw new PipelineDefinitionError(typeof name === 'string' ? name : '', result.problems);
}

/** A whole pipeline, validated now: a mistake fails here, naming the step and field, not on the server. */
export function pipeline(input: PipelineInput): PipelineDefinition {
  const definition = defined({
    ...input,
    steps: Object.fromEntries(Object.entries(input.steps).map(([name, s]) => [name, defined(s)])),
  }) as PipelineDefinition;
  checkPipeline(definition);
  return definition;
}
