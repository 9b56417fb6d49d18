import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandPaths, manifestPath, matchGlob, sha256File } from './dataset-paths.js';
import { isCairnError, type CairnError } from './index.js';

async function refusal(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('expandPaths', () => {
  let work: string;
  let outside: string;
  const paths = async (args: string[], cwd = work): Promise<string[]> =>
    (await expandPaths(args, { cwd })).files.map((f) => f.path);

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'cairn-paths-'));
    outside = mkdtempSync(path.join(os.tmpdir(), 'cairn-outside-'));
    mkdirSync(path.join(work, 'data', 'sub', 'deep'), { recursive: true });
    mkdirSync(path.join(work, 'data', '.cache'), { recursive: true });
    mkdirSync(path.join(work, 'extra'));
    writeFileSync(path.join(work, 'data', 'a.csv'), 'a\n1\n');
    writeFileSync(path.join(work, 'data', 'b.csv'), 'b\n2\n');
    writeFileSync(path.join(work, 'data', 'notes.txt'), 'notes');
    writeFileSync(path.join(work, 'data', '.hidden.csv'), 'h');
    writeFileSync(path.join(work, 'data', '.cache', 'c.csv'), 'c');
    writeFileSync(path.join(work, 'data', 'sub', 'c.csv'), 'c\n3\n');
    writeFileSync(path.join(work, 'data', 'sub', 'deep', 'd.csv'), 'd\n4\n');
    writeFileSync(path.join(work, 'extra', 'readme.md'), '# readme');
    writeFileSync(path.join(work, 'run.sh'), '#!/bin/sh\n');
    chmodSync(path.join(work, 'run.sh'), 0o775);
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('names a single file by its base name', async () => {
    const { files, root } = await expandPaths(['data/sub/c.csv'], { cwd: work });
    expect(root).toBe(path.join(work, 'data', 'sub'));
    expect(files).toEqual([
      { localPath: path.join(work, 'data/sub/c.csv'), path: 'c.csv', size: 4, mode: 0o644 },
    ]);
  });

  it('keeps a folder’s own name, recursively, dotfiles included', async () => {
    expect(await paths(['data'])).toEqual([
      'data/.cache/c.csv',
      'data/.hidden.csv',
      'data/a.csv',
      'data/b.csv',
      'data/notes.txt',
      'data/sub/c.csv',
      'data/sub/deep/d.csv',
    ]);
  });

  it('takes a folder’s contents when written with a trailing slash or as "."', async () => {
    const expected = ['a.csv', 'b.csv', 'notes.txt', 'sub/c.csv', 'sub/deep/d.csv'];
    expect((await paths(['data/'])).filter((p) => !p.startsWith('.'))).toEqual(expected);
    expect((await paths(['.'], path.join(work, 'data'))).filter((p) => !p.startsWith('.'))).toEqual(expected);
  });

  it('matches * and ? within a segment, not across folders nor dotfiles', async () => {
    expect(await paths(['data/*.csv'])).toEqual(['a.csv', 'b.csv']);
    expect(await paths(['data/?.csv'])).toEqual(['a.csv', 'b.csv']);
    expect(await paths(['data/a.*'])).toEqual(['a.csv']);
  });

  it('matches ** across any number of folders, but not into dot-folders', async () => {
    expect(await paths(['data/**/*.csv'])).toEqual(['a.csv', 'b.csv', 'sub/c.csv', 'sub/deep/d.csv']);
    expect(await paths(['data/**/d.csv'])).toEqual(['sub/deep/d.csv']);
    expect(await paths([path.join(work, 'data', 'sub', '**')])).toEqual(['c.csv', 'deep/d.csv']);
  });

  it('takes a folder matched by a glob whole', async () => {
    expect(await paths(['data/s*'])).toEqual(['sub/c.csv', 'sub/deep/d.csv']);
  });

  it('puts several arguments under their deepest common folder, once each', async () => {
    expect(await paths(['data/a.csv', 'extra/readme.md', 'data/a.csv'])).toEqual([
      'data/a.csv',
      'extra/readme.md',
    ]);
    expect(await paths(['data/sub', 'data/sub/c.csv'])).toEqual(['sub/c.csv', 'sub/deep/d.csv']);
  });

  it('keeps only the executable bit of the mode', async () => {
    const { files } = await expandPaths(['run.sh', 'extra/readme.md'], { cwd: work });
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      ['extra/readme.md', 0o644],
      ['run.sh', 0o755],
    ]);
  });

  it('refuses a missing path, and a glob matching nothing', async () => {
    const missing = await refusal(expandPaths(['data/nope.csv'], { cwd: work }));
    expect(missing.code).toBe('INVALID_ARGUMENT');
    expect(missing.message).toMatch(/data\/nope\.csv does not exist/);
    expect((await refusal(expandPaths(['data/*.parquet'], { cwd: work }))).message).toMatch(
      /matches no files/,
    );
    expect((await refusal(expandPaths(['nowhere/*.csv'], { cwd: work }))).message).toMatch(/does not exist/);
    expect((await refusal(expandPaths([], { cwd: work }))).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses ".." after a wildcard, and manifest paths leaving the root', async () => {
    const glob = await refusal(expandPaths(['data/*/../a.csv'], { cwd: work }));
    expect(glob.code).toBe('INVALID_ARGUMENT');
    expect(glob.message).toMatch(/"\.\." and "\." segments cannot follow a wildcard/);
    expect(() => manifestPath(path.join(work, 'data'), path.join(work, 'extra', 'x'))).toThrow(/"\.\."/);
    expect(() => manifestPath(work, work)).toThrow();
    expect(manifestPath(work, path.join(work, 'data', 'a.csv'))).toBe('data/a.csv');
  });

  it('accepts ".." before any wildcard: the argument is resolved first', async () => {
    expect(await paths(['../data/*.csv'], path.join(work, 'extra'))).toEqual(['a.csv', 'b.csv']);
  });

  describe('links', () => {
    let linked: string;
    beforeAll(() => {
      linked = path.join(work, 'linked');
      mkdirSync(path.join(linked, 'inner'), { recursive: true });
      writeFileSync(path.join(linked, 'inner', 'real.txt'), 'real');
      symlinkSync(path.join(linked, 'inner', 'real.txt'), path.join(linked, 'alias.txt'));
      symlinkSync(path.join(linked, 'inner'), path.join(linked, 'inner-again'));
    });

    it('takes a link to a file inside as that file, and does not follow links to folders', async () => {
      const { files } = await expandPaths(['linked'], { cwd: work });
      expect(files.map((f) => [f.path, f.size])).toEqual([
        ['linked/alias.txt', 4],
        ['linked/inner/real.txt', 4],
      ]);
    });

    it('refuses a link whose target leaves the folder being added', async () => {
      const escape = path.join(work, 'escape');
      mkdirSync(escape);
      writeFileSync(path.join(escape, 'ok.txt'), 'ok');
      symlinkSync(path.join(outside, 'secret.txt'), path.join(escape, 'secret.txt'));
      const error = await refusal(expandPaths(['escape'], { cwd: work }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/escape\/secret\.txt links to .*secret\.txt, outside .*escape/);
      // Relative links that climb out are caught the same way.
      const climb = path.join(work, 'climb');
      mkdirSync(climb);
      symlinkSync('../data/a.csv', path.join(climb, 'up.csv'));
      expect((await refusal(expandPaths(['climb'], { cwd: work }))).message).toMatch(/outside/);
      expect((await refusal(expandPaths(['climb/*.csv'], { cwd: work }))).message).toMatch(/outside/);
    });

    it('refuses a broken link', async () => {
      const broken = path.join(work, 'broken');
      mkdirSync(broken);
      symlinkSync(path.join(broken, 'gone'), path.join(broken, 'dangling'));
      expect((await refusal(expandPaths(['broken'], { cwd: work }))).message).toMatch(/broken link/);
    });
  });

  describe('non-regular files', () => {
    let server: Server;
    let dir: string;
    beforeAll(async () => {
      dir = path.join(work, 'sockets');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'ok.txt'), 'ok');
      server = createServer();
      await new Promise<void>((resolve) => server.listen(path.join(dir, 'server.sock'), resolve));
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('refuses a socket, named or found in a folder', async () => {
      const inFolder = await refusal(expandPaths(['sockets'], { cwd: work }));
      expect(inFolder.code).toBe('INVALID_ARGUMENT');
      expect(inFolder.message).toMatch(/server\.sock is not a regular file/);
      expect((await refusal(expandPaths(['sockets/server.sock'], { cwd: work }))).message).toMatch(
        /not a regular file/,
      );
    });
  });

  it('hashes a file as sha256sum does', async () => {
    expect(await sha256File(path.join(work, 'data', 'a.csv'))).toBe(
      'sha256:' + (await import('node:crypto')).createHash('sha256').update('a\n1\n').digest('hex'),
    );
  });
});

describe('matchGlob', () => {
  const m = (glob: string, p: string): boolean => matchGlob(glob.split('/'), p.split('/'));
  it('follows shell rules for *, ? and **', () => {
    expect(m('*.csv', 'a.csv')).toBe(true);
    expect(m('*.csv', 'sub/a.csv')).toBe(false);
    expect(m('*.csv', '.a.csv')).toBe(false);
    expect(m('.*.csv', '.a.csv')).toBe(true);
    expect(m('?.csv', 'ab.csv')).toBe(false);
    expect(m('**/*.csv', 'a.csv')).toBe(true);
    expect(m('**/*.csv', 'x/y/z/a.csv')).toBe(true);
    expect(m('**/*.csv', '.git/a.csv')).toBe(false);
    expect(m('a/**/b', 'a/b')).toBe(true);
    expect(m('a/**/b', 'a/x/y/b')).toBe(true);
    expect(m('a/**', 'a/x/y')).toBe(true);
    expect(m('[ab].csv', 'a.csv')).toBe(false);
    expect(m('[ab].csv', '[ab].csv')).toBe(true);
    expect(m('a+b(c).csv', 'a+b(c).csv')).toBe(true);
  });
  it('tells whether a folder could still hold a match', () => {
    expect(matchGlob(['a*', 'b.csv'], ['ax'], true)).toBe(true);
    expect(matchGlob(['a*', 'b.csv'], ['x'], true)).toBe(false);
    expect(matchGlob(['**', 'b.csv'], ['x', 'y'], true)).toBe(true);
    expect(matchGlob(['*.csv'], ['x'], true)).toBe(false);
  });
});
