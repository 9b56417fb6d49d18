import { halfToFloat } from '../tensors/float16.js';
import { elementCount, type Tensor } from '../tensors/tensor.js';
import { tensorToJson } from '../tensors/tensor-json.js';

/**
 * JSON text straight from typed arrays, for responses on the hot path:
 * no intermediate arrays of boxed numbers and no JSON.stringify of the whole
 * body. JSON has no NaN or ±Infinity; they are written as null.
 */

type NumericArray = Exclude<Tensor['data'], string[]>;

function floatsText(data: Float32Array | Float64Array): string {
  let finite = true;
  for (let index = 0; index < data.length && finite; index += 1) finite = Number.isFinite(data[index]);
  // TypedArray#join writes each number as JSON would; it only differs on the non-finite ones.
  if (finite) return data.join(',');
  let text = '';
  for (let index = 0; index < data.length; index += 1) {
    const value = data[index]!;
    text += (index === 0 ? '' : ',') + (Number.isFinite(value) ? String(value) : 'null');
  }
  return text;
}

function halvesText(data: Uint16Array): string {
  let text = '';
  for (let index = 0; index < data.length; index += 1) {
    const value = halfToFloat(data[index]!);
    text += (index === 0 ? '' : ',') + (Number.isFinite(value) ? String(value) : 'null');
  }
  return text;
}

function boolsText(data: Uint8Array): string {
  let text = '';
  for (let index = 0; index < data.length; index += 1) {
    text += (index === 0 ? '' : ',') + (data[index] === 0 ? 'false' : 'true');
  }
  return text;
}

function stringsText(data: readonly string[]): string {
  let text = '';
  for (let index = 0; index < data.length; index += 1) {
    const value = data[index];
    // A runtime handing back a non-string must not make the body unparseable.
    text += (index === 0 ? '' : ',') + (typeof value === 'string' ? JSON.stringify(value) : 'null');
  }
  return text;
}

export interface ElementRange {
  start: number;
  end: number;
}

/**
 * The elements `range` of the tensor's data as JSON values joined by commas,
 * without brackets. 64-bit integers are written with all their digits (JSON
 * allows it; a client parsing into doubles rounds them as `Number()` would).
 */
export function elementsText(tensor: Tensor, range: ElementRange): string {
  const { start, end } = range;
  switch (tensor.datatype) {
    case 'BYTES':
      return stringsText((tensor.data as string[]).slice(start, end));
    case 'BOOL':
      return boolsText((tensor.data as Uint8Array).subarray(start, end));
    case 'FP16':
      return halvesText((tensor.data as Uint16Array).subarray(start, end));
    case 'FP32':
    case 'FP64':
      return floatsText((tensor.data as Float32Array | Float64Array).subarray(start, end));
    default:
      return (tensor.data as NumericArray).subarray(start, end).join(',');
  }
}

/** `[[],[]]` for [2,0,3]: the arrays down to the first empty dimension. */
function emptyNestedText(shape: readonly number[]): string {
  const empty = shape.indexOf(0);
  let text = '[]';
  for (let depth = empty - 1; depth >= 0; depth -= 1)
    text = `[${new Array(shape[depth]).fill(text).join(',')}]`;
  return text;
}

/**
 * The `elementCount(shape)` elements from `start` as JSON nested per `shape`;
 * a bare value for the empty shape. Written run by run (a run is one
 * innermost array) with brackets opened and closed where the outer
 * dimensions begin and end, so no recursion and one join per run.
 */
export function nestedText(tensor: Tensor, at: { start: number; shape: readonly number[] }): string {
  const { start, shape } = at;
  if (shape.length === 0) return elementsText(tensor, { start, end: start + 1 });
  const count = elementCount(shape);
  if (count === 0) return emptyNestedText(shape);
  const run = shape[shape.length - 1]!;
  const runs = count / run;
  // runsWithin[depth]: how many runs one array at that depth holds.
  const runsWithin: number[] = [];
  let within = runs;
  for (let depth = 0; depth < shape.length - 1; depth += 1) {
    runsWithin.push(within);
    within /= shape[depth]!;
  }
  let text = '';
  for (let index = 0; index < runs; index += 1) {
    if (index > 0) text += ',';
    for (const size of runsWithin) if (index % size === 0) text += '[';
    const from = start + index * run;
    text += `[${elementsText(tensor, { start: from, end: from + run })}]`;
    for (let depth = runsWithin.length - 1; depth >= 0; depth -= 1) {
      if ((index + 1) % runsWithin[depth]! === 0) text += ']';
    }
  }
  return text;
}

/**
 * Exactly the text of `JSON.stringify(tensorToJson(tensor))`, written straight
 * from the typed array for FP32 and FP64 (the prediction log writes one or
 * more per logged request; the intermediate array of boxed numbers cost
 * more than the insert). Other datatypes take the general conversion.
 */
export function tensorJsonText(tensor: Tensor): string {
  if (tensor.datatype !== 'FP32' && tensor.datatype !== 'FP64') return JSON.stringify(tensorToJson(tensor));
  const data = tensor.data as Float32Array | Float64Array;
  return `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}","shape":${JSON.stringify(tensor.shape)},"data":[${floatsText(data)}]}`;
}
