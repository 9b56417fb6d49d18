import { writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCairnError, parseTreeFrames, PIPELINE_LIMITS } from '@cairn/contract';
import { globToRegExp, isIgnored, packCodeDirectory, parseIgnoreLines } from './code-package.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-code-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(files: Record<string, string>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(dir, ...relative.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

const paths = async (options = {}): Promise<string[]> =>
  (await packCodeDirectory(dir, options)).entries.map((e) => e.path);

describe('globs', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.py', 'train.py', true],
    ['*.py', 'src/train.py', false],
    ['src/*.py', 'src/train.py', true],
    ['src/*.py', 'src/a/train.py', false],
    ['src/**/*.py', 'src/train.py', true],
    ['src/**/*.py', 'src/a/b/train.py', true],
    ['**/*.csv', 'data/x/y.csv', true],
    ['**/*.csv', 'y.csv', true],
    ['data/**', 'data/x/y.csv', true],
    ['data/**', 'database/y.csv', false],
    ['?.txt', 'a.txt', true],
    ['?.txt', 'ab.txt', false],
    ['[ab].txt', 'b.txt', true],
    ['[!ab].txt', 'b.txt', false],
    ['[!ab].txt', 'c.txt', true],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['*', '.env', true],
    ['a.b', 'axb', false],
    ['\\*.txt', '*.txt', true],
    ['\\*.txt', 'a.txt', false],
    ['[unclosed', '[unclosed', true],
  ];
  it.each(cases)('%s against %s → %s', (glob, relative, expected) => {
    expect(globToRegExp(glob).test(relative)).toBe(expected);
  });

  it('reads ignore lines like .gitignore: segments, anchors, folders only, negation, last match wins', () => {
    const rules = parseIgnoreLines([
      '# comment',
      '',
      'data',
      '/build',
      'out/',
      '*.log',
      '!keep.log',
      'docs/*.md  ',
    ]);
    const ignored = (p: string, isDir = false) => isIgnored(rules, p, isDir);
    expect(ignored('data', true)).toBe(true);
    expect(ignored('src/data', true)).toBe(true);
    expect(ignored('build', true)).toBe(true);
    expect(ignored('src/build', true)).toBe(false);
    expect(ignored('out', true)).toBe(true);
    expect(ignored('out', false)).toBe(false);
    expect(ignored('a/b/run.log')).toBe(true);
    expect(ignored('keep.log')).toBe(false);
    expect(ignored('docs/readme.md')).toBe(true);
    expect(ignored('src/docs/readme.md')).toBe(false);
    expect(ignored('# comment')).toBe(false);
  });
});

describe('packCodeDirectory', () => {
  it('frames every file in path order, and the contract parser reads them back', async () => {
    await put({ 'b.py': 'print(2)\n', 'a/z.txt': 'z', 'a-b.txt': 'dash', 'a/y/x.sh': '#!/bin/sh\n' });
    await chmod(path.join(dir, 'a/y/x.sh'), 0o755);
    await put({ 'empty.txt': '' });
    const pack = await packCodeDirectory(dir);
    expect(pack.files).toBe(5);
    expect(pack.sizeBytes).toBe(9 + 1 + 4 + 10);
    const frames = parseTreeFrames(pack.body);
    expect(frames.map((f) => f.path)).toEqual(['a-b.txt', 'a/y/x.sh', 'a/z.txt', 'b.py', 'empty.txt']);
    expect(frames.map((f) => new TextDecoder().decode(f.content))).toEqual([
      'dash',
      '#!/bin/sh\n',
      'z',
      'print(2)\n',
      '',
    ]);
    expect(frames.find((f) => f.path === 'a/y/x.sh')?.executable).toBe(true);
    expect(frames.find((f) => f.path === 'b.py')?.executable).toBe(false);
    expect(pack.entries).toEqual(
      frames.map(({ path: p, sizeBytes, executable }) => ({ path: p, sizeBytes, executable })),
    );
  });

  it('gives the same bytes for the same folder', async () => {
    await put({ 'z.py': 'z', 'm/n.py': 'n', 'a.py': 'a' });
    const first = await packCodeDirectory(dir);
    const second = await packCodeDirectory(dir);
    expect(Buffer.from(second.body).equals(Buffer.from(first.body))).toBe(true);
  });

  it('leaves out version control, dependencies, environments and caches', async () => {
    await put({
      'train.py': 'x',
      '.git/HEAD': 'ref',
      'node_modules/x/index.js': 'x',
      'web/node_modules/y.js': 'y',
      '.cairn/db': 'x',
      '.venv/bin/python': 'x',
      'venv/lib/x.py': 'x',
      'src/__pycache__/m.cpython-312.pyc': 'x',
      'src/m.pyc': 'x',
      'src/m.py': 'x',
      '.DS_Store': 'x',
      '.mypy_cache/x': 'x',
      '.pytest_cache/x': 'x',
      '.env.example': 'x',
    });
    expect(await paths()).toEqual(['.env.example', 'src/m.py', 'train.py']);
  });

  it('reads .cairnignore at the root, and exclude and skip options', async () => {
    await put({
      '.cairnignore': '# big things\ndata/\n*.csv\n/out\n!keep.csv\n',
      'data/train.parquet': 'x',
      'src/data/loader.py': 'loader', // `data/` matches folders named data at any depth
      'a.csv': 'x',
      'keep.csv': 'k',
      'out/result.json': 'x',
      'src/out/y.py': 'y',
      'pipeline.yaml': 'name: p',
      'notes.md': 'n',
      'train.py': 't',
    });
    expect(await paths()).toEqual([
      '.cairnignore',
      'keep.csv',
      'notes.md',
      'pipeline.yaml',
      'src/out/y.py',
      'train.py',
    ]);
    expect(await paths({ exclude: ['*.md'], skip: [path.join(dir, 'pipeline.yaml')] })).toEqual([
      '.cairnignore',
      'keep.csv',
      'src/out/y.py',
      'train.py',
    ]);
    expect(await paths({ skip: ['pipeline.yaml'] })).not.toContain('pipeline.yaml');
  });

  it('skips symbolic links and reports them, never following one', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'cairn-outside-'));
    try {
      await writeFile(path.join(outside, 'secret.txt'), 'secret');
      await put({ 'train.py': 'x', 'real/file.txt': 'f' });
      await symlink(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
      await symlink(outside, path.join(dir, 'linked-dir'));
      await symlink(path.join(dir, 'real'), path.join(dir, 'again'));
      const pack = await packCodeDirectory(dir);
      expect(pack.entries.map((e) => e.path)).toEqual(['real/file.txt', 'train.py']);
      expect(pack.skipped.map((s) => s.path)).toEqual(['again', 'link.txt', 'linked-dir']);
      expect(pack.skipped[0]?.reason).toMatch(/symbolic link/);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('packs an empty folder (or one holding only left-out files) as nothing', async () => {
    expect((await packCodeDirectory(dir)).files).toBe(0);
    await put({ 'node_modules/a.js': 'x', '.git/config': 'x' });
    const pack = await packCodeDirectory(dir);
    expect(pack).toMatchObject({ files: 0, sizeBytes: 0, entries: [] });
    expect(pack.body.byteLength).toBe(0);
  });

  it('refuses more bytes than a code package may hold, saying to add a .cairnignore', async () => {
    await put({ 'train.py': 'x' });
    await mkdir(path.join(dir, 'data'));
    // Sparse: the size is all that is checked before anything is read.
    await writeFile(path.join(dir, 'data/big.bin'), '');
    await truncate(path.join(dir, 'data/big.bin'), PIPELINE_LIMITS.maxCodeBytes + 1);
    const error = await packCodeDirectory(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCairnError(error) && error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((error as Error).message).toMatch(/data\/ \(1 files/);
    expect((error as Error).message).toContain(path.join(dir, '.cairnignore'));
  });

  it('refuses more files than a code package may hold', async () => {
    await mkdir(path.join(dir, 'many'));
    for (let i = 0; i <= PIPELINE_LIMITS.maxCodeFiles; i++) writeFileSync(path.join(dir, 'many', `${i}`), '');
    const error = await packCodeDirectory(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCairnError(error) && error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((error as Error).message).toMatch(/holds 10001 files; at most 10000/);
    expect((error as Error).message).toMatch(/\.cairnignore/);
    // With the folder ignored, the rest packs.
    await writeFile(path.join(dir, '.cairnignore'), 'many/\n');
    expect((await packCodeDirectory(dir)).files).toBe(1);
  });

  it('fails clearly when the folder is missing or a file', async () => {
    await expect(packCodeDirectory(path.join(dir, 'nope'))).rejects.toThrow(/does not exist/);
    await put({ 'f.txt': 'x' });
    await expect(packCodeDirectory(path.join(dir, 'f.txt'))).rejects.toThrow(/is not a folder/);
  });
});
