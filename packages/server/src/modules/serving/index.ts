export type {
  DeploymentRecord,
  DeploymentRevisionRecord,
  DeploymentSettings,
  DeploymentSpec,
  FeedbackRecord,
  FollowedAlias,
  LiveRoute,
  PredictionKind,
  PredictionRecord,
  ShadowRoute,
} from './entities.js';
export type {
  DeploymentListQuery,
  DeploymentStore,
  DeploymentStores,
  PredictionQuery,
  PredictionWithFeedback,
  ShadowSummaryRow,
} from './deployments.store.js';
export { DeploymentsService } from './deployments.service.js';
export type { DeploymentView } from './deployments.service.js';
export { PredictionsService } from './predictions.service.js';
export { InferenceService } from './inference.service.js';
export { ServingEngine } from './serving-engine.js';
export type { DeploymentStatus } from './serving-engine.js';
export { RuntimePool } from './runtime-pool.js';
export { ModelFileCache } from './model-files.js';
export { PredictionLog } from './prediction-log.js';
export { AliasFollower } from './alias-follower.js';
export { NO_OBSERVER } from './serving-observer.js';
export type { ServingObserver } from './serving-observer.js';
export type { ServingContext, ModelVersionSource, DeploymentChanges } from './serving-context.js';
export { SERVABLE_FORMATS, DEFAULT_SETTINGS } from './deployment-spec.js';
export { DeploymentDescriber } from './deployment-describer.js';
export { inlinePredictionSink, predictionRecordOf } from './prediction-sink.js';
export type { PredictionDraft, PredictionSink } from './prediction-sink.js';
export { answerInfer, answerPredict, ROUTE_KEY_HEADER } from './inference-answers.js';
export type { InferenceRequest } from './inference-answers.js';
