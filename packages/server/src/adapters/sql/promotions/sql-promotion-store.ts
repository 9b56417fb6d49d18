import { CairnError } from '@cairn/contract';
import { sql, type Kysely, type Selectable, type Transaction, type Updateable } from 'kysely';
import type { LabelTarget } from '../../../modules/governance/index.js';
import type {
  Evaluation,
  PromotionPatch,
  PromotionQuery,
  PromotionRequestRecord,
  PromotionReviewRecord,
  PromotionStatus,
  PromotionStore,
} from '../../../modules/promotions/index.js';
import type { Database, PromotionRequestsTable } from '../schema.js';

const STATUSES: ReadonlySet<string> = new Set(['pending', 'applied', 'rejected', 'expired', 'cancelled']);

/** JSON columns are validated on the way out: a row that is not what we wrote is data loss, said so. */
function parseEvaluation(text: string, requestId: string): Evaluation {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || !Array.isArray((value as Evaluation).checks)) {
    throw new CairnError('DATA_LOSS', `promotion request ${requestId} has unreadable checks`);
  }
  return value as Evaluation;
}

function toRequest(row: Selectable<PromotionRequestsTable>): PromotionRequestRecord {
  if (!STATUSES.has(row.status) || (row.target_kind !== 'alias' && row.target_kind !== 'stage')) {
    throw new CairnError('DATA_LOSS', `promotion request ${row.request_id} has an unknown status or target`);
  }
  return {
    requestId: row.request_id,
    projectId: row.project_id,
    modelId: row.model_id,
    modelName: row.model_name,
    version: Number(row.version),
    target: { kind: row.target_kind, name: row.target },
    archiveExisting: Number(row.archive_existing) === 1,
    requester: row.requester,
    reason: row.reason,
    status: row.status as PromotionStatus,
    policyVersion: row.policy_version === null ? null : Number(row.policy_version),
    policy: row.policy,
    evaluation: parseEvaluation(row.checks, row.request_id),
    createdAt: Number(row.created_ms),
    expiresAt: Number(row.expires_ms),
    decidedAt: row.decided_ms === null ? null : Number(row.decided_ms),
    decidedBy: row.decided_by,
    decisionComment: row.decision_comment,
  };
}

export class SqlPromotionStore implements PromotionStore {
  constructor(private readonly db: Kysely<Database> | Transaction<Database>) {}

  async lockModel(modelId: string): Promise<void> {
    // A no-op update takes the model row's lock on PostgreSQL until commit;
    // SQLite already holds its single writer lock for the whole transaction.
    await this.db
      .updateTable('registered_models')
      .set({ model_id: sql`model_id` })
      .where('model_id', '=', modelId)
      .execute();
  }

  async insertRequest(request: PromotionRequestRecord): Promise<void> {
    await this.db
      .insertInto('promotion_requests')
      .values({
        request_id: request.requestId,
        project_id: request.projectId,
        model_id: request.modelId,
        model_name: request.modelName,
        version: request.version,
        target_kind: request.target.kind,
        target: request.target.name,
        archive_existing: request.archiveExisting ? 1 : 0,
        requester: request.requester,
        reason: request.reason,
        status: request.status,
        policy_version: request.policyVersion,
        policy: request.policy,
        checks: JSON.stringify(request.evaluation),
        created_ms: request.createdAt,
        expires_ms: request.expiresAt,
        decided_ms: request.decidedAt,
        decided_by: request.decidedBy,
        decision_comment: request.decisionComment,
      })
      .execute();
  }

  async getRequest(requestId: string): Promise<PromotionRequestRecord | undefined> {
    const row = await this.db
      .selectFrom('promotion_requests')
      .selectAll()
      .where('request_id', '=', requestId)
      .executeTakeFirst();
    return row === undefined ? undefined : toRequest(row);
  }

  async pendingFor(move: {
    modelId: string;
    version: number;
    target: LabelTarget;
  }): Promise<PromotionRequestRecord[]> {
    const rows = await this.db
      .selectFrom('promotion_requests')
      .selectAll()
      .where('model_id', '=', move.modelId)
      .where('version', '=', move.version)
      .where('target_kind', '=', move.target.kind)
      .where('target', '=', move.target.name)
      .where('status', '=', 'pending')
      .execute();
    return rows.map(toRequest);
  }

  async updateRequest(requestId: string, patch: PromotionPatch): Promise<void> {
    const set: Updateable<PromotionRequestsTable> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.evaluation !== undefined) set.checks = JSON.stringify(patch.evaluation);
    if (patch.decidedAt !== undefined) set.decided_ms = patch.decidedAt;
    if (patch.decidedBy !== undefined) set.decided_by = patch.decidedBy;
    if (patch.decisionComment !== undefined) set.decision_comment = patch.decisionComment;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('promotion_requests').set(set).where('request_id', '=', requestId).execute();
  }

  async insertReview(review: PromotionReviewRecord): Promise<void> {
    await this.db
      .insertInto('promotion_reviews')
      .values({
        request_id: review.requestId,
        reviewer: review.reviewer,
        decision: review.decision,
        comment: review.comment,
        created_ms: review.createdAt,
      })
      .execute();
  }

  async listReviews(requestIds: readonly string[]): Promise<PromotionReviewRecord[]> {
    if (requestIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('promotion_reviews')
      .selectAll()
      .where('request_id', 'in', [...requestIds])
      .orderBy('created_ms')
      .orderBy('reviewer')
      .execute();
    return rows.map((row) => ({
      requestId: row.request_id,
      reviewer: row.reviewer,
      decision: row.decision === 'reject' ? 'reject' : 'approve',
      comment: row.comment,
      createdAt: Number(row.created_ms),
    }));
  }

  async listRequests(query: PromotionQuery): Promise<PromotionRequestRecord[]> {
    let select = this.db.selectFrom('promotion_requests').selectAll();
    if (query.projectIds !== undefined) {
      if (query.projectIds.length === 0) return [];
      select = select.where('project_id', 'in', [...query.projectIds]);
    }
    if (query.modelName !== undefined) select = select.where('model_name', '=', query.modelName);
    // A pending request past its time shows as expired before anyone marks it so.
    if (query.status === 'pending') {
      select = select.where('status', '=', 'pending').where('expires_ms', '>', query.now);
    } else if (query.status === 'expired') {
      select = select.where((eb) =>
        eb.or([
          eb('status', '=', 'expired'),
          eb.and([eb('status', '=', 'pending'), eb('expires_ms', '<=', query.now)]),
        ]),
      );
    } else if (query.status !== undefined) {
      select = select.where('status', '=', query.status);
    }
    const rows = await select
      .orderBy('created_ms', 'desc')
      .orderBy('request_id', 'desc')
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    return rows.map(toRequest);
  }
}
