import { FP16_MAX, fitsFloat16, floatToHalf, halfToFloat } from './float16.js';
import type { Datatype, TensorData, TensorDataByType } from './tensor.js';

/**
 * Per datatype: the typed array that holds it, and the conversion between
 * that array and the protocol's JSON elements. JSON carries numbers, booleans
 * and strings only, so every element is checked as strictly as its datatype
 * reads it — a value that would silently wrap, round to infinity or lose
 * precision is refused rather than changed.
 */

/**
 * Converts one JSON element into `data[index]`. Returns undefined when it
 * fits, else why not ("not an integer, INT32 holds whole numbers") for the
 * caller to put after "data[3] is 1.5, ".
 */
export type ElementWriter = (index: number, value: unknown) => string | undefined;

type NumericDatatype = Exclude<Datatype, 'BYTES'>;

/** The typed array of each numeric datatype (BOOL as 0/1 bytes, FP16 as half-precision bit patterns). */
const ARRAY_TYPES = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
} as const;

/** `length` elements of the datatype viewed in place in `buffer` from byte `offset` (aligned for it). */
export function viewData(
  datatype: NumericDatatype,
  at: { buffer: ArrayBuffer; offset: number; length: number },
): TensorData {
  return new ARRAY_TYPES[datatype](at.buffer, at.offset, at.length);
}

/** Data of the datatype holding `values` (numbers, or BigInts for the 64-bit integer types), copied. */
export function dataFrom(datatype: Datatype, values: readonly unknown[]): TensorData {
  if (datatype === 'BYTES') return [...(values as string[])];
  const from = ARRAY_TYPES[datatype].from as (values: ArrayLike<unknown>) => TensorData;
  return from.call(ARRAY_TYPES[datatype], values);
}

export function allocateData<D extends Datatype>(datatype: D, length: number): TensorDataByType[D] {
  const data =
    datatype === 'BYTES'
      ? new Array<string>(length).fill('')
      : new ARRAY_TYPES[datatype as NumericDatatype](length);
  return data as TensorDataByType[D];
}

const NOT_A_NUMBER = 'not a number';
const NOT_FINITE = 'not a finite number';

type IntegerDatatype = Exclude<Datatype, 'BOOL' | 'FP16' | 'FP32' | 'FP64' | 'BYTES'>;

interface IntegerRange {
  datatype: IntegerDatatype;
  min: number;
  max: number;
}

const INTEGER_RANGES: Record<IntegerDatatype, IntegerRange> = {
  INT8: { datatype: 'INT8', min: -128, max: 127 },
  UINT8: { datatype: 'UINT8', min: 0, max: 255 },
  INT16: { datatype: 'INT16', min: -32768, max: 32767 },
  UINT16: { datatype: 'UINT16', min: 0, max: 65535 },
  INT32: { datatype: 'INT32', min: -(2 ** 31), max: 2 ** 31 - 1 },
  UINT32: { datatype: 'UINT32', min: 0, max: 2 ** 32 - 1 },
  // A JSON number past 2^53 has already lost digits by the time it is parsed, so it is refused, not guessed.
  INT64: { datatype: 'INT64', min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  UINT64: { datatype: 'UINT64', min: 0, max: Number.MAX_SAFE_INTEGER },
};

function integerProblem(value: unknown, range: IntegerRange): string | undefined {
  if (typeof value !== 'number') return NOT_A_NUMBER;
  if (!Number.isInteger(value)) {
    return Number.isFinite(value) ? `not an integer, ${range.datatype} holds whole numbers` : NOT_FINITE;
  }
  if (value < range.min || value > range.max) {
    const wide = range.datatype === 'INT64' || range.datatype === 'UINT64';
    const note = wide ? ' (larger integers lose precision as JSON numbers)' : '';
    return `outside ${range.datatype}'s range ${range.min}..${range.max}${note}`;
  }
  return undefined;
}

function numberWriter(data: { [index: number]: number }, range: IntegerRange): ElementWriter {
  return (index, value) => {
    const problem = integerProblem(value, range);
    if (problem === undefined) data[index] = value as number;
    return problem;
  };
}

function bigintWriter(data: BigInt64Array | BigUint64Array, range: IntegerRange): ElementWriter {
  return (index, value) => {
    const problem = integerProblem(value, range);
    if (problem === undefined) data[index] = BigInt(value as number);
    return problem;
  };
}

function floatWriter(data: Float32Array | Float64Array, datatype: 'FP32' | 'FP64'): ElementWriter {
  const outside = `outside ${datatype}'s range ±${datatype === 'FP32' ? 3.4028234663852886e38 : Number.MAX_VALUE}`;
  return (index, value) => {
    if (typeof value !== 'number') return NOT_A_NUMBER;
    if (!Number.isFinite(value)) return NOT_FINITE;
    // A double beyond float32's range would be stored as Infinity, which is not what was sent.
    if (datatype === 'FP32' && !Number.isFinite(Math.fround(value))) return outside;
    data[index] = value;
    return undefined;
  };
}

function halfWriter(data: Uint16Array): ElementWriter {
  return (index, value) => {
    if (typeof value !== 'number') return NOT_A_NUMBER;
    if (!Number.isFinite(value)) return NOT_FINITE;
    if (!fitsFloat16(value)) return `outside FP16's range ±${FP16_MAX}`;
    data[index] = floatToHalf(value);
    return undefined;
  };
}

function boolWriter(data: Uint8Array): ElementWriter {
  return (index, value) => {
    if (typeof value !== 'boolean') return 'not true or false';
    data[index] = value ? 1 : 0;
    return undefined;
  };
}

function bytesWriter(data: string[]): ElementWriter {
  return (index, value) => {
    if (typeof value !== 'string') return 'not a string';
    data[index] = value;
    return undefined;
  };
}

/** A writer of JSON elements into `data`, which must be the array `allocateData(datatype, …)` made. */
export function elementWriter<D extends Datatype>(datatype: D, data: TensorDataByType[D]): ElementWriter {
  const any = data as TensorData;
  const type: Datatype = datatype;
  switch (type) {
    case 'BOOL':
      return boolWriter(any as Uint8Array);
    case 'FP16':
      return halfWriter(any as Uint16Array);
    case 'FP32':
    case 'FP64':
      return floatWriter(any as Float32Array | Float64Array, type);
    case 'BYTES':
      return bytesWriter(any as string[]);
    case 'INT64':
    case 'UINT64':
      return bigintWriter(any as BigInt64Array | BigUint64Array, INTEGER_RANGES[type]);
    default:
      return numberWriter(any as Uint8Array, INTEGER_RANGES[type]);
  }
}

export type JsonElement = number | boolean | string;

/**
 * The JSON elements of `data`: BOOL as true/false, FP16 bits as numbers,
 * 64-bit integers as numbers (exact up to 2^53). Floats keep NaN and
 * ±Infinity, which JSON text cannot hold: encoders write them as null.
 */
export function jsonElements(datatype: Datatype, data: TensorData): JsonElement[] {
  switch (datatype) {
    case 'BOOL':
      return Array.from(data as Uint8Array, (value) => value !== 0);
    case 'FP16':
      return Array.from(data as Uint16Array, halfToFloat);
    case 'INT64':
    case 'UINT64':
      return Array.from(data as BigInt64Array, (value) => Number(value));
    case 'BYTES':
      return [...(data as string[])];
    default:
      return Array.from(data as Float64Array);
  }
}
