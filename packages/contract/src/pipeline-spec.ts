/**
 * A pipeline as the scheduler runs it: the validated, normalised form of a
 * YAML file or of a TypeScript `pipeline(...)` definition. Both faces produce
 * the same raw definition object, and `validatePipelineDefinition` (in
 * pipeline-definition.ts) turns it into this spec or a list of problems that
 * name the step and field.
 */

/** Any JSON value: parameters and `foreach` items. */
export type ParamValue = string | number | boolean | null | ParamValue[] | { [key: string]: ParamValue };

/** Where a step input comes from. */
export type InputRef =
  /** Another step's output, passed by reference (its content digest). */
  | { kind: 'step'; step: string; output: string }
  /** A dataset version: `ref` is a version id or an alias (`latest` when none was given). */
  | { kind: 'dataset'; dataset: string; ref: string }
  /** A parameter's value, rendered as text. */
  | { kind: 'param'; param: string };

/** What a `foreach` step fans out over. */
export type ForeachSource =
  | { kind: 'param'; param: string }
  /** An output holding a JSON array, or else one item per non-empty line. */
  | { kind: 'step'; step: string; output: string }
  | { kind: 'list'; items: ParamValue[] };

export interface RetryPolicy {
  /** Further attempts after the first failure; 0 = none. */
  count: number;
  /** Wait before the first retry; doubles for each later one. */
  backoffMs: number;
}

export interface ResourceHint {
  /** Cores the step expects to keep busy; the local executor counts these against its slots. */
  cpu: number;
  memoryMb: number | null;
  gpu: number;
}

export interface StepSpec {
  name: string;
  /** Command template run by `sh -c` after `{{inputs.x}}`, `{{outputs.y}}`, `{{params.k}}`, `{{item}}`, `{{index}}` are filled in. */
  run: string;
  inputs: Record<string, InputRef>;
  outputs: string[];
  foreach: ForeachSource | null;
  retry: RetryPolicy;
  /** Null: no limit. */
  timeoutMs: number | null;
  cache: boolean;
  resources: ResourceHint;
  /** Declared environment: set for the command and part of the cache key. */
  env: Record<string, string>;
  /** Globs narrowing which code files count for the cache key; null = the whole code package. */
  code: string[] | null;
  /** The parameters the step depends on (used in its templates or declared), sorted. */
  params: string[];
  /** Steps this one needs finished first, sorted (from step inputs and a step `foreach`). */
  after: string[];
}

export interface PipelineSpec {
  name: string;
  /** Parameter defaults; a run may override any of them. */
  params: Record<string, ParamValue>;
  /** Steps at once, at most; null: the executor's own bound. */
  concurrency: number | null;
  /** In a topological order: every step comes after the steps it needs. */
  steps: StepSpec[];
}

/** One thing wrong with a definition, located for the person who wrote it. */
export interface DefinitionProblem {
  /** The step the problem is in, or null for the pipeline itself. */
  step: string | null;
  /** Dotted path of the field inside the step or pipeline: `inputs.numbers`, `retry.count`. */
  field: string;
  message: string;
}

export const PIPELINE_LIMITS = {
  maxSteps: 500,
  maxParams: 200,
  maxForeachItems: 100_000,
  maxRetries: 20,
  maxTimeoutMs: 7 * 24 * 3600_000,
  maxBackoffMs: 24 * 3600_000,
  maxRunLength: 64 * 1024,
  maxDefinitionBytes: 1024 * 1024,
  maxConcurrency: 1024,
  maxCodeBytes: 64 * 1024 * 1024,
  maxCodeFiles: 10_000,
  /** Lines of stderr quoted when a step fails. */
  stderrTailLines: 20,
} as const;

/** Step, input, output and parameter names: usable in templates and as file names. */
export const PIPELINE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
/** A pipeline's own name. */
export const PIPELINE_TITLE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
