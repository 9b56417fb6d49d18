import { CairnError, isCairnError } from '@cairn/contract';
import { COMMAND_MANIFEST_FILE, parseCommandManifest } from '@cairn/serving';
import type { ModelFormat, ModelSignature, SignatureField } from '../entities.js';
import {
  INPUT_EXAMPLE_MAX_BYTES,
  MLMODEL_MAX_BYTES,
  parseMlModel,
  readInputExample,
  type MlModel,
} from './mlmodel.js';
import { isModelFormatError } from './model-format-error.js';
import { readOnnxInfo, type OnnxInfo, type TensorSpec } from './onnx-signature.js';
import { readSmallText, type TextSource } from './read-text.js';

/** One file of a model folder. */
export interface ModelFileSource extends TextSource {
  /** Relative to the model root, '/'-separated. */
  path: string;
  sizeBytes: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
}

export interface ModelInspection {
  format: ModelFormat;
  signature?: ModelSignature;
  /** onnx: file, producer, opsets, irVersion, metadata; mlflow: flavors, input example, mlflowVersion, runId. */
  details: Record<string, unknown>;
  /** Things a person should know but that did not stop registration (a corrupt file kept as opaque). */
  warnings: string[];
}

const MLMODEL_PATH = 'MLmodel';

/**
 * Works out what a model folder is and reads its signature. An `MLmodel` at the root makes it MLflow,
 * else a single `.onnx` file makes it ONNX, else it is opaque. A declared format is a promise: when the
 * files cannot keep it the call fails with INVALID_ARGUMENT. A detected format that turns out corrupt
 * only degrades to opaque with a warning, since the user asked for nothing in particular.
 * Errors of the file sources themselves (I/O, integrity) pass through.
 */
export async function inspectModel(
  files: ModelFileSource[],
  declared?: ModelFormat,
): Promise<ModelInspection> {
  const mlmodel = files.find((f) => f.path === MLMODEL_PATH);
  const manifest = files.find((f) => f.path === COMMAND_MANIFEST_FILE);
  const onnxFiles = files.filter((f) => f.path.toLowerCase().endsWith('.onnx'));
  // A serving manifest is the most explicit statement of how to run the model, so it wins.
  const format =
    declared ??
    (manifest !== undefined
      ? 'command'
      : mlmodel !== undefined
        ? 'mlflow'
        : onnxFiles.length === 1
          ? 'onnx'
          : 'opaque');
  if (format === 'command') return inspectCommand(manifest, declared === 'command');
  if (format === 'mlflow') return inspectMlflow(files, mlmodel, declared === 'mlflow');
  if (format === 'onnx') return inspectOnnx(onnxFiles, declared === 'onnx');
  const warnings =
    declared === undefined && onnxFiles.length > 1
      ? [`${onnxFiles.length} .onnx files found (${listPaths(onnxFiles)}), so none was inspected`]
      : [];
  return { format: 'opaque', details: {}, warnings };
}

async function inspectOnnx(onnxFiles: ModelFileSource[], declared: boolean): Promise<ModelInspection> {
  const [file] = onnxFiles;
  if (file === undefined || onnxFiles.length > 1) {
    const found = file === undefined ? 'none' : listPaths(onnxFiles);
    throw invalidFormat(`format onnx needs exactly one .onnx file in the model; found ${found}`);
  }
  try {
    const info = await readOnnx(file);
    return {
      format: 'onnx',
      signature: onnxSignature(info),
      details: onnxDetails(file.path, info),
      warnings: [],
    };
  } catch (error) {
    if (!isModelFormatError(error)) throw error;
    if (declared) throw invalidFormat(`${file.path} is not a valid ONNX model: ${error.message}`, error);
    return {
      format: 'opaque',
      details: {},
      warnings: [
        `${file.path} could not be read as ONNX, so the model is registered as opaque: ${error.message}`,
      ],
    };
  }
}

/** Bigger than any manifest needs; a huge one is a mistake, not a model. */
const MANIFEST_MAX_BYTES = 256 * 1024;

async function inspectCommand(
  file: ModelFileSource | undefined,
  declared: boolean,
): Promise<ModelInspection> {
  if (file === undefined) {
    throw invalidFormat(`format command needs a ${COMMAND_MANIFEST_FILE} at the root of the model`);
  }
  try {
    const manifest = parseCommandManifest(await readSmallText(file, MANIFEST_MAX_BYTES));
    const field = (spec: { name: string; datatype: string; shape: number[] }): SignatureField => ({
      name: spec.name,
      type: spec.datatype,
      shape: spec.shape,
    });
    return {
      format: 'command',
      signature: {
        source: 'command',
        inputs: manifest.metadata.inputs.map(field),
        outputs: manifest.metadata.outputs.map(field),
      },
      details: { command: manifest.command },
      warnings: [],
    };
  } catch (error) {
    // parseCommandManifest refuses with FAILED_PRECONDITION; other errors are the file source's own.
    const refused = isCairnError(error) && error.code === 'FAILED_PRECONDITION';
    if (!isModelFormatError(error) && !refused) throw error;
    const message = (error as Error).message;
    if (declared)
      throw invalidFormat(`${COMMAND_MANIFEST_FILE} is not a valid serving manifest: ${message}`, error);
    return {
      format: 'opaque',
      details: {},
      warnings: [
        `${COMMAND_MANIFEST_FILE} could not be read, so the model is registered as opaque: ${message}`,
      ],
    };
  }
}

async function inspectMlflow(
  files: ModelFileSource[],
  mlmodelFile: ModelFileSource | undefined,
  declared: boolean,
): Promise<ModelInspection> {
  if (mlmodelFile === undefined)
    throw invalidFormat('format mlflow needs an MLmodel file at the root of the model');
  let mlmodel: MlModel;
  try {
    mlmodel = parseMlModel(await readSmallText(mlmodelFile, MLMODEL_MAX_BYTES));
  } catch (error) {
    if (!isModelFormatError(error)) throw error;
    if (declared) throw invalidFormat(`MLmodel is not a valid MLflow model file: ${error.message}`, error);
    return {
      format: 'opaque',
      details: {},
      warnings: [`MLmodel could not be parsed, so the model is registered as opaque: ${error.message}`],
    };
  }
  const warnings: string[] = [];
  const details = mlflowDetails(mlmodel);
  let signature: ModelSignature | undefined;
  if (mlmodel.signature !== undefined) {
    signature = { source: 'mlflow', inputs: mlmodel.signature.inputs, outputs: mlmodel.signature.outputs };
    if (mlmodel.signature.params !== undefined) signature.params = mlmodel.signature.params;
  } else {
    const onnx = await inspectOnnxFlavor(files, mlmodel, warnings);
    if (onnx !== undefined) {
      signature = onnx.signature;
      details['onnx'] = onnx.details;
    }
  }
  if (mlmodel.inputExample !== undefined) {
    const example = await readExample(files, mlmodel.inputExample.artifactPath, warnings);
    if (example !== undefined) details['inputExample'] = example.value;
  }
  return { format: 'mlflow', ...(signature === undefined ? {} : { signature }), details, warnings };
}

/** Without an MLflow signature, an `onnx` flavor's model file still says what goes in and out. */
async function inspectOnnxFlavor(
  files: ModelFileSource[],
  mlmodel: MlModel,
  warnings: string[],
): Promise<{ signature: ModelSignature; details: Record<string, unknown> } | undefined> {
  const data = mlmodel.flavors['onnx']?.['data'];
  if (typeof data !== 'string') return undefined;
  const file = findFile(files, data);
  if (file === undefined) {
    warnings.push(`MLmodel names ONNX file ${data}, which is not in the model`);
    return undefined;
  }
  try {
    const info = await readOnnx(file);
    return { signature: onnxSignature(info), details: onnxDetails(file.path, info) };
  } catch (error) {
    if (!isModelFormatError(error)) throw error;
    warnings.push(`${file.path} could not be read as ONNX: ${error.message}`);
    return undefined;
  }
}

async function readExample(
  files: ModelFileSource[],
  path: string,
  warnings: string[],
): Promise<{ value: unknown } | undefined> {
  const file = findFile(files, path);
  if (file === undefined) {
    warnings.push(`MLmodel names input example ${path}, which is not in the model`);
    return undefined;
  }
  if (file.sizeBytes > INPUT_EXAMPLE_MAX_BYTES) {
    warnings.push(
      `input example ${file.path} is larger than ${INPUT_EXAMPLE_MAX_BYTES} bytes, so it is not shown`,
    );
    return undefined;
  }
  try {
    return { value: readInputExample(await readSmallText(file, INPUT_EXAMPLE_MAX_BYTES)) };
  } catch (error) {
    if (!isModelFormatError(error)) throw error;
    warnings.push(`input example ${file.path} could not be read: ${error.message}`);
    return undefined;
  }
}

function readOnnx(file: ModelFileSource): Promise<OnnxInfo> {
  return file.open().then((stream) => readOnnxInfo(stream, { sizeBytes: file.sizeBytes }));
}

function onnxSignature(info: OnnxInfo): ModelSignature {
  return { source: 'onnx', inputs: info.inputs.map(toField), outputs: info.outputs.map(toField) };
}

function toField(spec: TensorSpec): SignatureField {
  return {
    name: spec.name,
    type: spec.datatype,
    ...(spec.shape === null ? {} : { shape: spec.shape }),
    ...(spec.dimNames === undefined ? {} : { dimNames: spec.dimNames }),
    onnxType: spec.onnxType,
  };
}

function onnxDetails(path: string, info: OnnxInfo): Record<string, unknown> {
  const details: Record<string, unknown> = {
    file: path,
    irVersion: info.irVersion,
    producer: { name: info.producerName, version: info.producerVersion },
    opsets: info.opsets,
    graphName: info.graphName,
  };
  if (info.domain !== '') details['domain'] = info.domain;
  if (info.modelVersion !== 0) details['modelVersion'] = info.modelVersion;
  if (Object.keys(info.metadata).length > 0) details['metadata'] = info.metadata;
  if (info.docString !== '') details['docString'] = info.docString;
  return details;
}

function mlflowDetails(mlmodel: MlModel): Record<string, unknown> {
  const details: Record<string, unknown> = { flavors: mlmodel.flavors };
  if (mlmodel.mlflowVersion !== undefined) details['mlflowVersion'] = mlmodel.mlflowVersion;
  if (mlmodel.runId !== undefined) details['runId'] = mlmodel.runId;
  if (mlmodel.modelUuid !== undefined) details['modelUuid'] = mlmodel.modelUuid;
  if (mlmodel.utcTimeCreated !== undefined) details['utcTimeCreated'] = mlmodel.utcTimeCreated;
  if (mlmodel.artifactPath !== undefined) details['artifactPath'] = mlmodel.artifactPath;
  if (mlmodel.inputExample !== undefined) details['inputExampleInfo'] = mlmodel.inputExample;
  return details;
}

/** MLmodel paths are relative to the model root and may start with './'. */
function findFile(files: ModelFileSource[], path: string): ModelFileSource | undefined {
  const wanted = path.replace(/^(\.\/)+/, '');
  return files.find((f) => f.path === wanted);
}

function listPaths(files: ModelFileSource[]): string {
  const shown = files.slice(0, 5).map((f) => f.path);
  return files.length > 5 ? `${shown.join(', ')}, …` : shown.join(', ');
}

function invalidFormat(message: string, cause?: unknown): CairnError {
  return new CairnError('INVALID_ARGUMENT', message, {
    field: 'format',
    ...(cause === undefined ? {} : { cause }),
  });
}
