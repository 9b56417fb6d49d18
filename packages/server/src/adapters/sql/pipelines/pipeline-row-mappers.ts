import {
  CairnError,
  PIPELINE_EXECUTORS,
  PIPELINE_RUN_STATUSES,
  STEP_RUN_STATUSES,
  type ParamValue,
  type PipelineExecutorName,
  type PipelineRunStatus,
  type PipelineSpec,
  type StepRunStatus,
} from '@cairn/contract';
// Entities and the port straight from their files: the module's index would load its services too.
import type {
  PipelineRunRecord,
  PipelineTrigger,
  PipelineTriggerRecord,
  StepOutput,
  StepRunRecord,
} from '../../../modules/pipelines/entities.js';
import type {
  PipelineRunPatch,
  PipelineTriggerPatch,
  StepRunPatch,
} from '../../../modules/pipelines/pipelines.store.js';
import type { PipelineRunsTable, PipelineStepsTable, PipelineTriggersTable } from '../schema.js';

const RUN_STATUSES: ReadonlySet<string> = new Set(PIPELINE_RUN_STATUSES);
const STEP_STATUSES: ReadonlySet<string> = new Set(STEP_RUN_STATUSES);
const EXECUTORS: ReadonlySet<string> = new Set(PIPELINE_EXECUTORS);
const TRIGGER_KINDS: ReadonlySet<string> = new Set<PipelineTrigger['kind']>([
  'manual',
  'resume',
  'schedule',
  'dataset',
]);
const TRIGGER_RECORD_KINDS: ReadonlySet<string> = new Set<PipelineTriggerRecord['kind']>([
  'schedule',
  'dataset',
]);

// ── Pipeline runs ─────────────────────────────────────────────────────

export function toRunRow(run: PipelineRunRecord): PipelineRunsTable {
  return {
    pipeline_run_id: run.pipelineRunId,
    project_id: run.projectId,
    pipeline_name: run.pipelineName,
    spec: JSON.stringify(run.spec),
    definition_digest: run.definitionDigest,
    code_digest: run.codeDigest,
    params: JSON.stringify(run.params),
    executor: run.executor,
    use_cache: run.useCache ? 1 : 0,
    status: run.status,
    trigger: JSON.stringify(run.trigger),
    trigger_key: run.triggerKey,
    error: run.error,
    experiment_id: run.experimentId,
    owner: run.owner,
    lease_until_ms: run.leaseUntil,
    created_ms: run.createdAt,
    started_ms: run.startedAt,
    ended_ms: run.endedAt,
    created_by: run.createdBy,
  };
}

export function toRun(row: PipelineRunsTable): PipelineRunRecord {
  const what = `pipeline run ${row.pipeline_run_id}`;
  const trigger = parseObject(row.trigger, { what, column: 'trigger' });
  if (typeof trigger['kind'] !== 'string' || !TRIGGER_KINDS.has(trigger['kind'])) {
    throw new CairnError('INTERNAL', `${what}: column "trigger" has an unknown kind`);
  }
  return {
    pipelineRunId: row.pipeline_run_id,
    projectId: row.project_id,
    pipelineName: row.pipeline_name,
    spec: parseSpec(row.spec, what),
    definitionDigest: row.definition_digest,
    codeDigest: row.code_digest,
    params: parseObject(row.params, { what, column: 'params' }) as Record<string, ParamValue>,
    executor: checkExecutor(row.executor, what),
    useCache: Number(row.use_cache) !== 0,
    status: checkMember<PipelineRunStatus>(row.status, RUN_STATUSES, { what, column: 'status' }),
    trigger: trigger as unknown as PipelineTrigger,
    triggerKey: row.trigger_key,
    error: row.error,
    experimentId: row.experiment_id,
    owner: row.owner,
    leaseUntil: nullableNumber(row.lease_until_ms),
    createdAt: Number(row.created_ms),
    startedAt: nullableNumber(row.started_ms),
    endedAt: nullableNumber(row.ended_ms),
    createdBy: row.created_by,
  };
}

/** The columns a run patch sets; fields left `undefined` are not touched. */
export function toRunPatchRow(patch: PipelineRunPatch): Partial<PipelineRunsTable> {
  const set: Partial<PipelineRunsTable> = {};
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.error !== undefined) set.error = patch.error;
  if (patch.startedAt !== undefined) set.started_ms = patch.startedAt;
  if (patch.endedAt !== undefined) set.ended_ms = patch.endedAt;
  if (patch.owner !== undefined) set.owner = patch.owner;
  if (patch.leaseUntil !== undefined) set.lease_until_ms = patch.leaseUntil;
  return set;
}

// ── Step runs ─────────────────────────────────────────────────────────

/** Key order matches `flattenStepRow`, which the compiled-statement cache relies on. */
export function toStepRow(step: StepRunRecord): PipelineStepsTable {
  return {
    step_run_id: step.stepRunId,
    pipeline_run_id: step.pipelineRunId,
    step_name: step.stepName,
    item_index: step.itemIndex,
    item: stringifyItem(step.item),
    status: step.status,
    attempt: step.attempt,
    cache_key: step.cacheKey,
    cached_from: step.cachedFrom,
    reason: step.reason,
    run_id: step.runId,
    outputs: JSON.stringify(step.outputs),
    exit_code: step.exitCode,
    error: step.error,
    stderr_tail: step.stderrTail,
    not_before_ms: step.notBefore,
    lease_owner: step.leaseOwner,
    lease_until_ms: step.leaseUntil,
    pid: step.pid,
    created_ms: step.createdAt,
    started_ms: step.startedAt,
    ended_ms: step.endedAt,
  };
}

export const flattenStepRow = (row: PipelineStepsTable): readonly unknown[] => [
  row.step_run_id,
  row.pipeline_run_id,
  row.step_name,
  row.item_index,
  row.item,
  row.status,
  row.attempt,
  row.cache_key,
  row.cached_from,
  row.reason,
  row.run_id,
  row.outputs,
  row.exit_code,
  row.error,
  row.stderr_tail,
  row.not_before_ms,
  row.lease_owner,
  row.lease_until_ms,
  row.pid,
  row.created_ms,
  row.started_ms,
  row.ended_ms,
];

export function toStep(row: PipelineStepsTable): StepRunRecord {
  const what = `step run ${row.step_run_id}`;
  const outputs = parseObject(row.outputs, { what, column: 'outputs' });
  for (const output of Object.values(outputs)) {
    if (!isObject(output) || typeof output['digest'] !== 'string') {
      throw new CairnError('INTERNAL', `${what}: column "outputs" holds a malformed output`);
    }
  }
  return {
    stepRunId: row.step_run_id,
    pipelineRunId: row.pipeline_run_id,
    stepName: row.step_name,
    itemIndex: Number(row.item_index),
    item: row.item === null ? null : (parseJson(row.item, { what, column: 'item' }) as ParamValue),
    status: checkMember<StepRunStatus>(row.status, STEP_STATUSES, { what, column: 'status' }),
    attempt: Number(row.attempt),
    cacheKey: row.cache_key,
    cachedFrom: row.cached_from,
    reason: row.reason,
    runId: row.run_id,
    outputs: outputs as unknown as Record<string, StepOutput>,
    exitCode: nullableNumber(row.exit_code),
    error: row.error,
    stderrTail: row.stderr_tail,
    notBefore: nullableNumber(row.not_before_ms),
    leaseOwner: row.lease_owner,
    leaseUntil: nullableNumber(row.lease_until_ms),
    pid: nullableNumber(row.pid),
    createdAt: Number(row.created_ms),
    startedAt: nullableNumber(row.started_ms),
    endedAt: nullableNumber(row.ended_ms),
  };
}

/** The columns a step patch sets; fields left `undefined` are not touched. */
export function toStepPatchRow(patch: StepRunPatch): Partial<PipelineStepsTable> {
  const set: Partial<PipelineStepsTable> = {};
  if (patch.item !== undefined) set.item = stringifyItem(patch.item);
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.attempt !== undefined) set.attempt = patch.attempt;
  if (patch.cacheKey !== undefined) set.cache_key = patch.cacheKey;
  if (patch.cachedFrom !== undefined) set.cached_from = patch.cachedFrom;
  if (patch.reason !== undefined) set.reason = patch.reason;
  if (patch.runId !== undefined) set.run_id = patch.runId;
  if (patch.outputs !== undefined) set.outputs = JSON.stringify(patch.outputs);
  if (patch.exitCode !== undefined) set.exit_code = patch.exitCode;
  if (patch.error !== undefined) set.error = patch.error;
  if (patch.stderrTail !== undefined) set.stderr_tail = patch.stderrTail;
  if (patch.notBefore !== undefined) set.not_before_ms = patch.notBefore;
  if (patch.leaseOwner !== undefined) set.lease_owner = patch.leaseOwner;
  if (patch.leaseUntil !== undefined) set.lease_until_ms = patch.leaseUntil;
  if (patch.pid !== undefined) set.pid = patch.pid;
  if (patch.startedAt !== undefined) set.started_ms = patch.startedAt;
  if (patch.endedAt !== undefined) set.ended_ms = patch.endedAt;
  return set;
}

/** A `foreach` item's JSON text; SQL null for a step without one (and for a JSON null item, read back the same). */
function stringifyItem(item: ParamValue | null): string | null {
  return item === null ? null : JSON.stringify(item);
}

// ── Triggers ──────────────────────────────────────────────────────────

export function toTriggerRow(trigger: PipelineTriggerRecord): PipelineTriggersTable {
  return {
    trigger_id: trigger.triggerId,
    project_id: trigger.projectId,
    name: trigger.name,
    kind: trigger.kind,
    cron: trigger.cron,
    timezone: trigger.timezone,
    dataset: trigger.dataset,
    alias: trigger.alias,
    spec: JSON.stringify(trigger.spec),
    definition_digest: trigger.definitionDigest,
    code_digest: trigger.codeDigest,
    params: JSON.stringify(trigger.params),
    executor: trigger.executor,
    enabled: trigger.enabled ? 1 : 0,
    next_ms: trigger.nextAt,
    last_seen: trigger.lastSeen,
    created_ms: trigger.createdAt,
    created_by: trigger.createdBy,
  };
}

export function toTrigger(row: PipelineTriggersTable): PipelineTriggerRecord {
  const what = `pipeline trigger ${row.trigger_id}`;
  return {
    triggerId: row.trigger_id,
    projectId: row.project_id,
    name: row.name,
    kind: checkMember<PipelineTriggerRecord['kind']>(row.kind, TRIGGER_RECORD_KINDS, {
      what,
      column: 'kind',
    }),
    cron: row.cron,
    timezone: row.timezone,
    dataset: row.dataset,
    alias: row.alias,
    spec: parseSpec(row.spec, what),
    definitionDigest: row.definition_digest,
    codeDigest: row.code_digest,
    params: parseObject(row.params, { what, column: 'params' }) as Record<string, ParamValue>,
    executor: checkExecutor(row.executor, what),
    enabled: Number(row.enabled) !== 0,
    nextAt: nullableNumber(row.next_ms),
    lastSeen: row.last_seen,
    createdAt: Number(row.created_ms),
    createdBy: row.created_by,
  };
}

/** The columns a trigger patch sets; fields left `undefined` are not touched. */
export function toTriggerPatchRow(patch: PipelineTriggerPatch): Partial<PipelineTriggersTable> {
  const set: Partial<PipelineTriggersTable> = {};
  if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
  if (patch.nextAt !== undefined) set.next_ms = patch.nextAt;
  if (patch.lastSeen !== undefined) set.last_seen = patch.lastSeen;
  return set;
}

// ── Checks on the way out: a row that is not what we wrote is refused, by column ──

interface Where {
  what: string;
  column: string;
}

function parseJson(text: string, where: Where): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CairnError('INTERNAL', `${where.what}: column "${where.column}" is not valid JSON`, {
      cause: error,
    });
  }
}

function parseObject(text: string, where: Where): Record<string, unknown> {
  const value = parseJson(text, where);
  if (!isObject(value)) {
    throw new CairnError('INTERNAL', `${where.what}: column "${where.column}" is not a JSON object`);
  }
  return value;
}

/** A light check: the spec's steps must at least be a list, or the scheduler cannot read it. */
function parseSpec(text: string, what: string): PipelineSpec {
  const spec = parseObject(text, { what, column: 'spec' });
  if (typeof spec['name'] !== 'string' || !Array.isArray(spec['steps']) || !isObject(spec['params'])) {
    throw new CairnError('INTERNAL', `${what}: column "spec" is not a pipeline spec`);
  }
  return spec as unknown as PipelineSpec;
}

function checkMember<T extends string>(value: string, allowed: ReadonlySet<string>, where: Where): T {
  if (!allowed.has(value)) {
    throw new CairnError(
      'INTERNAL',
      `${where.what}: column "${where.column}" holds unknown value "${value}"`,
    );
  }
  return value as T;
}

function checkExecutor(value: string, what: string): PipelineExecutorName {
  return checkMember<PipelineExecutorName>(value, EXECUTORS, { what, column: 'executor' });
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
