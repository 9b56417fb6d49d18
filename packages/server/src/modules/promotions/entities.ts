import type { PolicyCardField, PromotionStatus, RiskTier } from '@cairn/contract';
import type { LabelTarget } from '../governance/index.js';

export type { PromotionStatus };

/** One check of a request, with what its result was decided on. */
export interface CheckResult {
  /** `metric:auc >= 0.85`, `model_card`, `training_data`, `approvals`, `four_eyes`, `expiry`. */
  readonly id: string;
  readonly description: string;
  readonly passed: boolean;
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** The checks as of one evaluation; stored with the request and replaced by the next. */
export interface Evaluation {
  readonly evaluatedAt: number;
  readonly passed: boolean;
  readonly approvals: {
    readonly count: number;
    readonly required: number;
    readonly riskTier: RiskTier | null;
  };
  readonly checks: readonly CheckResult[];
}

export interface PromotionRequestRecord {
  readonly requestId: string;
  readonly projectId: string;
  readonly modelId: string;
  readonly modelName: string;
  readonly version: number;
  readonly target: LabelTarget;
  /** Stage moves only: archive the versions already in the stage when this one moves in. */
  readonly archiveExisting: boolean;
  readonly requester: string;
  readonly reason: string;
  /** As stored: a pending request past its expiry still says `pending` until someone touches it. */
  readonly status: PromotionStatus;
  readonly policyVersion: number | null;
  /** Canonical JSON of the policy in force at creation: the request is judged by it, whatever changes later. */
  readonly policy: string;
  readonly evaluation: Evaluation;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedAt: number | null;
  readonly decidedBy: string | null;
  readonly decisionComment: string | null;
}

export interface PromotionReviewRecord {
  readonly requestId: string;
  readonly reviewer: string;
  readonly decision: 'approve' | 'reject';
  readonly comment: string;
  readonly createdAt: number;
}

/** A request as shown: its status as of now (`expired` once past its time) and its reviews. */
export interface PromotionView {
  readonly request: PromotionRequestRecord;
  readonly status: PromotionStatus;
  readonly reviews: readonly PromotionReviewRecord[];
}

/** What the checks are decided on, gathered from tracking, the registry and lineage. */
export interface PromotionFacts {
  /** The version's source run; null when it was registered from files alone. */
  readonly runId: string | null;
  /** Latest value per metric key of the source run; undefined when there is no readable run. */
  readonly metrics: Readonly<Record<string, number>> | undefined;
  readonly card: Readonly<Record<PolicyCardField, string | null>>;
  readonly riskTier: RiskTier | null;
  /** Dataset nodes upstream of the source run in lineage. */
  readonly datasets: ReadonlyArray<{ kind: string; id: string; label: string }>;
}

export const isOpen = (status: PromotionStatus): boolean => status === 'pending';

export function currentStatus(request: Pick<PromotionRequestRecord, 'status' | 'expiresAt'>, now: number) {
  return request.status === 'pending' && now >= request.expiresAt ? 'expired' : request.status;
}
