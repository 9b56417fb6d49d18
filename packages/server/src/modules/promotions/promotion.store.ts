import type { AuditStores, LabelTarget } from '../governance/index.js';
import type { RegistryStores } from '../registry/index.js';
import type {
  Evaluation,
  PromotionRequestRecord,
  PromotionReviewRecord,
  PromotionStatus,
} from './entities.js';

export interface PromotionQuery {
  /** Only these projects; all when absent. */
  readonly projectIds?: readonly string[] | undefined;
  readonly modelName?: string | undefined;
  /** `expired` matches stored expiries and pending requests past `now`; `pending` only those before it. */
  readonly status?: PromotionStatus | undefined;
  readonly now: number;
  readonly offset: number;
  readonly limit: number;
}

export interface PromotionPatch {
  readonly status?: PromotionStatus;
  readonly evaluation?: Evaluation;
  readonly decidedAt?: number;
  readonly decidedBy?: string;
  readonly decisionComment?: string;
}

/** Promotion requests and their reviews. */
export interface PromotionStore {
  /**
   * Serialises changes to one model's requests until the transaction ends,
   * so two requests for the same move, or two last approvals, never race.
   */
  lockModel(modelId: string): Promise<void>;
  insertRequest(request: PromotionRequestRecord): Promise<void>;
  getRequest(requestId: string): Promise<PromotionRequestRecord | undefined>;
  /** Requests still stored as pending for this move (some may be past their expiry). */
  pendingFor(move: {
    modelId: string;
    version: number;
    target: LabelTarget;
  }): Promise<PromotionRequestRecord[]>;
  updateRequest(requestId: string, patch: PromotionPatch): Promise<void>;
  insertReview(review: PromotionReviewRecord): Promise<void>;
  /** Reviews of these requests, oldest first. */
  listReviews(requestIds: readonly string[]): Promise<PromotionReviewRecord[]>;
  /** Newest first. */
  listRequests(query: PromotionQuery): Promise<PromotionRequestRecord[]>;
}

export interface PromotionStores {
  promotions: PromotionStore;
}

/** What a promotion's transaction works with: its own store, the registry's (to move the label) and the audit trail. */
export type PromotionTransactionStores = PromotionStores & RegistryStores & AuditStores;
