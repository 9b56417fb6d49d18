/**
 * onnxruntime's element types and value metadata in Open Inference Protocol terms, both ways.
 */
import { CairnError } from '@cairn/contract';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Datatype, ModelMetadata, TensorSpec } from '../tensors/tensor.js';

export const ORT_TYPE_BY_DATATYPE: Readonly<Record<Datatype, OrtTensor.Type>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const DATATYPE_BY_ORT_TYPE: ReadonlyMap<string, Datatype> = new Map(
  Object.entries(ORT_TYPE_BY_DATATYPE).map(([datatype, type]) => [type, datatype as Datatype]),
);

/** The protocol datatype of an onnxruntime element type; undefined for those it has none for (int4, uint4). */
export function datatypeOf(type: string): Datatype | undefined {
  return DATATYPE_BY_ORT_TYPE.get(type);
}

/**
 * The model's signature as the session reports it. Symbolic or unknown dimensions become -1. onnxruntime
 * reports a tensor of unknown rank with an empty shape: there the signature recorded at registration
 * (`declared`) fills in the shape, when it names the same tensor. Outputs that are not tensors (a ZipMap's
 * sequence of maps) are left out and never computed; an input that is not a tensor, or of an element type
 * the protocol cannot carry, makes the model unservable.
 */
export function sessionMetadata(
  session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>,
  declared?: ModelMetadata,
): ModelMetadata {
  const inputs = session.inputMetadata.map((value) => {
    const spec = tensorSpec(value, declared?.inputs);
    if (spec === undefined) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `the model's input ${JSON.stringify(value.name)} is ${describe(value)}; Cairn serves ONNX models whose inputs are tensors of the Open Inference Protocol's datatypes`,
      );
    }
    return spec;
  });
  const outputs = session.outputMetadata.flatMap((value) => tensorSpec(value, declared?.outputs) ?? []);
  if (outputs.length === 0) {
    throw new CairnError('FAILED_PRECONDITION', 'the model has no tensor outputs Cairn could return');
  }
  return { inputs, outputs };
}

function tensorSpec(
  value: InferenceSession.ValueMetadata,
  declared?: readonly TensorSpec[],
): TensorSpec | undefined {
  if (!value.isTensor) return undefined;
  const datatype = datatypeOf(value.type);
  if (datatype === undefined) return undefined;
  if (value.shape.length === 0) {
    const known = declared?.find((spec) => spec.name === value.name);
    if (known !== undefined) return { name: value.name, datatype, shape: [...known.shape] };
  }
  const shape = value.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));
  return { name: value.name, datatype, shape };
}

function describe(value: InferenceSession.ValueMetadata): string {
  return value.isTensor ? `a tensor of ${value.type}` : 'not a tensor';
}
