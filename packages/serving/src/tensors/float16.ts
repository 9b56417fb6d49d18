/**
 * IEEE-754 half precision, as onnxruntime's `float16` tensors hold it: a
 * Uint16Array of bit patterns. Node 20 has no Float16Array, so the
 * conversions are written out here.
 */

/** The largest finite half. */
export const FP16_MAX = 65504;

/**
 * Halfway between 65504 and the next step (65536, which does not exist):
 * anything this large or larger rounds to infinity.
 */
const FP16_OVERFLOW = 65520;

const MIN_NORMAL = 2 ** -14;
const SUBNORMAL_STEP = 2 ** 24;

function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Whether `value` rounds to a finite half (NaN and the infinities do not). */
export function fitsFloat16(value: number): boolean {
  return Math.abs(value) < FP16_OVERFLOW;
}

/**
 * The half nearest to `value` (ties to even), rounded straight from the
 * double: going through float32 first would round twice and can be one step
 * off. Values beyond the half range become ±Infinity, NaN the quiet NaN.
 */
export function floatToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= FP16_OVERFLOW) return sign | 0x7c00;
  if (magnitude < MIN_NORMAL) {
    // Scaling by a power of two is exact; a carry to 1024 is the smallest normal, which is what we want.
    return sign | roundHalfToEven(magnitude * SUBNORMAL_STEP);
  }
  // Math.log2 may be off by one near powers of two; the loops settle it exactly.
  let exponent = Math.floor(Math.log2(magnitude));
  while (2 ** exponent > magnitude) exponent -= 1;
  while (2 ** (exponent + 1) <= magnitude) exponent += 1;
  const mantissa = roundHalfToEven((magnitude / 2 ** exponent - 1) * 1024);
  // A mantissa rounded up to 1024 carries into the exponent, as the addition does.
  return sign | (((exponent + 15) << 10) + mantissa);
}

export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * (fraction / SUBNORMAL_STEP);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
