import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';
// Entities and the port straight from their files: the module's index would load its services too.
import type {
  DeploymentRecord,
  DeploymentRevisionRecord,
  FeedbackRecord,
  PredictionKind,
  PredictionRecord,
} from '../../../modules/serving/entities.js';
import type {
  DeploymentListQuery,
  DeploymentStore,
  PredictionQuery,
  PredictionWithFeedback,
  ShadowSummaryRow,
} from '../../../modules/serving/deployments.store.js';
import { translateDbError, type SqlHelpers } from '../database.js';
import { dialectTraits } from '../datasets/dataset-row-mappers.js';
import type { Database, PredictionsTable } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import {
  flattenFeedbackRow,
  flattenPredictionRow,
  toDeployment,
  toDeploymentRow,
  toFeedbackRow,
  toPrediction,
  toPredictionRow,
  toRevision,
  toRevisionRow,
} from './serving-row-mappers.js';

// 15 parameters a prediction row: 30,000 a statement under SQLite's 32,766, 60,000 under
// PostgreSQL's 65,535. So a log writer's batch of 2,000 rows is one statement on either.
const PREDICTION_ROWS_PER_INSERT = { sqlite: 2000, postgres: 4000 } as const;
// 5 parameters a feedback row.
const FEEDBACK_ROWS_PER_INSERT = 4000;

/**
 * Deployments, their revisions, the prediction log and its ground truth; one
 * implementation for SQLite and PostgreSQL.
 */
export class SqlDeploymentStore implements DeploymentStore {
  private readonly predictionRowsPerInsert: number;
  private readonly bytewise: (column: string) => RawBuilder<string>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly helpers: SqlHelpers,
  ) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    this.predictionRowsPerInsert = PREDICTION_ROWS_PER_INSERT[postgres ? 'postgres' : 'sqlite'];
    // Names listed in byte order on both dialects, so pages mean the same everywhere.
    this.bytewise = dialectTraits(db).bytewise;
  }

  // ── Deployments ──────────────────────────────────────────────────────

  async getDeploymentByName(name: string): Promise<DeploymentRecord | undefined> {
    const row = await this.db
      .selectFrom('deployments')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toDeployment(row);
  }

  async getDeployment(deploymentId: string): Promise<DeploymentRecord | undefined> {
    const row = await this.db
      .selectFrom('deployments')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .executeTakeFirst();
    return row === undefined ? undefined : toDeployment(row);
  }

  async listDeployments(query: DeploymentListQuery): Promise<DeploymentRecord[]> {
    if (query.projectIds?.length === 0) return [];
    let select = this.db.selectFrom('deployments').selectAll();
    if (query.projectIds !== undefined)
      select = select.where(this.helpers.anyOf('project_id', query.projectIds));
    const rows = await select
      .orderBy(this.bytewise('name'))
      .limit(query.limit + 1)
      .offset(query.offset)
      .execute();
    return rows.map(toDeployment);
  }

  /** Deployments whose current revision row does not exist (yet) are left out. */
  async listActive(): Promise<Array<{ deployment: DeploymentRecord; revision: DeploymentRevisionRecord }>> {
    const rows = await this.db
      .selectFrom('deployments as d')
      .innerJoin('deployment_revisions as r', (join) =>
        join.onRef('r.deployment_id', '=', 'd.deployment_id').onRef('r.revision', '=', 'd.current_revision'),
      )
      .selectAll('d')
      .select([
        'r.revision',
        'r.routes',
        'r.shadows',
        'r.settings',
        'r.follow',
        'r.reason',
        'r.created_ms as revision_created_ms',
        'r.created_by as revision_created_by',
      ])
      .orderBy(this.bytewise('d.name'))
      .execute();
    return rows.map((row) => ({
      deployment: toDeployment(row),
      revision: toRevision({
        deployment_id: row.deployment_id,
        revision: row.revision,
        routes: row.routes,
        shadows: row.shadows,
        settings: row.settings,
        follow: row.follow,
        reason: row.reason,
        created_ms: row.revision_created_ms,
        created_by: row.revision_created_by,
      }),
    }));
  }

  async insertDeployment(record: DeploymentRecord): Promise<void> {
    try {
      await this.db.insertInto('deployments').values(toDeploymentRow(record)).execute();
    } catch (error) {
      throw translateDbError(error);
    }
  }

  /**
   * Compare-and-set in one statement. On PostgreSQL a second writer waits on
   * the first's row lock, then re-reads the row and finds the revision moved;
   * SQLite has one writer at a time.
   */
  async setCurrentRevision(input: {
    deploymentId: string;
    expectedRevision: number;
    revision: number;
    at: number;
  }): Promise<boolean> {
    const result = await this.db
      .updateTable('deployments')
      .set({ current_revision: input.revision, updated_ms: input.at })
      .where('deployment_id', '=', input.deploymentId)
      .where('current_revision', '=', input.expectedRevision)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async setPort(deploymentId: string, port: number | null): Promise<void> {
    await this.db
      .updateTable('deployments')
      .set({ port })
      .where('deployment_id', '=', deploymentId)
      .execute();
  }

  /** Revisions, predictions and feedback go with it (ON DELETE CASCADE). */
  async deleteDeployment(deploymentId: string): Promise<void> {
    await this.db.deleteFrom('deployments').where('deployment_id', '=', deploymentId).execute();
  }

  // ── Revisions ────────────────────────────────────────────────────────

  async insertRevision(record: DeploymentRevisionRecord): Promise<void> {
    try {
      await this.db.insertInto('deployment_revisions').values(toRevisionRow(record)).execute();
    } catch (error) {
      throw translateDbError(error);
    }
  }

  async getRevision(deploymentId: string, revision: number): Promise<DeploymentRevisionRecord | undefined> {
    const row = await this.db
      .selectFrom('deployment_revisions')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .where('revision', '=', revision)
      .executeTakeFirst();
    return row === undefined ? undefined : toRevision(row);
  }

  async listRevisions(deploymentId: string, limit: number): Promise<DeploymentRevisionRecord[]> {
    const rows = await this.db
      .selectFrom('deployment_revisions')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .orderBy('revision', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toRevision);
  }

  // ── The prediction log ───────────────────────────────────────────────

  /**
   * Rows of deployments that no longer exist are dropped first: the log
   * writer flushes rows buffered before a deletion, and one such row must not
   * fail the statement for every other deployment's rows. (A deletion landing
   * between that check and the insert still fails it, with NOT_FOUND.)
   */
  async insertPredictions(records: readonly PredictionRecord[]): Promise<void> {
    await this.insertPredictionRows(records.map(toPredictionRow));
  }

  /** Rows already converted (the log writer builds them straight from drafts). */
  async insertPredictionRows(rows: readonly PredictionsTable[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      const ids = [...new Set(rows.map((r) => r.deployment_id))];
      const existing = await this.db
        .selectFrom('deployments')
        .select('deployment_id')
        .where(this.helpers.anyOf('deployment_id', ids))
        .execute();
      const live = new Set(existing.map((r) => r.deployment_id));
      const kept = rows.filter((r) => live.has(r.deployment_id));
      for (const part of chunk(kept, this.predictionRowsPerInsert)) {
        // The statement text depends only on the row count: compile it once per count.
        await this.helpers.shapes.execute(
          this.db,
          { name: 'predictions:insert-or-ignore', rows: part, flatten: flattenPredictionRow },
          () =>
            this.db
              .insertInto('predictions')
              .values(part)
              .onConflict((oc) => oc.columns(['request_id', 'kind']).doNothing()),
        );
      }
    } catch (error) {
      throw translateDbError(error);
    }
  }

  async queryPredictions(query: PredictionQuery): Promise<PredictionWithFeedback[]> {
    // Each kind is one backward range scan of the (deployment, kind, time, request) index
    // that stops after `limit` rows; without a kind, the two scans are merged.
    const source =
      query.kind !== undefined
        ? this.newestOfKind(query, query.kind)
        : this.db
            .selectFrom(this.newestOfKind(query, 'live').as('l'))
            .selectAll()
            .unionAll(this.db.selectFrom(this.newestOfKind(query, 'shadow').as('s')).selectAll());
    const rows = await this.db
      .selectFrom(source.as('p'))
      .leftJoin('prediction_feedback as f', (join) =>
        join.onRef('f.request_id', '=', 'p.request_id').onRef('f.deployment_id', '=', 'p.deployment_id'),
      )
      .selectAll('p')
      .select(['f.truth as truth', 'f.created_ms as truth_ms'])
      .orderBy('p.created_ms', 'desc')
      .orderBy('p.request_id', 'desc')
      .orderBy('p.kind')
      .limit(query.limit)
      .execute();
    return rows.map(toPrediction);
  }

  private newestOfKind(query: PredictionQuery, kind: PredictionKind) {
    let select = this.db
      .selectFrom('predictions')
      .selectAll()
      .where('deployment_id', '=', query.deploymentId)
      .where('kind', '=', kind);
    if (query.since !== undefined) select = select.where('created_ms', '>=', query.since);
    if (query.until !== undefined) select = select.where('created_ms', '<', query.until);
    const before = query.before;
    if (before !== undefined) {
      // The shadow row of the cursor's own request still comes after a cursor on its live row.
      const op = before.kind === 'live' && kind === 'shadow' ? '<=' : '<';
      select = select.where(({ eb, refTuple, tuple }) =>
        eb(refTuple('created_ms', 'request_id'), op, tuple(before.createdAt, before.requestId)),
      );
    }
    return select.orderBy('created_ms', 'desc').orderBy('request_id', 'desc').limit(query.limit);
  }

  async getPrediction(requestId: string, kind: PredictionKind): Promise<PredictionWithFeedback | undefined> {
    const row = await this.db
      .selectFrom('predictions as p')
      .leftJoin('prediction_feedback as f', (join) =>
        join.onRef('f.request_id', '=', 'p.request_id').onRef('f.deployment_id', '=', 'p.deployment_id'),
      )
      .selectAll('p')
      .select(['f.truth as truth', 'f.created_ms as truth_ms'])
      .where('p.request_id', '=', requestId)
      .where('p.kind', '=', kind)
      .executeTakeFirst();
    return row === undefined ? undefined : toPrediction(row);
  }

  async upsertFeedback(records: readonly FeedbackRecord[]): Promise<void> {
    // PostgreSQL refuses to update one row twice in a statement: the last truth sent wins.
    const rows = [...new Map(records.map((r) => [r.requestId, toFeedbackRow(r)])).values()];
    try {
      for (const part of chunk(rows, FEEDBACK_ROWS_PER_INSERT)) {
        await this.helpers.shapes.execute(
          this.db,
          { name: 'prediction_feedback:upsert', rows: part, flatten: flattenFeedbackRow },
          () =>
            this.db
              .insertInto('prediction_feedback')
              .values(part)
              .onConflict((oc) =>
                oc.column('request_id').doUpdateSet((eb) => ({
                  deployment_id: eb.ref('excluded.deployment_id'),
                  truth: eb.ref('excluded.truth'),
                  created_ms: eb.ref('excluded.created_ms'),
                  created_by: eb.ref('excluded.created_by'),
                })),
              ),
        );
      }
    } catch (error) {
      throw translateDbError(error);
    }
  }

  async shadowSummary(deploymentId: string, since: number): Promise<ShadowSummaryRow[]> {
    const rows = await this.db
      .selectFrom('predictions')
      .where('deployment_id', '=', deploymentId)
      .where('kind', '=', 'shadow')
      .where('created_ms', '>=', since)
      .groupBy(['model', 'version'])
      .select((eb) => [
        'model',
        'version',
        eb.fn.countAll<number>().as('requests'),
        sql<number>`sum(case when status = 'error' then 1 else 0 end)`.as('errors'),
        eb.fn.count<number>('agreed').as('compared'),
        sql<number>`coalesce(sum(agreed), 0)`.as('agreed'),
        sql<number>`coalesce(sum(case when agreed is not null then mean_abs_diff end), 0)`.as(
          'sum_mean_abs_diff',
        ),
        sql<number>`coalesce(sum(latency_ms), 0)`.as('sum_latency_ms'),
      ])
      .orderBy(this.bytewise('model'))
      .orderBy('version')
      .execute();
    return rows.map((row) => ({
      model: row.model,
      version: Number(row.version),
      requests: Number(row.requests),
      errors: Number(row.errors),
      compared: Number(row.compared),
      agreed: Number(row.agreed),
      sumMeanAbsDiff: Number(row.sum_mean_abs_diff),
      sumLatencyMs: Number(row.sum_latency_ms),
    }));
  }
}
