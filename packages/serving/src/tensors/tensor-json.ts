import { jsonElements } from './datatype-arrays.js';
import {
  DEFAULT_MAX_ELEMENTS,
  readData,
  readDatatype,
  readParameters,
  readShape,
  readTensorName,
  readTensorObject,
  type TensorPlace,
} from './tensor-fields.js';
import type { Datatype, Tensor } from './tensor.js';

/** A tensor as the Open Inference Protocol's JSON body carries it. */
export interface TensorJson {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: Array<number | boolean | string>;
  parameters?: Record<string, unknown>;
}

export interface TensorFromJsonOptions {
  /** The tensor's place in the request, prefixing every error field: `inputs[0]`. */
  where: string;
  /** Elements one tensor may hold; 16,777,216 when absent. */
  maxElements?: number;
}

/**
 * Reads and checks an OIP tensor object `{name, datatype, shape, data,
 * parameters?}`; `data` may be flat or nested in row-major order. Throws
 * INVALID_ARGUMENT naming the field (`inputs[0].data[17]`). `parameters`
 * is checked to be an object and otherwise dropped: no tensor parameter
 * changes how Cairn reads the data.
 */
export function tensorFromJson(value: unknown, options: TensorFromJsonOptions): Tensor {
  const place: TensorPlace = { field: options.where, label: options.where === '' ? 'tensor' : options.where };
  const object = readTensorObject(value, place);
  const name = readTensorName(object, place);
  const datatype = readDatatype(object, place);
  const shape = readShape(object, place, options.maxElements ?? DEFAULT_MAX_ELEMENTS);
  readParameters(object, place);
  const data = readData(object, place, { datatype, shape });
  return { name, datatype, shape, data };
}

/** The tensor as OIP JSON with flat data (see `jsonElements` for how each datatype reads). */
export function tensorToJson(tensor: Tensor): TensorJson {
  return {
    name: tensor.name,
    datatype: tensor.datatype,
    shape: [...tensor.shape],
    data: jsonElements(tensor.datatype, tensor.data),
  };
}
