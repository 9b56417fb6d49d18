/**
 * One onnxruntime session as the batcher's `BatchModel`: protocol tensors in, protocol tensors out, with
 * the data handed across as it is (typed arrays are wrapped, never copied).
 */
import { CairnError } from '@cairn/contract';
import { Tensor as OrtTensor, type InferenceSession } from 'onnxruntime-node';
import type { BatchModel } from '../batching/adaptive-batcher.js';
import type { Datatype, ModelMetadata, Tensor } from '../tensors/tensor.js';
import { ORT_TYPE_BY_DATATYPE, datatypeOf } from './onnx-types.js';

/** onnxruntime's messages for input it refuses before computing anything (checked against 1.30). */
const INVALID_INPUT =
  /^(Got invalid dimensions for input|Invalid rank for input|Unexpected input data type|input '[^']*' is missing|Invalid input name|Invalid Feed Input Name)/i;

export class OnnxSessionModel implements BatchModel {
  readonly metadata: ModelMetadata;
  readonly #session: InferenceSession;
  readonly #label: string;

  constructor(options: { session: InferenceSession; metadata: ModelMetadata; label: string }) {
    this.#session = options.session;
    this.metadata = options.metadata;
    this.#label = options.label;
  }

  async run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    const feeds: Record<string, OrtTensor> = {};
    try {
      for (const input of inputs) feeds[input.name] = toOrtTensor(input);
    } catch (error) {
      throw this.#error(error, 'INVALID_ARGUMENT');
    }
    let results: InferenceSession.ReturnType;
    try {
      results = await this.#session.run(feeds, outputs);
    } catch (error) {
      throw this.#error(error, INVALID_INPUT.test(messageOf(error)) ? 'INVALID_ARGUMENT' : 'INTERNAL');
    }
    return outputs.map((name) => fromOrtTensor(name, results[name] as OrtTensor));
  }

  #error(error: unknown, code: 'INVALID_ARGUMENT' | 'INTERNAL'): CairnError {
    const message = messageOf(error);
    const text =
      code === 'INVALID_ARGUMENT'
        ? `model ${this.#label} refused the input: ${message}`
        : `model ${this.#label} failed: ${message}`;
    return new CairnError(code, text, { cause: error });
  }
}

function toOrtTensor(tensor: Tensor): OrtTensor {
  // The overloads take each type with its own array; the protocol's TensorDataByType already pairs them.
  return new OrtTensor(
    ORT_TYPE_BY_DATATYPE[tensor.datatype] as 'float32',
    tensor.data as Float32Array,
    tensor.shape,
  );
}

function fromOrtTensor(name: string, value: OrtTensor): Tensor {
  const datatype: Datatype | undefined = datatypeOf(value.type);
  if (datatype === undefined)
    throw new Error(`output ${name} has element type ${value.type}, which has no protocol datatype`);
  return { name, datatype, shape: value.dims as number[], data: value.data as Tensor['data'] } as Tensor;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
