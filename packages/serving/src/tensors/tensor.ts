/**
 * Tensors as the Open Inference Protocol (KServe / Triton "v2") types them.
 * Data is always flat and row-major, as the protocol sends it; `shape` says
 * how to read it. Numeric data lives in the typed array of its datatype so a
 * runtime can hand it to onnxruntime without copying.
 */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type Datatype = (typeof DATATYPES)[number];

/**
 * The flat data of each datatype:
 * - BOOL: Uint8Array of 0/1 (what onnxruntime takes for `bool`);
 * - FP16: Uint16Array of IEEE half-precision bit patterns (onnxruntime's `float16`);
 * - INT64 / UINT64: BigInt64Array / BigUint64Array;
 * - BYTES: strings (the protocol's JSON form; UTF-8 on the wire).
 */
export interface TensorDataByType {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BYTES: string[];
}

export type TensorData = TensorDataByType[Datatype];

export interface Tensor<D extends Datatype = Datatype> {
  name: string;
  datatype: D;
  /** Every dimension known (≥ 0); the product is the data's length. */
  shape: number[];
  data: TensorDataByType[D];
}

/** What a model declares for one of its inputs or outputs. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  /** -1 marks a dimension of any size (the batch dimension, usually the first). */
  shape: number[];
  /**
   * Names of the last dimension's columns (as many as that dimension holds),
   * when the model has them: the predict route then also takes rows as
   * objects keyed by feature name.
   */
  features?: string[];
}

export interface ModelMetadata {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

/** The number of elements a shape holds (1 for a scalar's empty shape). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}
