import type { MetricPoint } from '../../../modules/tracking/index.js';

/**
 * Metric history is stored as chunks: one row per (run, key, write) holding
 * the points of that write packed as little-endian float64 triples
 * (step, timestamp, value). A 100,000-point history is then ~100 rows to read
 * instead of 100,000, and a 1,000-point batch over ten keys is ten rows to
 * write. NaN and ±Infinity are stored as themselves. Order and de-duplication
 * (an exact re-send is one point, as in MLflow) are applied when reading.
 */
const FIELDS = 3;
const BYTES_PER_POINT = FIELDS * 8;

/** Largest number of points packed into one row (~96 KiB). */
export const MAX_POINTS_PER_CHUNK = 4096;

export interface EncodedChunk {
  key: string;
  count: number;
  minStep: number;
  maxStep: number;
  data: Buffer;
}

/** Groups points by key and packs each group, sorted, into chunks. */
export function encodeChunks(points: readonly MetricPoint[]): EncodedChunk[] {
  const byKey = new Map<string, MetricPoint[]>();
  for (const point of points) {
    const list = byKey.get(point.key);
    if (list === undefined) byKey.set(point.key, [point]);
    else list.push(point);
  }
  const chunks: EncodedChunk[] = [];
  for (const [key, list] of byKey) {
    list.sort(comparePoints);
    for (let start = 0; start < list.length; start += MAX_POINTS_PER_CHUNK) {
      const slice = list.slice(start, start + MAX_POINTS_PER_CHUNK);
      const data = Buffer.allocUnsafe(slice.length * BYTES_PER_POINT);
      for (let i = 0; i < slice.length; i++) {
        const p = slice[i] as MetricPoint;
        data.writeDoubleLE(p.step, i * BYTES_PER_POINT);
        data.writeDoubleLE(p.timestamp, i * BYTES_PER_POINT + 8);
        data.writeDoubleLE(p.value, i * BYTES_PER_POINT + 16);
      }
      chunks.push({
        key,
        count: slice.length,
        minStep: (slice[0] as MetricPoint).step,
        maxStep: (slice[slice.length - 1] as MetricPoint).step,
        data,
      });
    }
  }
  return chunks;
}

function comparePoints(a: MetricPoint, b: MetricPoint): number {
  return a.step - b.step || a.timestamp - b.timestamp || compareValues(a.value, b.value);
}

/** NaN sorts after every number, so the order is total. */
function compareValues(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Column arrays of a decoded history, ordered by (step, timestamp, value), duplicates removed. */
export interface DecodedSeries {
  steps: Float64Array;
  timestamps: Float64Array;
  values: Float64Array;
  length: number;
}

export function decodeChunks(blobs: ReadonlyArray<Uint8Array>): DecodedSeries {
  let total = 0;
  for (const blob of blobs) total += Math.floor(blob.byteLength / BYTES_PER_POINT);
  const raw = new Float64Array(total * FIELDS);
  let offset = 0;
  for (const blob of blobs) {
    const count = Math.floor(blob.byteLength / BYTES_PER_POINT);
    // Copy through a DataView: driver buffers are not 8-byte aligned and may be big-endian hosts' views.
    const view = new DataView(blob.buffer, blob.byteOffset, count * BYTES_PER_POINT);
    for (let i = 0; i < count * FIELDS; i++) raw[offset + i] = view.getFloat64(i * 8, true);
    offset += count * FIELDS;
  }
  const order = orderOf(raw, total);
  const steps = new Float64Array(total);
  const timestamps = new Float64Array(total);
  const values = new Float64Array(total);
  let length = 0;
  for (let i = 0; i < total; i++) {
    const at = (order === undefined ? i : (order[i] as number)) * FIELDS;
    const step = raw[at] as number;
    const timestamp = raw[at + 1] as number;
    const value = raw[at + 2] as number;
    if (
      length > 0 &&
      steps[length - 1] === step &&
      timestamps[length - 1] === timestamp &&
      Object.is(values[length - 1], value)
    ) {
      continue;
    }
    steps[length] = step;
    timestamps[length] = timestamp;
    values[length] = value;
    length++;
  }
  return { steps, timestamps, values, length };
}

/** Undefined when the points are already in order (the usual case: steps logged ascending). */
function orderOf(raw: Float64Array, total: number): Uint32Array | undefined {
  let sorted = true;
  for (let i = 1; i < total && sorted; i++) {
    const a = (i - 1) * FIELDS;
    const b = i * FIELDS;
    const cmp =
      (raw[a] as number) - (raw[b] as number) ||
      (raw[a + 1] as number) - (raw[b + 1] as number) ||
      compareValues(raw[a + 2] as number, raw[b + 2] as number);
    if (cmp > 0) sorted = false;
  }
  if (sorted) return undefined;
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((x, y) => {
    const a = x * FIELDS;
    const b = y * FIELDS;
    return (
      (raw[a] as number) - (raw[b] as number) ||
      (raw[a + 1] as number) - (raw[b + 1] as number) ||
      compareValues(raw[a + 2] as number, raw[b + 2] as number) ||
      x - y
    );
  });
  return order;
}

export function seriesToPoints(
  key: string,
  series: DecodedSeries,
  page: { offset: number; limit: number | undefined },
): MetricPoint[] {
  const end = page.limit === undefined ? series.length : Math.min(series.length, page.offset + page.limit);
  const points: MetricPoint[] = [];
  for (let i = page.offset; i < end; i++) {
    points.push({
      key,
      value: series.values[i] as number,
      timestamp: series.timestamps[i] as number,
      step: series.steps[i] as number,
    });
  }
  return points;
}
