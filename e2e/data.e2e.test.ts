import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWithout, runCairn, startCairnServer, type CairnResult, type CairnServer } from './helpers.js';

// `cairn data` as a user runs it: the built CLI against two `cairn server`s on
// 127.0.0.1 with temporary SQLite data folders. Needs `npm run build`.

const ROWS = 20_000;
const LABELS = 'id,label\n1,yes\n2,no\n3,yes\n';
const README = '# churn data\n';

/** A CSV of ~300 kB: big enough to be many chunks, so one changed row re-sends little. */
function trainCsv(change?: { row: number; value: string }): string {
  const lines = ['id,amount,segment'];
  for (let i = 1; i <= ROWS; i++) {
    const segment = i === change?.row ? change.value : `s${i % 7}`;
    lines.push(`${i},${((i * 7919) % 10_007) / 10},${segment}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('cairn data against running servers', () => {
  let a: CairnServer;
  let b: CairnServer;
  let dataDirA: string;
  const temp: string[] = [];
  let work: string;
  let env: NodeJS.ProcessEnv;

  const tmp = (prefix: string): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    temp.push(dir);
    return dir;
  };
  const on = (server: CairnServer, ...args: string[]): Promise<CairnResult> =>
    runCairn([...args, '--url', server.url], { cwd: work, env, timeoutMs: 60_000 });
  const ok = async (server: CairnServer, ...args: string[]): Promise<string> => {
    const result = await on(server, ...args);
    expect(result.code, `cairn ${args.join(' ')}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const json = async (server: CairnServer, ...args: string[]): Promise<any> =>
    JSON.parse(await ok(server, ...args, '--json'));
  const read = (dir: string, file: string): string => readFileSync(path.join(dir, file), 'utf8');

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startCairnServer({ args: ['--host', '127.0.0.1'], dataDir: (dataDirA = tmp('cairn-e2e-data-a-')) }),
      startCairnServer({ args: ['--host', '127.0.0.1'], dataDir: tmp('cairn-e2e-data-b-') }),
    ]);
    work = tmp('cairn-e2e-data-work-');
    // The stat cache of checkouts goes here, not into the user's ~/.cache.
    env = envWithout(['CAIRN_URL', 'CAIRN_TOKEN', 'CAIRN_REMOTE_TOKEN'], {
      XDG_CACHE_HOME: tmp('cairn-e2e-cache-'),
    });
    mkdirSync(path.join(work, 'data', 'docs'), { recursive: true });
    writeFileSync(path.join(work, 'data', 'train.csv'), trainCsv());
    writeFileSync(path.join(work, 'data', 'labels.csv'), LABELS);
    writeFileSync(path.join(work, 'data', 'docs', 'README.md'), README);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });

  it('adds a folder as version 1 and prints exactly the documented JSON', async () => {
    const added = await json(a, 'data', 'add', 'churn', 'data', '-m', 'first cut');
    expect(Object.keys(added).sort()).toEqual(['bytesNew', 'bytesTotal', 'dataset', 'files', 'version']);
    expect(added).toMatchObject({ dataset: 'churn', version: 1, files: 3 });
    expect(added.bytesTotal).toBe(trainCsv().length + LABELS.length + README.length);
    expect(added.bytesNew).toBeGreaterThan(0);
  }, 120_000);

  it('adds a version with one row changed: little new data, and the log shows both', async () => {
    writeFileSync(path.join(work, 'data', 'train.csv'), trainCsv({ row: 10_000, value: 'VIP' }));
    const added = await json(a, 'data', 'add', 'churn', 'data', '-m', 'fix segment of 10000');
    expect(added).toMatchObject({ dataset: 'churn', version: 2, files: 3 });
    expect(added.bytesNew).toBeGreaterThan(0);
    expect(added.bytesNew).toBeLessThan(added.bytesTotal / 10);

    const log = await ok(a, 'data', 'log', 'churn');
    expect(log).toMatch(/VERSION\s+WHEN\s+AUTHOR\s+FILES\s+SIZE\s+NEW\s+MESSAGE\s+ALIASES/);
    expect(log).toMatch(/\n\s+2\s+\d{4}-\d\d-\d\d \S+\s+\S+\s+3\s+.*fix segment of 10000/);
    expect(log).toMatch(/\n\s+1\s+\d{4}-\d\d-\d\d \S+\s+\S+\s+3\s+.*first cut/);
    expect(log.indexOf('fix segment')).toBeLessThan(log.indexOf('first cut'));
    const versions = (await json(a, 'data', 'log', 'churn')).versions;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions[0].parent).toBe(1);

    const human = await ok(
      a,
      'data',
      'add',
      'churn',
      'data/labels.csv',
      '-m',
      'labels only',
      '--alias',
      'small',
    );
    // A single file is named by its base name.
    expect(human).toMatch(/^Added churn@3 \[small\]: 1 file, 26 B \(\d+ B new\)$/m);
    expect(await ok(a, 'data', 'ls')).toMatch(/churn\s+default\s+3\s+small → 3/);
  }, 120_000);

  it('shows a version with its files and table profiles', async () => {
    let shown: any;
    for (let i = 0; i < 100; i++) {
      shown = await json(a, 'data', 'show', 'churn@2');
      if (shown.tables.every((t: { status: string }) => t.status !== 'pending')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(shown.version).toMatchObject({ dataset: 'churn', version: 2, files: 3 });
    expect(shown.files.map((f: { path: string }) => f.path)).toEqual([
      'data/docs/README.md',
      'data/labels.csv',
      'data/train.csv',
    ]);
    const train = shown.tables.find((t: { path: string }) => t.path === 'data/train.csv');
    expect(train).toMatchObject({ status: 'done', format: 'csv' });
    expect(train.profile.rows).toBe(ROWS);

    const human = await ok(a, 'data', 'show', 'churn@2');
    expect(human).toMatch(/Dataset:\s+churn/);
    expect(human).toMatch(/Version:\s+2/);
    expect(human).toMatch(/Digest:\s+sha256:[0-9a-f]{64}/);
    expect(human).toMatch(/data\/train\.csv\s+\d+ kB\s+0644\s+sha256:/);
    expect(human).toMatch(/Table data\/train\.csv \(csv\): 20,000 rows, 3 columns/);
    expect(human).toMatch(/COLUMN\s+TYPE\s+NULLS\s+DISTINCT\s+MIN\s+MAX\s+MEAN/);
    expect(human).toMatch(/amount\s+DOUBLE\s+0\s+~/);
    const firstFile = await ok(a, 'data', 'show', 'churn@2', '--files', '1');
    expect(firstFile).toMatch(/… 2 more \(--all lists every file\)/);
    expect(JSON.parse(await ok(a, 'data', 'show', 'churn', '--json')).version.version).toBe(3);
  }, 120_000);

  it('diffs two versions: file changes and per-table row changes', async () => {
    const diff = await json(a, 'data', 'diff', 'churn@1', 'churn@2', '--key', 'id');
    expect(diff.files).toEqual({ added: [], removed: [], modified: ['data/train.csv'] });
    expect(diff.tables).toHaveLength(1);
    expect(diff.tables[0]).toMatchObject({
      path: 'data/train.csv',
      rowsAdded: 0,
      rowsRemoved: 0,
      rowsChanged: 1,
      schemaChanges: [],
    });
    const byContent = await json(a, 'data', 'diff', 'churn@1', 'churn@3');
    expect(byContent.files).toEqual({
      added: ['labels.csv'],
      removed: ['data/docs/README.md', 'data/labels.csv', 'data/train.csv'],
      modified: [],
    });
    const human = await ok(a, 'data', 'diff', 'churn@1', 'churn@2');
    expect(human).toContain('churn@1 → churn@2');
    expect(human).toContain('Files: 0 added, 0 removed, 1 modified');
    expect(human).toContain('  ~ data/train.csv');
    expect(human).toMatch(/Table data\/train\.csv: 20,000 → 20,000 rows; \+1 added, -1 removed, ~0 changed/);
  }, 120_000);

  it('checks out into a fresh folder, then writes nothing, then rewrites a file changed locally', async () => {
    const out = tmp('cairn-e2e-checkout-');
    const first = await json(a, 'data', 'checkout', 'churn@2', '-o', out);
    expect(first).toMatchObject({ dataset: 'churn', version: 2, skipped: 0, extra: [] });
    expect(first.written.sort()).toEqual(['data/docs/README.md', 'data/labels.csv', 'data/train.csv']);
    expect(read(out, 'data/train.csv')).toBe(trainCsv({ row: 10_000, value: 'VIP' }));
    expect(read(out, 'data/docs/README.md')).toBe(README);

    const again = await json(a, 'data', 'checkout', 'churn@2', '-o', out);
    expect(again).toMatchObject({ written: [], skipped: 3, bytesWritten: 0 });

    writeFileSync(path.join(out, 'data', 'labels.csv'), 'id,label\n1,no\n2,no\n3,yes\n');
    writeFileSync(path.join(out, 'mine.txt'), 'not in the version');
    const repaired = await ok(a, 'data', 'checkout', 'churn@2', '-o', out);
    expect(repaired).toMatch(/Checked out churn@2 into .*: 1 file written \(26 B\), 2 already up to date/);
    expect(repaired).toMatch(/1 file there not in the version \(left alone\):\n\s+mine\.txt/);
    expect(read(out, 'data/labels.csv')).toBe(LABELS);
    expect(read(out, 'mine.txt')).toBe('not in the version');

    const older = await json(a, 'data', 'checkout', 'churn@1', '-o', out);
    expect(older.written).toEqual(['data/train.csv']);
    expect(read(out, 'data/train.csv')).toBe(trainCsv());
  }, 120_000);

  it('pushes to a second server and pulls new versions back', async () => {
    const pushed = await json(a, 'data', 'push', 'churn@2', '--remote', b.url);
    expect(pushed).toMatchObject({ dataset: 'churn', upToDate: 0 });
    expect(pushed.versions.map((v: { from: number }) => v.from)).toEqual([1, 2]);
    expect(pushed.chunksSent).toBeGreaterThan(0);
    const rest = await ok(a, 'data', 'push', 'churn', '--remote', b.url);
    expect(rest).toMatch(/Pushed churn to .*: 1 version \(3\), .* sent; 2 already there/);
    expect(await ok(a, 'data', 'push', 'churn', '--remote', b.url)).toContain('churn: already up to date');

    const there = (await json(b, 'data', 'log', 'churn')).versions;
    const here = (await json(a, 'data', 'log', 'churn')).versions;
    expect(there.map((v: { digest: string }) => v.digest)).toEqual(
      here.map((v: { digest: string }) => v.digest),
    );
    const out = tmp('cairn-e2e-checkout-b-');
    await ok(b, 'data', 'checkout', 'churn@2', '-o', out);
    expect(read(out, 'data/train.csv')).toBe(trainCsv({ row: 10_000, value: 'VIP' }));

    // A version made on the second server comes back with a pull.
    writeFileSync(path.join(work, 'data', 'train.csv'), trainCsv({ row: 5, value: 'gold' }));
    expect((await json(b, 'data', 'add', 'churn', 'data', '-m', 'made on b')).version).toBe(4);
    const pulled = await json(a, 'data', 'pull', 'churn', '--remote', b.url);
    expect(pulled.versions).toHaveLength(1);
    expect(pulled.versions[0]).toMatchObject({ from: 4, to: 4 });
    const back = tmp('cairn-e2e-checkout-back-');
    await ok(a, 'data', 'checkout', 'churn', '-o', back);
    expect(read(back, 'data/train.csv')).toBe(trainCsv({ row: 5, value: 'gold' }));
    expect(await ok(a, 'data', 'pull', 'churn', '--remote', b.url)).toContain('already up to date');
  }, 120_000);

  it('points and removes aliases', async () => {
    expect(await ok(a, 'data', 'alias', 'churn', 'champion', '1')).toContain('churn@champion → 1');
    expect((await json(a, 'data', 'show', 'churn@champion')).version.version).toBe(1);
    expect(await json(a, 'data', 'alias', 'churn', 'newest', 'latest')).toEqual({
      dataset: 'churn',
      alias: 'newest',
      version: 4,
    });
    expect(await ok(a, 'data', 'alias', 'churn', 'champion', '--delete')).toContain('Removed churn@champion');
    expect((await on(a, 'data', 'show', 'churn@champion')).code).toBe(6);
  }, 120_000);

  it('collects garbage and says what it freed', async () => {
    const result = await json(a, 'data', 'gc', '--grace-seconds', '0');
    for (const key of ['objectsDeleted', 'chunksDeleted', 'packsDeleted', 'packsRewritten', 'bytesFreed']) {
      expect(result[key]).toBeGreaterThanOrEqual(0);
    }
    expect(await ok(a, 'data', 'gc')).toMatch(/^Freed \S+ \S+: /);
    // Everything still checks out after a collection.
    const out = tmp('cairn-e2e-after-gc-');
    await ok(a, 'data', 'checkout', 'churn@1', '-o', out);
    expect(read(out, 'data/train.csv')).toBe(trainCsv());
  }, 120_000);

  it('refuses bad references and paths with clear errors and exit codes', async () => {
    const noVersion = await on(a, 'data', 'show', 'churn@');
    expect(noVersion.code).toBe(2);
    expect(noVersion.stderr).toContain('give a version after "@"');
    expect((await on(a, 'data', 'show', 'churn@0')).stderr).toContain('version numbers start at 1');
    const missing = await on(a, 'data', 'show', 'nope@1');
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain('Not found (NOT_FOUND)');
    const badPath = await on(a, 'data', 'add', 'fresh', 'no/such/file.csv', '-m', 'x');
    expect(badPath.code).toBe(3);
    expect(badPath.stderr).toContain('no/such/file.csv does not exist');
    // Nothing was created for the refused add.
    expect((await json(a, 'data', 'ls')).datasets.map((d: { name: string }) => d.name)).toEqual(['churn']);
    const otherDataset = await on(a, 'data', 'diff', 'churn@1', 'other@1');
    expect(otherDataset.code).toBe(2);
    expect(await on(a, 'data', 'add', 'churn', 'data')).toMatchObject({ code: 2 });
  }, 120_000);

  it('names a corrupt chunk and its file at checkout, and leaves no partial file', async () => {
    // Not a table: nothing reads (and caches) its chunks before the damage.
    const file = path.join(tmp('cairn-e2e-fragile-'), 'fragile.bin');
    writeFileSync(file, trainCsv({ row: 1, value: 'fragile' }).repeat(3));
    await json(a, 'data', 'add', 'fragile', file, '-m', 'to be damaged');
    // The newest pack holds this file's chunks: flip bytes all through it.
    const packs = listFiles(path.join(dataDirA, 'blobs')).filter((f) => /[0-9a-f]{64}$/.test(f));
    const newest = packs.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0]!;
    const bytes = readFileSync(newest);
    for (let i = 64; i < bytes.length; i += 512) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(newest, bytes);
    const out = tmp('cairn-e2e-fragile-out-');
    const checkout = await on(a, 'data', 'checkout', 'fragile@1', '-o', out);
    expect(checkout.code).not.toBe(0);
    expect(checkout.stderr).toMatch(/chunk sha256:[0-9a-f]{64}/);
    expect(checkout.stderr).toContain('fragile.bin');
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}
