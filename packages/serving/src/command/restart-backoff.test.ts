import { describe, expect, it } from 'vitest';
import { RestartBackoff } from './restart-backoff.js';

describe('RestartBackoff', () => {
  it('doubles the wait up to the maximum', () => {
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1_000, resetAfterMs: 60_000 });
    const waits = Array.from({ length: 6 }, () => backoff.next(undefined));
    expect(waits).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('starts again from the first wait after a process stayed ready long enough', () => {
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 30_000, resetAfterMs: 60_000 });
    backoff.next(undefined);
    backoff.next(5_000);
    expect(backoff.next(59_999)).toBe(400);
    expect(backoff.next(60_000)).toBe(100);
    expect(backoff.next(undefined)).toBe(200);
  });
});
