import { CairnError } from '@cairn/contract';
import { allocateData, elementWriter } from './datatype-arrays.js';
import {
  describeValue,
  formatShape,
  indexPath,
  isJsonObject,
  ownField,
  type JsonObject,
} from './json-value.js';
import { fillRowMajor } from './row-major.js';
import { DATATYPES, isDatatype, type Datatype, type TensorData } from './tensor.js';

/**
 * The checks of one tensor object's fields, shared by `tensorFromJson` and
 * the inference request parser (which adds the model's expectations between
 * them). Each failure is an INVALID_ARGUMENT naming the field.
 */

export const DEFAULT_MAX_ELEMENTS = 16_777_216;
export const MAX_RANK = 8;

/** Where a tensor sits: `field` prefixes error fields (`inputs[0]`), `label` starts messages (`input "x"`). */
export interface TensorPlace {
  field: string;
  label: string;
}

/** `path` (`data[3]`, `shape`, or '' for the tensor itself) extends the field and starts the detail. */
export function tensorError(place: TensorPlace, path: string, detail: string): CairnError {
  const field = path === '' || place.field === '' ? place.field + path : `${place.field}.${path}`;
  const message = path === '' ? `${place.label} ${detail}` : `${place.label}: ${path} ${detail}`;
  return new CairnError('INVALID_ARGUMENT', message, { field });
}

export function readTensorObject(value: unknown, place: TensorPlace): JsonObject {
  if (isJsonObject(value)) return value;
  throw tensorError(
    place,
    '',
    `is ${describeValue(value)}, not a tensor object {name, datatype, shape, data}`,
  );
}

export function readTensorName(object: JsonObject, place: TensorPlace): string {
  const name = ownField(object, 'name');
  if (typeof name === 'string' && name !== '') return name;
  throw tensorError(place, 'name', `is ${describeValue(name)}, not a non-empty string`);
}

export function readDatatype(object: JsonObject, place: TensorPlace): Datatype {
  const datatype = ownField(object, 'datatype');
  if (isDatatype(datatype)) return datatype;
  throw tensorError(place, 'datatype', `is ${describeValue(datatype)}, not one of ${DATATYPES.join(', ')}`);
}

/** A shape of known dimensions, no more than `maxElements` elements in all (nor in any one dimension). */
export function readShape(object: JsonObject, place: TensorPlace, maxElements: number): number[] {
  const shape = ownField(object, 'shape');
  if (!Array.isArray(shape)) {
    throw tensorError(place, 'shape', `is ${describeValue(shape)}, not an array of dimension sizes`);
  }
  if (shape.length > MAX_RANK) {
    throw tensorError(place, 'shape', `has ${shape.length} dimensions, at most ${MAX_RANK} are allowed`);
  }
  let count = 1;
  for (let index = 0; index < shape.length; index += 1) {
    const dim: unknown = shape[index];
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 0) {
      throw tensorError(place, `shape[${index}]`, `is ${describeValue(dim)}, not a size (an integer ≥ 0)`);
    }
    // Each dimension is bounded too: [0, 1e300] holds nothing, yet no runtime should be handed it.
    if (dim > maxElements) {
      throw tensorError(place, `shape[${index}]`, `is ${dim}, more than the ${maxElements} elements allowed`);
    }
    count *= dim;
  }
  if (count > maxElements) {
    const holds = `${formatShape(shape as number[])} holds ${count} elements`;
    throw tensorError(place, 'shape', `${holds}, more than the ${maxElements} allowed`);
  }
  // A copy: the tensor must not change if the caller later edits the request body.
  return shape.slice() as number[];
}

export interface DataRead {
  datatype: Datatype;
  shape: readonly number[];
}

/** The tensor's `data`, flat or nested, converted into its datatype's array. */
export function readData(object: JsonObject, place: TensorPlace, read: DataRead): TensorData {
  const count = read.shape.reduce((product, dim) => product * dim, 1);
  const data = allocateData(read.datatype, count);
  const problem = fillRowMajor({
    value: ownField(object, 'data'),
    shape: read.shape,
    write: elementWriter(read.datatype, data),
    offset: 0,
  });
  if (problem !== undefined) throw tensorError(place, indexPath('data', problem.indices), problem.detail);
  return data;
}

/** `parameters` is optional (null counts as absent); when given it must be an object. */
export function readParameters(object: JsonObject, place: TensorPlace): JsonObject | undefined {
  const parameters = ownField(object, 'parameters');
  if (parameters === undefined || parameters === null) return undefined;
  if (isJsonObject(parameters)) return parameters;
  throw tensorError(place, 'parameters', `is ${describeValue(parameters)}, not an object`);
}
