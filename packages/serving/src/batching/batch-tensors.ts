/**
 * Joining requests' tensors along the first (batch) dimension and cutting a batch's outputs back into
 * row ranges. Pure functions over flat row-major data; nothing here knows about a model.
 */
import type { Tensor, TensorData } from '../tensors/tensor.js';

type TypedArray = Exclude<TensorData, string[]>;
type TypedArrayConstructor = new (length: number) => TypedArray;

/** Rows of a request: the first dimension shared by all its inputs, or -1 when they disagree or one is a scalar. */
export function requestRows(inputs: readonly Tensor[]): number {
  const first = inputs[0];
  if (first === undefined || first.shape.length === 0) return -1;
  const rows = first.shape[0] as number;
  for (let i = 1; i < inputs.length; i++) {
    const shape = (inputs[i] as Tensor).shape;
    if (shape.length === 0 || shape[0] !== rows) return -1;
  }
  return rows;
}

/** The input named `name`, looked up at `index` first (requests usually list inputs in the same order). */
export function inputNamed(inputs: readonly Tensor[], name: string, index: number): Tensor | undefined {
  const guess = inputs[index];
  if (guess !== undefined && guess.name === name) return guess;
  return inputs.find((t) => t.name === name);
}

/** Whether two requests' inputs can share a run: same names, datatypes and dimensions after the first. */
export function sameRowShapes(a: readonly Tensor[], b: readonly Tensor[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Tensor;
    const y = inputNamed(b, x.name, i);
    if (y === undefined || y.datatype !== x.datatype || y.shape.length !== x.shape.length) return false;
    for (let d = 1; d < x.shape.length; d++) if (x.shape[d] !== y.shape[d]) return false;
  }
  return true;
}

/**
 * One tensor per input holding every part's rows in order, in a single array allocated at its final size.
 * Parts must have passed `sameRowShapes` against the first.
 */
export function concatRows(parts: readonly (readonly Tensor[])[], rows: number): Tensor[] {
  const head = parts[0] as readonly Tensor[];
  return head.map((first, index) => {
    const shape = [rows, ...first.shape.slice(1)];
    const perRow =
      first.shape[0] === 0 ? rowElements(first.shape) : first.data.length / (first.shape[0] as number);
    const size = rows * perRow;
    if (Array.isArray(first.data)) {
      const out = new Array<string>(size);
      let at = 0;
      for (const part of parts) {
        for (const value of (inputNamed(part, first.name, index) as Tensor).data as string[])
          out[at++] = value;
      }
      return { name: first.name, datatype: first.datatype, shape, data: out } as Tensor;
    }
    const out = new (first.data.constructor as TypedArrayConstructor)(size);
    let at = 0;
    for (const part of parts) {
      const data = (inputNamed(part, first.name, index) as Tensor).data as TypedArray;
      (out as { set(source: ArrayLike<number | bigint>, offset: number): void }).set(data, at);
      at += data.length;
    }
    return { name: first.name, datatype: first.datatype, shape, data: out } as Tensor;
  });
}

/** Rows [start, start + count) of a tensor whose first dimension is the batch; typed data is a view, not a copy. */
export function sliceRows(tensor: Tensor, start: number, count: number): Tensor {
  const total = tensor.shape[0] as number;
  const perRow = total === 0 ? 0 : tensor.data.length / total;
  const from = start * perRow;
  const to = from + count * perRow;
  const data = Array.isArray(tensor.data) ? tensor.data.slice(from, to) : tensor.data.subarray(from, to);
  const shape = tensor.shape.slice();
  shape[0] = count;
  return { name: tensor.name, datatype: tensor.datatype, shape, data } as Tensor;
}

function rowElements(shape: readonly number[]): number {
  let product = 1;
  for (let d = 1; d < shape.length; d++) product *= shape[d] as number;
  return product;
}
