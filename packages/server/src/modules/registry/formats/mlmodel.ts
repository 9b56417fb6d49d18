import { parseDocument } from 'yaml';
import type { SignatureField } from '../entities.js';
import { parseParams, parseSchema, requireString, type MlflowParamSpec } from './mlflow-schema.js';
import { ModelFormatError, isModelFormatError } from './model-format-error.js';

export interface MlflowSignature {
  inputs: SignatureField[];
  outputs: SignatureField[];
  params?: MlflowParamSpec[];
}

/** `saved_input_example_info`: where the example is and how it is encoded. */
export interface MlflowInputExampleInfo {
  artifactPath: string;
  /** dataframe, ndarray, json_object, sparse_matrix_csc… */
  type: string;
  pandasOrient?: string;
  format?: string;
  servingInputPath?: string;
}

export interface MlModel {
  flavors: Record<string, Record<string, unknown>>;
  signature?: MlflowSignature;
  inputExample?: MlflowInputExampleInfo;
  runId?: string;
  modelUuid?: string;
  mlflowVersion?: string;
  utcTimeCreated?: string;
  artifactPath?: string;
}

/** MLmodel files are a few kilobytes; a larger one is not what it claims to be. */
export const MLMODEL_MAX_BYTES = 1024 * 1024;
export const INPUT_EXAMPLE_MAX_BYTES = 1024 * 1024;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses an MLflow `MLmodel` file. Anything that does not fit throws ModelFormatError naming the field. */
export function parseMlModel(text: string): MlModel {
  if (text.length > MLMODEL_MAX_BYTES)
    throw new ModelFormatError(`MLmodel is larger than ${MLMODEL_MAX_BYTES} bytes`);
  const root = parseYaml(text);
  if (!isObject(root)) throw new ModelFormatError('MLmodel must be a YAML mapping');
  const model: MlModel = { flavors: parseFlavors(root['flavors']) };
  const signature = root['signature'];
  if (signature !== undefined && signature !== null) model.signature = parseSignature(signature);
  const example = root['saved_input_example_info'];
  if (example !== undefined && example !== null) model.inputExample = parseExampleInfo(example);
  const scalars = [
    ['runId', 'run_id'],
    ['modelUuid', 'model_uuid'],
    ['mlflowVersion', 'mlflow_version'],
    ['utcTimeCreated', 'utc_time_created'],
    ['artifactPath', 'artifact_path'],
  ] as const;
  for (const [key, field] of scalars) {
    const value = optionalScalar(root[field], field);
    if (value !== undefined) model[key] = value;
  }
  return model;
}

/** Parses `input_example.json`; only checks that it is JSON of a sensible size. */
export function readInputExample(text: string): unknown {
  if (text.length > INPUT_EXAMPLE_MAX_BYTES) {
    throw new ModelFormatError(`input example is larger than ${INPUT_EXAMPLE_MAX_BYTES} bytes`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ModelFormatError(`input example is not valid JSON: ${(error as Error).message}`);
  }
}

function parseYaml(text: string): unknown {
  try {
    const doc = parseDocument(text, { schema: 'core', prettyErrors: false, uniqueKeys: true });
    const [first] = doc.errors;
    if (first !== undefined)
      throw new ModelFormatError(`MLmodel is not valid YAML: ${first.message.split('\n')[0]}`);
    // The alias cap stops "billion laughs" expansion.
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    if (isModelFormatError(error)) throw error;
    // The YAML library's own failures (alias limits, stack depth) all mean the same to the caller.
    throw new ModelFormatError(`MLmodel is not valid YAML: ${(error as Error).message}`);
  }
}

function parseFlavors(value: unknown): Record<string, Record<string, unknown>> {
  if (!isObject(value) || Object.keys(value).length === 0) {
    throw new ModelFormatError('MLmodel field flavors must be a mapping with at least one flavor');
  }
  const flavors: Array<[string, Record<string, unknown>]> = [];
  for (const [name, config] of Object.entries(value)) {
    if (config === null) flavors.push([name, {}]);
    else if (isObject(config)) flavors.push([name, config]);
    else throw new ModelFormatError(`MLmodel field flavors.${name} must be a mapping`);
  }
  return Object.fromEntries(flavors);
}

function parseSignature(value: unknown): MlflowSignature {
  if (!isObject(value)) throw new ModelFormatError('MLmodel field signature must be a mapping');
  const signature: MlflowSignature = {
    inputs: parseSchema(value['inputs'], 'signature.inputs'),
    outputs: parseSchema(value['outputs'], 'signature.outputs'),
  };
  const params = parseParams(value['params'], 'signature.params');
  if (params.length > 0) signature.params = params;
  return signature;
}

function parseExampleInfo(value: unknown): MlflowInputExampleInfo {
  if (!isObject(value))
    throw new ModelFormatError('MLmodel field saved_input_example_info must be a mapping');
  const at = (key: string): string => `saved_input_example_info.${key}`;
  const info: MlflowInputExampleInfo = {
    artifactPath: requireString(value['artifact_path'], at('artifact_path')),
    type: optionalScalar(value['type'], at('type')) ?? 'unknown',
  };
  const pandasOrient = optionalScalar(value['pandas_orient'], at('pandas_orient'));
  if (pandasOrient !== undefined) info.pandasOrient = pandasOrient;
  const format = optionalScalar(value['format'], at('format'));
  if (format !== undefined) info.format = format;
  const servingInputPath = optionalScalar(value['serving_input_path'], at('serving_input_path'));
  if (servingInputPath !== undefined) info.servingInputPath = servingInputPath;
  return info;
}

/** A string field; numbers (an unquoted version like 2.10) are read as their text. */
function optionalScalar(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ModelFormatError(`MLmodel field ${field} must be a string`);
}
