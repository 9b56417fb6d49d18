import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, isCairnError, parseDuration, parseMemory } from './index.js';

function problemOf(parse: () => number): string {
  try {
    return `no problem: ${parse()}`;
  } catch (error) {
    return isCairnError(error) ? `${error.field}: ${error.message}` : String(error);
  }
}

describe('parseDuration', () => {
  it.each<[unknown, number]>([
    [30, 30_000],
    [0.5, 500],
    [0, 0],
    ['45', 45_000],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    [' 1h 30m 15s ', 5_415_000],
    ['1.5s', 1500],
    ['1m1ms', 60_001],
  ])('reads %j as %i ms', (value, ms) => {
    expect(parseDuration(value, 'timeout')).toBe(ms);
  });

  it.each<unknown>([
    '',
    '5',
    '5 minutes',
    '1h-30m',
    '-5s',
    '5S',
    'ms',
    '1y',
    -1,
    Number.NaN,
    Infinity,
    null,
    true,
    ['1s'],
  ])('refuses %j', (value) => {
    const problem = problemOf(() => parseDuration(value, 'timeout'));
    if (value === '5') return expect(problem).toBe('no problem: 5000');
    expect(problem).toMatch(
      /^timeout: .* is not a duration: write 500ms, 30s, 5m, 2h, 1d, 1h30m or a number of seconds$/,
    );
  });

  it('refuses durations past any safe number', () => {
    expect(problemOf(() => parseDuration('9'.repeat(400) + 'd', 'retry.backoff'))).toMatch(
      /^retry.backoff: .* is too long a duration$/,
    );
  });

  it('round-trips through formatDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms), 'timeout')).toBe(ms);
      }),
    );
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('parseMemory', () => {
  it.each<[unknown, number]>([
    [512, 512],
    [0.5, 1],
    ['2048', 2048],
    ['512Mi', 512],
    ['512MiB', 512],
    ['2048MB', 2048],
    ['4G', 4096],
    ['4Gi', 4096],
    ['4GiB', 4096],
    ['4gb', 4096],
    ['1.5G', 1536],
    ['1T', 1_048_576],
    ['1536K', 2],
    ['100k', 1],
  ])('reads %j as %i MB', (value, mb) => {
    expect(parseMemory(value, 'resources.memory')).toBe(mb);
  });

  it.each<unknown>(['', 'lots', '4 bananas', '4GB!', '-1G', '4Gx', -1, Number.NaN, null, {}])(
    'refuses %j',
    (value) => {
      expect(problemOf(() => parseMemory(value, 'resources.memory'))).toMatch(
        /^resources.memory: .* is not a memory size: write 512Mi, 4GiB, 4G, 2048MB or a number of MB$/,
      );
    },
  );

  it('refuses zero', () => {
    expect(problemOf(() => parseMemory('0Gi', 'resources.memory'))).toBe(
      'resources.memory: memory must be more than 0',
    );
  });
});
