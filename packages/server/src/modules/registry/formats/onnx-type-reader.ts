import { ModelFormatError } from './model-format-error.js';
import type { OnnxFieldReader } from './onnx-field-reader.js';
import { UNKNOWN_DATATYPE, oipDatatype, onnxElementName } from './onnx-types.js';

/** A TypeProto described for the signature. */
export interface ValueType {
  /** As onnxruntime prints it: `tensor(float)`, `seq(map(int64,tensor(float)))`. */
  text: string;
  datatype: string;
  shape: number[] | null;
  dimNames?: Array<string | null>;
}

interface Dim {
  value: number;
  name: string | null;
}

export const UNKNOWN_TYPE: ValueType = { text: 'unknown', datatype: UNKNOWN_DATATYPE, shape: null };

// TypeProto field numbers from onnx.proto.
const TYPE = { tensor: 1, sequence: 4, map: 5, opaque: 7, sparseTensor: 8, optional: 9 };

/** Reads a TypeProto; `depth` counts nesting through sequence, map and optional types. */
export async function readValueType(f: OnnxFieldReader, end: number, depth: number): Promise<ValueType> {
  if (depth > f.limits.maxTypeDepth) {
    throw new ModelFormatError(`type nesting deeper than ${f.limits.maxTypeDepth} levels`, f.offset);
  }
  let type = UNKNOWN_TYPE;
  await f.fields(end, async (tag) => {
    const inner = async (what: string): Promise<number> => f.messageEnd(tag, end, `TypeProto.${what}`);
    switch (tag.field) {
      case TYPE.tensor:
        type = await readTensorType(f, await inner('tensor_type'), 'tensor');
        return true;
      case TYPE.sparseTensor: {
        const sparse = await readTensorType(f, await inner('sparse_tensor_type'), 'sparse_tensor');
        type = { ...sparse, datatype: UNKNOWN_DATATYPE };
        return true;
      }
      case TYPE.sequence: {
        const elem = await readWrapped(f, await inner('sequence_type'), depth);
        type = { text: `seq(${elem.text})`, datatype: UNKNOWN_DATATYPE, shape: null };
        return true;
      }
      case TYPE.optional: {
        const elem = await readWrapped(f, await inner('optional_type'), depth);
        type = { ...elem, text: `optional(${elem.text})` };
        return true;
      }
      case TYPE.map:
        type = await readMapType(f, await inner('map_type'), depth);
        return true;
      case TYPE.opaque:
        type = await readOpaqueType(f, await inner('opaque_type'));
        return true;
      default:
        return false;
    }
  });
  return type;
}

/** TypeProto.Sequence and TypeProto.Optional: one TypeProto in field 1. */
async function readWrapped(f: OnnxFieldReader, end: number, depth: number): Promise<ValueType> {
  let elem = UNKNOWN_TYPE;
  await f.fields(end, async (tag) => {
    if (tag.field !== 1) return false;
    elem = await readValueType(f, await f.messageEnd(tag, end, 'elem_type'), depth + 1);
    return true;
  });
  return elem;
}

async function readMapType(f: OnnxFieldReader, end: number, depth: number): Promise<ValueType> {
  let key = 0;
  let value = UNKNOWN_TYPE;
  await f.fields(end, async (tag) => {
    if (tag.field === 1) key = await f.int64(tag, end, 'TypeProto.Map.key_type');
    else if (tag.field === 2) {
      value = await readValueType(f, await f.messageEnd(tag, end, 'TypeProto.Map.value_type'), depth + 1);
    } else return false;
    return true;
  });
  return { text: `map(${onnxElementName(key)},${value.text})`, datatype: UNKNOWN_DATATYPE, shape: null };
}

async function readOpaqueType(f: OnnxFieldReader, end: number): Promise<ValueType> {
  const parts = ['', ''];
  await f.fields(end, async (tag) => {
    if (tag.field !== 1 && tag.field !== 2) return false;
    parts[tag.field - 1] = await f.name(tag, end, 'TypeProto.Opaque');
    return true;
  });
  return {
    text: `opaque(${parts.filter((p) => p !== '').join(',')})`,
    datatype: UNKNOWN_DATATYPE,
    shape: null,
  };
}

/** TypeProto.Tensor and TypeProto.SparseTensor: elem_type (1), shape (2). */
async function readTensorType(f: OnnxFieldReader, end: number, kind: string): Promise<ValueType> {
  const found: { elem: number; dims: Dim[] | null } = { elem: 0, dims: null };
  await f.fields(end, async (tag) => {
    if (tag.field === 1) found.elem = await f.int64(tag, end, 'TypeProto.Tensor.elem_type');
    else if (tag.field === 2)
      found.dims = await readShape(f, await f.messageEnd(tag, end, 'TypeProto.Tensor.shape'));
    else return false;
    return true;
  });
  const { elem, dims } = found;
  const type: ValueType = {
    text: `${kind}(${onnxElementName(elem)})`,
    datatype: oipDatatype(elem),
    shape: null,
  };
  if (dims === null) return type;
  type.shape = dims.map((d) => d.value);
  if (dims.some((d) => d.name !== null)) type.dimNames = dims.map((d) => d.name);
  return type;
}

async function readShape(f: OnnxFieldReader, end: number): Promise<Dim[]> {
  const dims: Dim[] = [];
  await f.fields(end, async (tag) => {
    if (tag.field !== 1) return false;
    if (dims.length >= f.limits.maxRank) {
      throw new ModelFormatError(`tensor rank above ${f.limits.maxRank}`, tag.offset);
    }
    dims.push(await readDim(f, await f.messageEnd(tag, end, 'TensorShapeProto.dim')));
    return true;
  });
  return dims;
}

/** Dimension: dim_value (1) or dim_param (2); neither means unknown. Negative values count as dynamic. */
async function readDim(f: OnnxFieldReader, end: number): Promise<Dim> {
  const dim: Dim = { value: -1, name: null };
  await f.fields(end, async (tag) => {
    if (tag.field === 1) {
      const v = await f.int64(tag, end, 'Dimension.dim_value');
      dim.value = Number.isSafeInteger(v) && v >= 0 ? v : -1;
      dim.name = null;
    } else if (tag.field === 2) {
      dim.name = await f.name(tag, end, 'Dimension.dim_param');
      dim.value = -1;
    } else return false;
    return true;
  });
  f.retain(16);
  return dim;
}
