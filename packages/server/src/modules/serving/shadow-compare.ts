import { halfToFloat, type Tensor } from '@cairn/serving';

export interface Comparison {
  /** Both answered the same: the same class (arg-max) for score outputs, equal values otherwise. */
  agreed: boolean;
  /** Mean absolute difference over every numeric element both answers hold. */
  meanAbsDiff: number | null;
}

/** Values this close count as equal: float noise between two runtimes, not a different answer. */
const TOLERANCE = 1e-6;

/**
 * Compares a shadow's answer with the live one, output by output (by name).
 * For a float output whose last dimension holds several values (class
 * scores), agreement means the same arg-max per row, which is what a user of
 * the prediction sees; any other output must match within float tolerance.
 */
export function compareOutputs(live: readonly Tensor[], shadow: readonly Tensor[]): Comparison {
  let agreed = true;
  let diffSum = 0;
  let diffCount = 0;
  const byName = new Map(shadow.map((t) => [t.name, t]));
  for (const a of live) {
    const b = byName.get(a.name);
    if (b === undefined || !sameShape(a.shape, b.shape)) {
      agreed = false;
      continue;
    }
    if (a.datatype === 'BYTES' || b.datatype === 'BYTES') {
      agreed &&= (a.data as string[]).every((v, i) => v === (b.data as string[])[i]);
      continue;
    }
    const x = numbers(a);
    const y = numbers(b);
    for (let i = 0; i < x.length; i++) {
      diffSum += Math.abs(x[i]! - y[i]!);
      diffCount++;
    }
    const width = a.shape.length >= 2 ? a.shape[a.shape.length - 1]! : 1;
    agreed &&= isScores(a, width) ? sameArgMax(x, y, width) : withinTolerance(x, y);
  }
  return { agreed, meanAbsDiff: diffCount === 0 ? null : diffSum / diffCount };
}

function isScores(tensor: Tensor, width: number): boolean {
  return (
    width > 1 && (tensor.datatype === 'FP32' || tensor.datatype === 'FP64' || tensor.datatype === 'FP16')
  );
}

function sameArgMax(x: ArrayLike<number>, y: ArrayLike<number>, width: number): boolean {
  for (let row = 0; row < x.length; row += width) {
    if (argMax(x, row, width) !== argMax(y, row, width)) return false;
  }
  return true;
}

function argMax(values: ArrayLike<number>, start: number, width: number): number {
  let best = 0;
  for (let i = 1; i < width; i++) if (values[start + i]! > values[start + best]!) best = i;
  return best;
}

function withinTolerance(x: ArrayLike<number>, y: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = y[i]!;
    if (Math.abs(a - b) > TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b))) return false;
  }
  return true;
}

function numbers(tensor: Tensor): ArrayLike<number> {
  const data = tensor.data as ArrayLike<number | bigint>;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  if (tensor.datatype === 'FP16') return Array.from(data as Uint16Array, (bits) => halfToFloat(bits));
  return data as ArrayLike<number>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
