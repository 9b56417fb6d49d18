/**
 * ONNX element types (TensorProto.DataType in onnx.proto) with the names onnxruntime prints in type
 * strings and their Open Inference Protocol (KServe v2) datatype, where one exists.
 */
const ELEMENT_TYPES: ReadonlyArray<readonly [onnxName: string, datatype: string | undefined]> = [
  ['undefined', undefined], // 0
  ['float', 'FP32'],
  ['uint8', 'UINT8'],
  ['int8', 'INT8'],
  ['uint16', 'UINT16'],
  ['int16', 'INT16'],
  ['int32', 'INT32'],
  ['int64', 'INT64'],
  ['string', 'BYTES'],
  ['bool', 'BOOL'],
  ['float16', 'FP16'], // 10
  ['double', 'FP64'],
  ['uint32', 'UINT32'],
  ['uint64', 'UINT64'],
  ['complex64', undefined],
  ['complex128', undefined],
  ['bfloat16', 'BF16'],
  ['float8e4m3fn', undefined],
  ['float8e4m3fnuz', undefined],
  ['float8e5m2', undefined],
  ['float8e5m2fnuz', undefined], // 20
  ['uint4', undefined],
  ['int4', undefined],
  ['float4e2m1', undefined],
];

/**
 * The datatype of values the Open Inference Protocol cannot carry as one tensor: sequences, maps,
 * sparse tensors, opaque types and element types without a v2 name (complex, float8, int4). The exact
 * type is always in `onnxType`.
 */
export const UNKNOWN_DATATYPE = 'UNKNOWN';

export function onnxElementName(code: number): string {
  return ELEMENT_TYPES[code]?.[0] ?? `elem_type_${code}`;
}

export function oipDatatype(code: number): string {
  return ELEMENT_TYPES[code]?.[1] ?? UNKNOWN_DATATYPE;
}
