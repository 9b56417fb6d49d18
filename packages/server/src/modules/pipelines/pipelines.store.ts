import type { PipelineRunStatus, StepRunStatus } from '@cairn/contract';
import type { AuditStores } from '../governance/index.js';
import type { LineageStores } from '../lineage/index.js';
import type { PipelineRunRecord, PipelineTriggerRecord, StepRunRecord } from './entities.js';

export interface PipelineRunQuery {
  /** Only runs in these projects; all projects when absent. */
  projectIds?: readonly string[];
  pipelineName?: string;
  status?: PipelineRunStatus;
  offset: number;
  /** The store returns up to `limit + 1` rows so the caller can tell whether a next page exists. */
  limit: number;
}

export type PipelineRunPatch = Partial<
  Pick<PipelineRunRecord, 'status' | 'error' | 'startedAt' | 'endedAt' | 'owner' | 'leaseUntil'>
>;

export type StepRunPatch = Partial<
  Omit<StepRunRecord, 'stepRunId' | 'pipelineRunId' | 'stepName' | 'itemIndex' | 'createdAt'>
>;

/** A compare-and-set guard on a step row: the write happens only while the row still matches. */
export interface StepRunGuard {
  status?: readonly StepRunStatus[];
  attempt?: number;
}

export type PipelineTriggerPatch = Partial<Pick<PipelineTriggerRecord, 'enabled' | 'nextAt' | 'lastSeen'>>;

/**
 * The pipelines module's storage port; one SQL implementation serves SQLite
 * and PostgreSQL. The scheduler keeps a run's steps in memory and writes each
 * change through here, so the database is always enough to pick a run up again.
 */
export interface PipelineStore {
  /** Inserts the run and its first step rows together. */
  insertRun(run: PipelineRunRecord, steps: readonly StepRunRecord[]): Promise<void>;
  getRun(pipelineRunId: string): Promise<PipelineRunRecord | undefined>;
  /** Newest first. */
  listRuns(query: PipelineRunQuery): Promise<PipelineRunRecord[]>;
  /**
   * Moves a run's fields; with `expectStatus`, only while its status is one of them.
   * False when no row changed.
   */
  updateRun(
    pipelineRunId: string,
    patch: PipelineRunPatch,
    expectStatus?: readonly PipelineRunStatus[],
  ): Promise<boolean>;
  /**
   * Takes up to `limit` runs in `running` or `cancelling` state whose lease is free, expired or
   * already `owner`'s, and leases them to `owner` until `leaseUntil`. Returns the ids taken.
   */
  claimRuns(input: { owner: string; now: number; leaseUntil: number; limit: number }): Promise<string[]>;
  /** Extends `owner`'s leases on these runs; returns the ids still held. */
  renewRuns(input: {
    owner: string;
    pipelineRunIds: readonly string[];
    leaseUntil: number;
  }): Promise<string[]>;
  /** Gives the runs up so another scheduler may take them at once. */
  releaseRuns(owner: string, pipelineRunIds: readonly string[]): Promise<void>;

  /** Adds step rows (a `foreach` step's items once its list is known), in batches. */
  insertSteps(steps: readonly StepRunRecord[]): Promise<void>;
  /** Every step row of a run, by step name then item index. */
  listSteps(pipelineRunId: string): Promise<StepRunRecord[]>;
  getStep(stepRunId: string): Promise<StepRunRecord | undefined>;
  /** Step rows per status, for each run (runs without rows are left out). */
  countSteps(pipelineRunIds: readonly string[]): Promise<Map<string, Record<string, number>>>;
  /** False when the guard no longer matched (someone else moved the row). */
  updateStep(stepRunId: string, patch: StepRunPatch, guard?: StepRunGuard): Promise<boolean>;
  /** The same patch on many rows of one run (skipping or cancelling the rest of a run). */
  updateSteps(stepRunIds: readonly string[], patch: StepRunPatch, guard?: StepRunGuard): Promise<number>;
  /** Deletes every row of one step of a run: a `foreach` step being laid out again (placeholder and items). */
  deleteItems(pipelineRunId: string, stepName: string): Promise<void>;
  /**
   * The newest step run in the project that finished with `succeeded` under this cache key
   * (cached rows are not sources; they point at one).
   */
  findCached(input: { projectId: string; cacheKey: string }): Promise<StepRunRecord | undefined>;

  insertTrigger(record: PipelineTriggerRecord): Promise<void>;
  getTrigger(triggerId: string): Promise<PipelineTriggerRecord | undefined>;
  getTriggerByName(projectId: string, name: string): Promise<PipelineTriggerRecord | undefined>;
  listTriggers(query: {
    projectIds?: readonly string[];
    kind?: 'schedule' | 'dataset';
  }): Promise<PipelineTriggerRecord[]>;
  /** With `expectLastSeen` / `expectNextAt`, only while the row still holds that value (so two servers fire once). */
  updateTrigger(
    triggerId: string,
    patch: PipelineTriggerPatch,
    guard?: { lastSeen?: string | null; nextAt?: number | null },
  ): Promise<boolean>;
  deleteTrigger(triggerId: string): Promise<boolean>;
  /** The run a trigger key already started, if any. */
  getRunByTriggerKey(triggerKey: string): Promise<PipelineRunRecord | undefined>;
}

export interface PipelineStores extends AuditStores, LineageStores {
  pipelines: PipelineStore;
}
