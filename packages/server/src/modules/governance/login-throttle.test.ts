import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle.js';

const MINUTE = 60_000;

function throttleAt(start = 1_000_000, options: { maxEntries?: number } = {}) {
  const clock = { time: start, now: () => clock.time };
  return { clock, throttle: new LoginThrottle({ clock, ...options }) };
}

describe('LoginThrottle', () => {
  it('lets four failures through and blocks the address for a minute at the fifth', () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 4; i++) {
      expect(throttle.recordFailure('10.0.0.1')).toBe(0);
      expect(throttle.retryAfterMs('10.0.0.1')).toBe(0);
    }
    expect(throttle.recordFailure('10.0.0.1')).toBe(MINUTE);
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(MINUTE);
    expect(throttle.retryAfterMs('10.0.0.2')).toBe(0);
  });

  it('doubles each further block up to 15 minutes', () => {
    const { clock, throttle } = throttleAt();
    for (let i = 0; i < 4; i++) throttle.recordFailure('a');
    const blocks: number[] = [];
    for (let i = 0; i < 7; i++) {
      const blocked = throttle.recordFailure('a');
      blocks.push(blocked);
      clock.time += blocked;
      expect(throttle.retryAfterMs('a')).toBe(0);
    }
    expect(blocks.map((ms) => ms / MINUTE)).toEqual([1, 2, 4, 8, 15, 15, 15]);
  });

  it('forgets failures older than ten minutes, and the block length with them', () => {
    const { clock, throttle } = throttleAt();
    for (let i = 0; i < 4; i++) throttle.recordFailure('a');
    clock.time += 10 * MINUTE + 1;
    for (let i = 0; i < 4; i++) expect(throttle.recordFailure('a')).toBe(0);
    expect(throttle.recordFailure('a')).toBe(MINUTE);
    clock.time += 30 * MINUTE;
    for (let i = 0; i < 4; i++) expect(throttle.recordFailure('a')).toBe(0);
    expect(throttle.recordFailure('a')).toBe(MINUTE);
  });

  it('forgets an address on success', () => {
    const { throttle } = throttleAt();
    for (let i = 0; i < 4; i++) throttle.recordFailure('a');
    throttle.recordSuccess('a');
    for (let i = 0; i < 4; i++) expect(throttle.recordFailure('a')).toBe(0);
    expect(throttle.size).toBe(1);
  });

  it('keeps its memory bounded, dropping expired entries first and then the least recent', () => {
    const { clock, throttle } = throttleAt(1_000_000, { maxEntries: 100 });
    for (let i = 0; i < 5; i++) throttle.recordFailure('blocked');
    for (let i = 0; i < 10_000; i++) throttle.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(throttle.size).toBe(100);
    // The flood pushed the blocked address out: bounded memory wins over remembering everyone.
    expect(throttle.retryAfterMs('10.0.39.15')).toBe(0);
    clock.time += 11 * MINUTE;
    throttle.recordFailure('late');
    expect(throttle.size).toBe(1);
  });
});
