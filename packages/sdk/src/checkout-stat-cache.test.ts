import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cacheFileFor,
  defaultCacheDir,
  FINE_RACY_WINDOW_MS,
  isCleanByStat,
  RACY_WINDOW_MS,
  StatCache,
  type StatEntry,
} from './checkout-stat-cache.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('isCleanByStat', () => {
  const entry: StatEntry = {
    size: 10,
    mtimeMs: 1_000,
    ino: 7,
    digest: D1,
    checkedAtMs: 1_000 + RACY_WINDOW_MS,
  };
  const stat = { size: 10, mtimeMs: 1_000, ino: 7 };

  it('trusts an entry whose size, mtime, inode and digest all match', () => {
    expect(isCleanByStat(entry, stat, D1)).toBe(true);
  });

  it('does not trust a different size, mtime, inode or wanted digest', () => {
    expect(isCleanByStat(entry, { ...stat, size: 11 }, D1)).toBe(false);
    expect(isCleanByStat(entry, { ...stat, mtimeMs: 1_001 }, D1)).toBe(false);
    expect(isCleanByStat(entry, { ...stat, ino: 8 }, D1)).toBe(false);
    expect(isCleanByStat(entry, stat, D2)).toBe(false);
    expect(isCleanByStat(undefined, stat, D1)).toBe(false);
  });

  it('does not trust an entry recorded within the racy window of its mtime', () => {
    expect(isCleanByStat({ ...entry, checkedAtMs: 1_000 + RACY_WINDOW_MS - 1 }, stat, D1)).toBe(false);
    expect(isCleanByStat({ ...entry, checkedAtMs: 1_000 }, stat, D1)).toBe(false);
  });

  it('needs only a short window on filesystems with sub-second mtimes', () => {
    const fine = { ...stat, mtimeMs: 1_000.25 };
    const recorded = { ...entry, mtimeMs: 1_000.25, checkedAtMs: 1_000.25 + FINE_RACY_WINDOW_MS };
    expect(isCleanByStat(recorded, fine, D1)).toBe(true);
    expect(isCleanByStat({ ...recorded, checkedAtMs: 1_000.25 + FINE_RACY_WINDOW_MS - 1 }, fine, D1)).toBe(
      false,
    );
  });
});

describe('StatCache', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-stat-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names one file per folder under the XDG cache folder', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe(path.join('/x/cache', 'cairn', 'checkouts'));
    expect(defaultCacheDir({ XDG_CACHE_HOME: '' })).toBe(
      path.join(os.homedir(), '.cache', 'cairn', 'checkouts'),
    );
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' })).toBe(
      path.join(os.homedir(), '.cache', 'cairn', 'checkouts'),
    );
    const a = cacheFileFor('/data/a', dir);
    expect(a).toMatch(/[0-9a-f]{64}\.json$/);
    expect(cacheFileFor('/data/a', dir)).toBe(a);
    expect(cacheFileFor('/data/b', dir)).not.toBe(a);
  });

  it('saves and loads entries, and forgets paths no longer in the version', async () => {
    const file = path.join(dir, 'nested', 'one.json');
    const cache = await StatCache.load(file);
    cache.record('a.csv', { size: 1, mtimeMs: 5, ino: 9 }, { digest: D1, checkedAtMs: 5 + RACY_WINDOW_MS });
    cache.record('b.csv', { size: 2, mtimeMs: 6, ino: 10 }, { digest: D2, checkedAtMs: 99_999 });
    cache.retain(new Set(['a.csv']));
    await cache.save();
    const again = await StatCache.load(file);
    expect(again.get('a.csv')).toEqual({
      size: 1,
      mtimeMs: 5,
      ino: 9,
      digest: D1,
      checkedAtMs: 5 + RACY_WINDOW_MS,
    });
    expect(again.get('b.csv')).toBeUndefined();
    expect(again.isClean('a.csv', { size: 1, mtimeMs: 5, ino: 9 }, D1)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 1 });
  });

  it('starts empty from a missing or damaged cache file, and skips malformed entries', async () => {
    expect((await StatCache.load(path.join(dir, 'none.json'))).get('a')).toBeUndefined();
    const damaged = path.join(dir, 'damaged.json');
    writeFileSync(damaged, '{"format":1,"files":{"a":');
    expect((await StatCache.load(damaged)).get('a')).toBeUndefined();
    const mixed = path.join(dir, 'mixed.json');
    writeFileSync(
      mixed,
      JSON.stringify({
        format: 1,
        files: { good: { size: 1, mtimeMs: 1, ino: 1, digest: D1, checkedAtMs: 1 }, bad: { size: 'x' } },
      }),
    );
    const loaded = await StatCache.load(mixed);
    expect(loaded.get('good')).toBeDefined();
    expect(loaded.get('bad')).toBeUndefined();
  });
});
