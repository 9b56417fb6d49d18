import { Readable } from 'node:stream';
import { encodeMetricValue } from '@cairn/contract';
import type { MetricPoint } from './entities.js';

/** Above this many points a history is streamed in slices instead of built whole. */
const STREAM_ABOVE_POINTS = 20_000;
const SLICE_POINTS = 5_000;

function sliceJson(points: MetricPoint[]): string {
  // Points already carry the wire's field names in order; the native serializer
  // is the fastest writer. Only non-finite values need their JSON strings.
  const finite = points.every((p) => Number.isFinite(p.value));
  const items = finite
    ? points
    : points.map((m) => ({
        key: m.key,
        value: encodeMetricValue(m.value),
        timestamp: m.timestamp,
        step: m.step,
      }));
  return JSON.stringify(items).slice(1, -1);
}

/**
 * A metric history response, `{"metrics":[…], "<tokenField>": …}`. Long
 * histories are streamed slice by slice, so the client receives the first
 * bytes while the rest is still being written and memory holds one slice of
 * text at a time rather than the whole (8 MB for 100,000 points) body.
 */
export function metricHistoryBody(
  points: MetricPoint[],
  page: { tokenField: 'next_page_token' | 'nextPageToken'; nextPageToken: string | undefined },
): string | Readable {
  const suffix =
    page.nextPageToken === undefined
      ? ']}'
      : `],${JSON.stringify(page.tokenField)}:${JSON.stringify(page.nextPageToken)}}`;
  if (points.length <= STREAM_ABOVE_POINTS) return `{"metrics":[${sliceJson(points)}${suffix}`;
  function* chunks(): Generator<string> {
    yield '{"metrics":[';
    for (let start = 0; start < points.length; start += SLICE_POINTS) {
      const text = sliceJson(points.slice(start, start + SLICE_POINTS));
      yield start === 0 ? text : `,${text}`;
    }
    yield suffix;
  }
  return Readable.from(chunks(), { objectMode: false });
}
