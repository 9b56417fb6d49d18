import { describe, expect, it } from 'vitest';
import { newTimeOrderedId } from './ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newTimeOrderedId', () => {
  it('is a UUID version 7 carrying its millisecond', () => {
    const now = Date.UTC(2026, 10, 27, 12, 0, 0, 123);
    const id = newTimeOrderedId(now);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(now);
  });

  it('sorts later ids after earlier ones and never repeats over many pool refills', () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => newTimeOrderedId(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const sameMs = Array.from({ length: 5_000 }, () => newTimeOrderedId(1_700_000_000_000));
    expect(new Set(sameMs).size).toBe(sameMs.length);
    for (const id of sameMs) expect(id).toMatch(UUID_V7);
  });
});
