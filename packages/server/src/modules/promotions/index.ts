export type {
  PromotionPatch,
  PromotionQuery,
  PromotionStore,
  PromotionStores,
  PromotionTransactionStores,
} from './promotion.store.js';
export type { LabelMover } from './promotion-steps.js';
export type {
  CheckResult,
  Evaluation,
  PromotionFacts,
  PromotionRequestRecord,
  PromotionReviewRecord,
  PromotionStatus,
  PromotionView,
} from './entities.js';
export { currentStatus } from './entities.js';
export { evaluatePromotion } from './promotion-checks.js';
export type { EvaluationInput } from './promotion-checks.js';
export { gatherFacts } from './promotion-evidence.js';
export type { EvidenceSources } from './promotion-evidence.js';
export { PromotionsService } from './promotions.service.js';
export type { CreatePromotionInput, ListPromotionsInput, PromotionsDeps } from './promotions.service.js';
export { expireOverdueRequests } from './promotion-expiry.js';
