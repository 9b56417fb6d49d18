import type { PipelineRunStatus } from '@cairn/contract';
import {
  PostgresAdapter,
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type RawBuilder,
  type SqlBool,
  type Transaction,
} from 'kysely';
// Entities and the port straight from their files: the module's index would load its services too.
import type {
  PipelineRunRecord,
  PipelineTriggerRecord,
  StepRunRecord,
} from '../../../modules/pipelines/entities.js';
import type {
  PipelineRunPatch,
  PipelineRunQuery,
  PipelineStore,
  PipelineTriggerPatch,
  StepRunGuard,
  StepRunPatch,
} from '../../../modules/pipelines/pipelines.store.js';
import { translateDbError, type SqlHelpers } from '../database.js';
import { dialectTraits } from '../datasets/dataset-row-mappers.js';
import type { Database } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import {
  flattenStepRow,
  toRun,
  toRunPatchRow,
  toRunRow,
  toStep,
  toStepPatchRow,
  toStepRow,
  toTrigger,
  toTriggerPatchRow,
  toTriggerRow,
} from './pipeline-row-mappers.js';

// 22 parameters a step row: 22,000 a statement under SQLite's 32,766, 44,000 under
// PostgreSQL's 65,535. A foreach of 10,000 items is 10 statements on SQLite, 5 on PostgreSQL.
const STEP_ROWS_PER_INSERT = { sqlite: 1000, postgres: 2000 } as const;

/** Runs a scheduler drives: the ones `claimRuns` may lease. */
const ACTIVE_RUN_STATUSES: readonly PipelineRunStatus[] = ['running', 'cancelling'];

type StepFilter = (eb: ExpressionBuilder<Database, 'pipeline_steps'>) => Expression<SqlBool>;

/**
 * Pipeline runs, their step rows and saved triggers; one implementation for
 * SQLite and PostgreSQL.
 *
 * Updates with a guard are compare-and-set in one statement: on PostgreSQL a
 * second writer waits on the first's row lock, then re-checks the WHERE
 * against the row the first committed; SQLite has one writer at a time. So
 * "changed" means "the row matched the guard and was written".
 *
 * An empty patch writes nothing and reports what a write would have: whether
 * the row exists and matches the guard (the number of such rows for
 * `updateSteps`). It never sends an UPDATE without a SET.
 *
 * Id lists (`updateSteps`, `renewRuns`, `releaseRuns`) are bound as one
 * parameter through `helpers.anyOf`, so they need no chunking for the
 * dialects' parameter limits.
 */
export class SqlPipelineStore implements PipelineStore {
  private readonly stepRowsPerInsert: number;
  private readonly bytewise: (column: string) => RawBuilder<string>;

  constructor(
    private readonly db: Kysely<Database> | Transaction<Database>,
    private readonly helpers: SqlHelpers,
  ) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    this.stepRowsPerInsert = STEP_ROWS_PER_INSERT[postgres ? 'postgres' : 'sqlite'];
    // Names and ids ordered by bytes on both dialects, so lists and pages mean the same everywhere.
    this.bytewise = dialectTraits(db).bytewise;
  }

  // ── Runs ─────────────────────────────────────────────────────────────

  /** No transaction of its own: the caller's use case holds one around both inserts. */
  async insertRun(run: PipelineRunRecord, steps: readonly StepRunRecord[]): Promise<void> {
    try {
      await this.db.insertInto('pipeline_runs').values(toRunRow(run)).execute();
    } catch (error) {
      throw translateDbError(error);
    }
    await this.insertSteps(steps);
  }

  async getRun(pipelineRunId: string): Promise<PipelineRunRecord | undefined> {
    const row = await this.db
      .selectFrom('pipeline_runs')
      .selectAll()
      .where('pipeline_run_id', '=', pipelineRunId)
      .executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  }

  async getRunByTriggerKey(triggerKey: string): Promise<PipelineRunRecord | undefined> {
    const row = await this.db
      .selectFrom('pipeline_runs')
      .selectAll()
      .where('trigger_key', '=', triggerKey)
      .executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  }

  /** Newest first; runs created in the same millisecond by id, descending. */
  async listRuns(query: PipelineRunQuery): Promise<PipelineRunRecord[]> {
    if (query.projectIds?.length === 0) return [];
    let select = this.db.selectFrom('pipeline_runs').selectAll();
    if (query.projectIds !== undefined)
      select = select.where(this.helpers.anyOf('project_id', query.projectIds));
    if (query.pipelineName !== undefined) select = select.where('pipeline_name', '=', query.pipelineName);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    const rows = await select
      .orderBy('created_ms', 'desc')
      .orderBy(this.bytewise('pipeline_run_id'), 'desc')
      .limit(query.limit + 1)
      .offset(query.offset)
      .execute();
    return rows.map(toRun);
  }

  async updateRun(
    pipelineRunId: string,
    patch: PipelineRunPatch,
    expectStatus?: readonly PipelineRunStatus[],
  ): Promise<boolean> {
    if (expectStatus?.length === 0) return false;
    const set = toRunPatchRow(patch);
    const filter = (eb: ExpressionBuilder<Database, 'pipeline_runs'>): Expression<SqlBool> =>
      eb.and([
        eb('pipeline_run_id', '=', pipelineRunId),
        ...(expectStatus === undefined ? [] : [eb('status', 'in', expectStatus)]),
      ]);
    if (Object.keys(set).length === 0) {
      const row = await this.db
        .selectFrom('pipeline_runs')
        .select('pipeline_run_id')
        .where(filter)
        .executeTakeFirst();
      return row !== undefined;
    }
    const result = await this.db.updateTable('pipeline_runs').set(set).where(filter).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Candidates are read first, then each is taken by its own compare-and-set
   * UPDATE that repeats the read's conditions. Two schedulers reading the same
   * candidates race on each row: on PostgreSQL the loser waits on the winner's
   * row lock, re-checks the WHERE against the winner's new owner and lease,
   * and changes nothing; so no run is returned to both. Candidates go oldest
   * first, in one order for everyone, so concurrent claimers lock rows in the
   * same order. A run with an owner but no lease counts as free.
   */
  async claimRuns(input: {
    owner: string;
    now: number;
    leaseUntil: number;
    limit: number;
  }): Promise<string[]> {
    if (input.limit <= 0) return [];
    const claimable = (eb: ExpressionBuilder<Database, 'pipeline_runs'>): Expression<SqlBool> =>
      eb.and([
        eb('status', 'in', ACTIVE_RUN_STATUSES),
        eb.or([
          eb('owner', 'is', null),
          eb('lease_until_ms', 'is', null),
          eb('lease_until_ms', '<', input.now),
          eb('owner', '=', input.owner),
        ]),
      ]);
    const candidates = await this.db
      .selectFrom('pipeline_runs')
      .select('pipeline_run_id')
      .where(claimable)
      .orderBy('created_ms')
      .orderBy(this.bytewise('pipeline_run_id'))
      .limit(input.limit)
      .execute();
    const taken: string[] = [];
    for (const { pipeline_run_id: id } of candidates) {
      const result = await this.db
        .updateTable('pipeline_runs')
        .set({ owner: input.owner, lease_until_ms: input.leaseUntil })
        .where('pipeline_run_id', '=', id)
        .where(claimable)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) > 0) taken.push(id);
    }
    return taken;
  }

  async renewRuns(input: {
    owner: string;
    pipelineRunIds: readonly string[];
    leaseUntil: number;
  }): Promise<string[]> {
    if (input.pipelineRunIds.length === 0) return [];
    const rows = await this.db
      .updateTable('pipeline_runs')
      .set({ lease_until_ms: input.leaseUntil })
      .where('owner', '=', input.owner)
      .where(this.helpers.anyOf('pipeline_run_id', input.pipelineRunIds))
      .returning('pipeline_run_id')
      .execute();
    return rows.map((row) => row.pipeline_run_id);
  }

  async releaseRuns(owner: string, pipelineRunIds: readonly string[]): Promise<void> {
    if (pipelineRunIds.length === 0) return;
    await this.db
      .updateTable('pipeline_runs')
      .set({ owner: null, lease_until_ms: null })
      .where('owner', '=', owner)
      .where(this.helpers.anyOf('pipeline_run_id', pipelineRunIds))
      .execute();
  }

  // ── Step runs ────────────────────────────────────────────────────────

  async insertSteps(steps: readonly StepRunRecord[]): Promise<void> {
    if (steps.length === 0) return;
    try {
      for (const part of chunk(steps.map(toStepRow), this.stepRowsPerInsert)) {
        // The statement text depends only on the row count: compile it once per count.
        await this.helpers.shapes.execute(
          this.db,
          { name: 'pipeline_steps:insert', rows: part, flatten: flattenStepRow },
          () => this.db.insertInto('pipeline_steps').values(part),
        );
      }
    } catch (error) {
      throw translateDbError(error);
    }
  }

  /** By step name in byte order, then item index (-1, the step without `foreach`, first). */
  async listSteps(pipelineRunId: string): Promise<StepRunRecord[]> {
    const rows = await this.db
      .selectFrom('pipeline_steps')
      .selectAll()
      .where('pipeline_run_id', '=', pipelineRunId)
      .orderBy(this.bytewise('step_name'))
      .orderBy('item_index')
      .execute();
    return rows.map(toStep);
  }

  async countSteps(pipelineRunIds: readonly string[]): Promise<Map<string, Record<string, number>>> {
    const counts = new Map<string, Record<string, number>>();
    if (pipelineRunIds.length === 0) return counts;
    const rows = await this.db
      .selectFrom('pipeline_steps')
      .select(['pipeline_run_id', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where(this.helpers.anyOf('pipeline_run_id', pipelineRunIds))
      .groupBy(['pipeline_run_id', 'status'])
      .execute();
    for (const row of rows) {
      const byStatus = counts.get(row.pipeline_run_id) ?? {};
      byStatus[row.status] = Number(row.n);
      counts.set(row.pipeline_run_id, byStatus);
    }
    return counts;
  }

  async getStep(stepRunId: string): Promise<StepRunRecord | undefined> {
    const row = await this.db
      .selectFrom('pipeline_steps')
      .selectAll()
      .where('step_run_id', '=', stepRunId)
      .executeTakeFirst();
    return row === undefined ? undefined : toStep(row);
  }

  async updateStep(stepRunId: string, patch: StepRunPatch, guard?: StepRunGuard): Promise<boolean> {
    const filter = stepFilter((eb) => eb('step_run_id', '=', stepRunId), guard);
    return filter !== undefined && (await this.patchSteps(patch, filter)) > 0;
  }

  async updateSteps(
    stepRunIds: readonly string[],
    patch: StepRunPatch,
    guard?: StepRunGuard,
  ): Promise<number> {
    if (stepRunIds.length === 0) return 0;
    const filter = stepFilter(() => this.helpers.anyOf('step_run_id', stepRunIds), guard);
    return filter === undefined ? 0 : this.patchSteps(patch, filter);
  }

  /** The number of rows written; with an empty patch, the number that match. */
  private async patchSteps(patch: StepRunPatch, filter: StepFilter): Promise<number> {
    const set = toStepPatchRow(patch);
    if (Object.keys(set).length === 0) {
      const row = await this.db
        .selectFrom('pipeline_steps')
        .select((eb) => eb.fn.countAll<number>().as('matched'))
        .where(filter)
        .executeTakeFirstOrThrow();
      return Number(row.matched);
    }
    const result = await this.db.updateTable('pipeline_steps').set(set).where(filter).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Every row of the step in this run: its placeholder and items, laid out again next. */
  async deleteItems(pipelineRunId: string, stepName: string): Promise<void> {
    await this.db
      .deleteFrom('pipeline_steps')
      .where('pipeline_run_id', '=', pipelineRunId)
      .where('step_name', '=', stepName)
      .execute();
  }

  /**
   * Newest by end time, among rows that have one; ties by step run id,
   * descending. Runs of other projects never lend their outputs.
   */
  async findCached(input: { projectId: string; cacheKey: string }): Promise<StepRunRecord | undefined> {
    const row = await this.db
      .selectFrom('pipeline_steps as s')
      .innerJoin('pipeline_runs as r', 'r.pipeline_run_id', 's.pipeline_run_id')
      .selectAll('s')
      .where('s.cache_key', '=', input.cacheKey)
      .where('s.status', '=', 'succeeded')
      .where('s.ended_ms', 'is not', null)
      .where('r.project_id', '=', input.projectId)
      .orderBy('s.ended_ms', 'desc')
      .orderBy(this.bytewise('s.step_run_id'), 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toStep(row);
  }

  // ── Triggers ─────────────────────────────────────────────────────────

  async insertTrigger(record: PipelineTriggerRecord): Promise<void> {
    try {
      await this.db.insertInto('pipeline_triggers').values(toTriggerRow(record)).execute();
    } catch (error) {
      throw translateDbError(error);
    }
  }

  async getTrigger(triggerId: string): Promise<PipelineTriggerRecord | undefined> {
    const row = await this.db
      .selectFrom('pipeline_triggers')
      .selectAll()
      .where('trigger_id', '=', triggerId)
      .executeTakeFirst();
    return row === undefined ? undefined : toTrigger(row);
  }

  async getTriggerByName(projectId: string, name: string): Promise<PipelineTriggerRecord | undefined> {
    const row = await this.db
      .selectFrom('pipeline_triggers')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toTrigger(row);
  }

  /** By project, then name, both in byte order. */
  async listTriggers(query: {
    projectIds?: readonly string[];
    kind?: 'schedule' | 'dataset';
  }): Promise<PipelineTriggerRecord[]> {
    if (query.projectIds?.length === 0) return [];
    let select = this.db.selectFrom('pipeline_triggers').selectAll();
    if (query.projectIds !== undefined)
      select = select.where(this.helpers.anyOf('project_id', query.projectIds));
    if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
    const rows = await select.orderBy(this.bytewise('project_id')).orderBy(this.bytewise('name')).execute();
    return rows.map(toTrigger);
  }

  /** A guard value of null matches a NULL column (IS NULL), not nothing. */
  async updateTrigger(
    triggerId: string,
    patch: PipelineTriggerPatch,
    guard?: { lastSeen?: string | null; nextAt?: number | null },
  ): Promise<boolean> {
    const filter = (eb: ExpressionBuilder<Database, 'pipeline_triggers'>): Expression<SqlBool> => {
      const conditions: Array<Expression<SqlBool>> = [eb('trigger_id', '=', triggerId)];
      if (guard?.lastSeen !== undefined) {
        conditions.push(
          guard.lastSeen === null ? eb('last_seen', 'is', null) : eb('last_seen', '=', guard.lastSeen),
        );
      }
      if (guard?.nextAt !== undefined) {
        conditions.push(guard.nextAt === null ? eb('next_ms', 'is', null) : eb('next_ms', '=', guard.nextAt));
      }
      return eb.and(conditions);
    };
    const set = toTriggerPatchRow(patch);
    if (Object.keys(set).length === 0) {
      const row = await this.db
        .selectFrom('pipeline_triggers')
        .select('trigger_id')
        .where(filter)
        .executeTakeFirst();
      return row !== undefined;
    }
    const result = await this.db.updateTable('pipeline_triggers').set(set).where(filter).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteTrigger(triggerId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('pipeline_triggers')
      .where('trigger_id', '=', triggerId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

/**
 * The rows `target` selects that still match `guard`; undefined when the
 * guard can match nothing (an empty status list), so no statement is sent.
 */
function stepFilter(
  target: (eb: ExpressionBuilder<Database, 'pipeline_steps'>) => Expression<SqlBool>,
  guard: StepRunGuard | undefined,
): StepFilter | undefined {
  if (guard?.status?.length === 0) return undefined;
  return (eb) =>
    eb.and([
      target(eb),
      ...(guard?.status === undefined ? [] : [eb('status', 'in', guard.status)]),
      ...(guard?.attempt === undefined ? [] : [eb('attempt', '=', guard.attempt)]),
    ]);
}
