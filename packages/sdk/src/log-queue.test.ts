import { describe, expect, it } from 'vitest';
import { nextBatchSize, toBatchRequest, type QueuedItem } from './log-queue.js';

const metric = (i: number): QueuedItem => ({
  kind: 'metric',
  metric: { key: 'm', value: i, timestamp: 1, step: i },
});
const param = (i: number): QueuedItem => ({ kind: 'param', param: { key: `p${i}`, value: 'v' } });
const tag = (i: number): QueuedItem => ({ kind: 'tag', tag: { key: `t${i}`, value: 'v' } });

describe('log batches', () => {
  it('takes everything that fits in one request', () => {
    const queue = [metric(0), param(0), tag(0)];
    expect(nextBatchSize(queue)).toBe(3);
    expect(toBatchRequest(queue)).toEqual({
      metrics: [{ key: 'm', value: 0, timestamp: 1, step: 0 }],
      params: [{ key: 'p0', value: 'v' }],
      tags: [{ key: 't0', value: 'v' }],
    });
    expect(toBatchRequest([metric(1)])).toEqual({ metrics: [{ key: 'm', value: 1, timestamp: 1, step: 1 }] });
  });

  it('stops at 1000 metrics, 100 params, 100 tags and 1000 items in total', () => {
    expect(nextBatchSize(Array.from({ length: 2500 }, (_, i) => metric(i)))).toBe(1000);
    expect(nextBatchSize(Array.from({ length: 150 }, (_, i) => param(i)))).toBe(100);
    expect(nextBatchSize(Array.from({ length: 150 }, (_, i) => tag(i)))).toBe(100);
    const mixed = [
      ...Array.from({ length: 950 }, (_, i) => metric(i)),
      ...Array.from({ length: 90 }, (_, i) => param(i)),
    ];
    expect(nextBatchSize(mixed)).toBe(1000);
  });

  it('keeps order: the batch ends at the first item over its limit', () => {
    const queue = [...Array.from({ length: 100 }, (_, i) => param(i)), param(100), metric(0)];
    expect(nextBatchSize(queue)).toBe(100);
    expect(nextBatchSize(queue, { metrics: 1, params: 5, tags: 5, total: 3 })).toBe(3);
    expect(nextBatchSize([])).toBe(0);
  });
});
