export * from './tensors/tensor.js';
export type {
  BatchObserver,
  BatchingSettings,
  InferOptions,
  ModelFiles,
  ModelRuntime,
  RuntimeFactory,
  RuntimeSettings,
} from './runtime.js';
export { RuntimeRegistry, defaultRuntimes } from './runtime-registry.js';
export type { RuntimeLoader } from './runtime-registry.js';
export { tensorFromJson, tensorToJson } from './tensors/tensor-json.js';
export { tensorJsonText } from './protocol/json-text.js';
export type { TensorJson } from './tensors/tensor-json.js';
export { floatToHalf, halfToFloat } from './tensors/float16.js';
export { viewData } from './tensors/datatype-arrays.js';
export { parseInferRequest, encodeInferResponse, modelMetadataJson } from './protocol/v2-infer.js';
export type { InferRequest, InferResponse, ServedModel } from './protocol/v2-infer.js';
export { parsePredictRequest } from './protocol/predict.js';
export type { PredictRequest } from './protocol/predict.js';
export { encodePredictResponse } from './protocol/predict-response.js';
// The manifest reader only: the command runtime itself is loaded lazily by the registry.
export { MANIFEST_FILE as COMMAND_MANIFEST_FILE, parseCommandManifest } from './command/command-manifest.js';
export type { CommandManifest } from './command/command-manifest.js';
export { DEFAULT_BATCHING } from './batching/adaptive-batcher.js';
