import type { ElementWriter } from './datatype-arrays.js';
import { describeValue, formatShape } from './json-value.js';
import { elementCount } from './tensor.js';

/** What is wrong with a value and where: `indices` lead from the value given down to the culprit. */
export interface DataProblem {
  indices: number[];
  /** Reads after the path: `is "abc", not a number`. */
  detail: string;
}

export interface RowMajorFill {
  /** The JSON value: an array, flat or nested to match `shape`. */
  value: unknown;
  /** Every dimension known. */
  shape: readonly number[];
  write: ElementWriter;
  /** Where in the target the first element goes. */
  offset: number;
}

/**
 * Writes a flat or nested JSON array into a flat target in row-major order,
 * as the Open Inference Protocol allows either. An array whose first element
 * is an array is read as nested and must match `shape` at every level.
 * The walk keeps its own stack, so no input nests the call stack.
 */
export function fillRowMajor(fill: RowMajorFill): DataProblem | undefined {
  const { value, shape } = fill;
  if (!Array.isArray(value)) return { indices: [], detail: `is ${describeValue(value)}, not an array` };
  if (shape.length >= 2 && value.length > 0 && Array.isArray(value[0])) return fillNested(fill, value);
  return fillFlat(fill, value);
}

function fillFlat(fill: RowMajorFill, value: readonly unknown[]): DataProblem | undefined {
  const count = elementCount(fill.shape);
  if (value.length !== count) {
    const given = `has ${value.length} value${value.length === 1 ? '' : 's'}`;
    return { indices: [], detail: `${given}, shape ${formatShape(fill.shape)} holds ${count}` };
  }
  for (let index = 0; index < count; index += 1) {
    const element = value[index];
    const problem = fill.write(fill.offset + index, element);
    if (problem !== undefined)
      return { indices: [index], detail: `is ${describeValue(element)}, ${problem}` };
  }
  return undefined;
}

function fillNested(fill: RowMajorFill, value: readonly unknown[]): DataProblem | undefined {
  const { shape } = fill;
  const innermost = shape.length - 1;
  const mismatch = (indices: number[], node: unknown, depth: number): DataProblem => {
    const wanted = `shape ${formatShape(shape)} needs an array of ${shape[depth]} here`;
    return { indices, detail: `is ${describeValue(node)}, ${wanted}` };
  };
  if (value.length !== shape[0]) return mismatch([], value, 0);
  const arrays: (readonly unknown[])[] = [value];
  const indices: number[] = [0];
  let written = fill.offset;
  while (arrays.length > 0) {
    const depth = arrays.length - 1;
    const array = arrays[depth]!;
    const index = indices[depth]!;
    if (index === array.length) {
      arrays.pop();
      indices.pop();
      if (depth > 0) indices[depth - 1]! += 1;
      continue;
    }
    const node = array[index];
    if (!Array.isArray(node) || node.length !== shape[depth + 1])
      return mismatch([...indices], node, depth + 1);
    if (depth + 1 < innermost) {
      arrays.push(node);
      indices.push(0);
      continue;
    }
    for (let leaf = 0; leaf < node.length; leaf += 1) {
      const problem = fill.write(written, node[leaf]);
      if (problem !== undefined) {
        return { indices: [...indices, leaf], detail: `is ${describeValue(node[leaf])}, ${problem}` };
      }
      written += 1;
    }
    indices[depth] = index + 1;
  }
  return undefined;
}
