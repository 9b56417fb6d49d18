import { CairnError } from '@cairn/contract';
import {
  describeValue,
  formatShape,
  isJsonObject,
  ownField,
  type JsonObject,
} from '../tensors/json-value.js';
import {
  DEFAULT_MAX_ELEMENTS,
  readData,
  readDatatype,
  readParameters,
  readShape,
  readTensorName,
  readTensorObject,
  tensorError,
  type TensorPlace,
} from '../tensors/tensor-fields.js';
import type { Datatype, ModelMetadata, Tensor, TensorSpec } from '../tensors/tensor.js';
import { elementsText } from './json-text.js';

/** The Open Inference Protocol's (KServe / Triton "v2") JSON inference request and response. */

export interface ServedModel {
  name: string;
  metadata: ModelMetadata;
}

export interface InferLimits {
  /** Elements one input tensor may hold; 16,777,216 when absent. */
  maxElements?: number;
}

export interface InferRequest {
  /** Echoed in the response. */
  id?: string;
  /** One per model input, in the order the model declares them. */
  inputs: Tensor[];
  /** The outputs asked for; absent (also when the request sent []) means all. */
  outputs?: string[];
  parameters?: Record<string, unknown>;
}

const invalid = (field: string, message: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

const names = (specs: readonly TensorSpec[]): string => specs.map((spec) => spec.name).join(', ');

function sameShape(given: readonly number[], spec: readonly number[]): boolean {
  return given.length === spec.length && spec.every((dim, index) => dim === -1 || dim === given[index]);
}

interface InputRead {
  model: ServedModel;
  specs: ReadonlyMap<string, TensorSpec>;
  read: Map<string, { tensor: Tensor; index: number }>;
  maxElements: number;
}

function readInput(value: unknown, index: number, context: InputRead): void {
  const { model, specs, read } = context;
  const at: TensorPlace = { field: `inputs[${index}]`, label: `inputs[${index}]` };
  const object = readTensorObject(value, at);
  const name = readTensorName(object, at);
  const spec = specs.get(name);
  if (spec === undefined) {
    const message = `input ${describeValue(name)} is not an input of model ${model.name}; its inputs are: ${names(model.metadata.inputs)}`;
    throw invalid(`${at.field}.name`, message);
  }
  const earlier = read.get(name);
  if (earlier !== undefined) {
    throw invalid(
      `${at.field}.name`,
      `input "${name}" is given twice: inputs[${earlier.index}] and ${at.field}`,
    );
  }
  const place: TensorPlace = { field: at.field, label: `input "${name}"` };
  const datatype = readDatatype(object, place);
  if (datatype !== spec.datatype) {
    throw tensorError(place, 'datatype', `${datatype} given, model ${model.name} takes ${spec.datatype}`);
  }
  const shape = readShape(object, place, context.maxElements);
  if (!sameShape(shape, spec.shape)) {
    const detail = `${formatShape(shape)} given, model ${model.name} takes ${formatShape(spec.shape)}`;
    throw tensorError(place, 'shape', detail);
  }
  readParameters(object, place);
  const data = readData(object, place, { datatype, shape });
  read.set(name, { tensor: { name, datatype, shape, data }, index });
}

function readInputs(body: JsonObject, model: ServedModel, limits: InferLimits): Tensor[] {
  const inputs = ownField(body, 'inputs');
  if (!Array.isArray(inputs) || inputs.length === 0) {
    const wanted = `model ${model.name} takes a non-empty array of input tensors (${names(model.metadata.inputs)})`;
    throw invalid('inputs', `inputs is ${describeValue(inputs)}; ${wanted}`);
  }
  const specs = new Map(model.metadata.inputs.map((spec) => [spec.name, spec]));
  const read = new Map<string, { tensor: Tensor; index: number }>();
  const context = { model, specs, read, maxElements: limits.maxElements ?? DEFAULT_MAX_ELEMENTS };
  inputs.forEach((value, index) => readInput(value, index, context));
  return model.metadata.inputs.map((spec) => {
    const found = read.get(spec.name);
    if (found !== undefined) return found.tensor;
    const message = `input "${spec.name}" is missing; model ${model.name} takes inputs: ${names(model.metadata.inputs)}`;
    throw invalid('inputs', message);
  });
}

function readOutputs(body: JsonObject, model: ServedModel): string[] | undefined {
  const outputs = ownField(body, 'outputs');
  if (outputs === undefined || outputs === null) return undefined;
  if (!Array.isArray(outputs)) {
    throw invalid('outputs', `outputs is ${describeValue(outputs)}, not an array of {name} objects`);
  }
  const known = new Set(model.metadata.outputs.map((spec) => spec.name));
  const requested: string[] = [];
  outputs.forEach((value, index) => {
    const at: TensorPlace = { field: `outputs[${index}]`, label: `outputs[${index}]` };
    if (!isJsonObject(value)) throw tensorError(at, '', `is ${describeValue(value)}, not an object {name}`);
    const name = readTensorName(value, at);
    if (!known.has(name)) {
      const message = `output ${describeValue(name)} is not an output of model ${model.name}; its outputs are: ${names(model.metadata.outputs)}`;
      throw invalid(`${at.field}.name`, message);
    }
    if (requested.includes(name)) throw invalid(`${at.field}.name`, `output "${name}" is requested twice`);
    readParameters(value, { field: at.field, label: `output "${name}"` });
    requested.push(name);
  });
  return requested.length === 0 ? undefined : requested;
}

/**
 * Reads a v2 inference request body and checks it against the model's
 * signature: every input present once, with the model's datatype and shape
 * (-1 matching any size), and every element valid for its datatype.
 * Throws INVALID_ARGUMENT naming the field. Unknown top-level keys are ignored.
 */
export function parseInferRequest(body: unknown, model: ServedModel, limits: InferLimits = {}): InferRequest {
  if (!isJsonObject(body)) {
    throw new CairnError('INVALID_ARGUMENT', `the request body is ${describeValue(body)}, not a JSON object`);
  }
  const id = ownField(body, 'id');
  if (id !== undefined && id !== null && typeof id !== 'string') {
    throw invalid('id', `id is ${describeValue(id)}, not a string`);
  }
  const parameters = readParameters(body, { field: '', label: 'request' });
  const request: InferRequest = { inputs: readInputs(body, model, limits) };
  const outputs = readOutputs(body, model);
  if (typeof id === 'string') request.id = id;
  if (outputs !== undefined) request.outputs = outputs;
  if (parameters !== undefined) request.parameters = parameters;
  return request;
}

export interface InferResponse {
  modelName: string;
  modelVersion: string;
  id?: string;
  outputs: readonly Tensor[];
}

/**
 * The v2 inference response as JSON text, written directly from the typed
 * arrays (this runs once per request at >10,000 requests/s). NaN and
 * ±Infinity become null.
 */
export function encodeInferResponse(response: InferResponse): string {
  let text = `{"model_name":${JSON.stringify(response.modelName)},"model_version":${JSON.stringify(response.modelVersion)}`;
  if (response.id !== undefined) text += `,"id":${JSON.stringify(response.id)}`;
  text += ',"outputs":[';
  response.outputs.forEach((tensor, index) => {
    if (index > 0) text += ',';
    text += `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}","shape":[${tensor.shape.join(',')}],"data":[`;
    text += `${elementsText(tensor, { start: 0, end: tensor.data.length })}]}`;
  });
  return `${text}]}`;
}

export interface TensorMetadataJson {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface ModelMetadataJson {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadataJson[];
  outputs: TensorMetadataJson[];
}

const tensorMetadata = (spec: TensorSpec): TensorMetadataJson => ({
  name: spec.name,
  datatype: spec.datatype,
  shape: [...spec.shape],
});

/** The v2 model metadata response (`GET /v2/models/{name}`); feature names are Cairn's own and left out. */
export function modelMetadataJson(model: {
  name: string;
  versions: string[];
  platform: string;
  metadata: ModelMetadata;
}): ModelMetadataJson {
  return {
    name: model.name,
    versions: [...model.versions],
    platform: model.platform,
    inputs: model.metadata.inputs.map(tensorMetadata),
    outputs: model.metadata.outputs.map(tensorMetadata),
  };
}
