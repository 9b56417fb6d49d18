import { describe, expect, it } from 'vitest';
import { MetricWriteQueue, type MetricWrite } from './metric-write-queue.js';

const point = (step: number) => ({ key: 'm', value: step, timestamp: 0, step });

describe('MetricWriteQueue', () => {
  it('writes a lone call at once and groups the calls that arrive meanwhile', async () => {
    const commits: MetricWrite[][] = [];
    let release: () => void = () => undefined;
    const queue = new MetricWriteQueue(async (writes) => {
      commits.push(writes);
      if (commits.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = queue.write('a', [point(1)]);
    const later = [queue.write('b', [point(2)]), queue.write('c', [point(3)])];
    expect(commits).toHaveLength(1);
    release();
    await Promise.all([first, ...later]);
    expect(commits.map((c) => c.map((w) => w.runId))).toEqual([['a'], ['b', 'c']]);
  });

  it('fails exactly the callers whose commit failed, and keeps going', async () => {
    let calls = 0;
    const queue = new MetricWriteQueue(async () => {
      calls++;
      if (calls === 1) throw new Error('database down');
    });
    const failed = queue.write('a', [point(1)]);
    await expect(failed).rejects.toThrow('database down');
    await expect(queue.write('b', [point(2)])).resolves.toBeUndefined();
  });

  it('caps the points of one commit', async () => {
    const sizes: number[] = [];
    let release: () => void = () => undefined;
    const queue = new MetricWriteQueue(async (writes) => {
      sizes.push(writes.reduce((n, w) => n + w.metrics.length, 0));
      if (sizes.length === 1) await new Promise<void>((resolve) => (release = resolve));
    }, 3);
    const all = [queue.write('a', [point(0)])];
    for (let i = 0; i < 4; i++) all.push(queue.write('b', [point(i), point(i + 10)]));
    release();
    await Promise.all(all);
    expect(sizes).toEqual([1, 2, 2, 2, 2]);
  });
});
