import { execFile } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCairn, startCairnServer, type CairnResult, type CairnServer } from './helpers.js';

// A training script in a dirty git work tree starts a run with the built SDK;
// `cairn runs code` must then rebuild that exact tree from the repository.
// Needs `npm run build`.
const exec = promisify(execFile);
const SDK = pathToFileURL(path.join(REPO, 'packages/sdk/dist/index.js')).href;

/** Every file below `root` but `.git`: path → kind, mode and bytes (or link target). */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (rel === '.git') continue;
      const stat = lstatSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isSymbolicLink()) files.set(rel, `link → ${readlinkSync(full)}`);
      else {
        const bytes = readFileSync(full);
        files.set(rel, `file ${(stat.mode & 0o111) === 0 ? '644' : '755'} ${bytes.toString('base64')}`);
      }
    }
  };
  walk(root);
  return files;
}

describe('cairn runs code against a running server', () => {
  let server: CairnServer;
  let dataDir: string;
  let work: string;
  let repo: string;

  const git = (...args: string[]) => exec('git', ['-C', repo, ...args]);
  const cairn = (...args: string[]): Promise<CairnResult> =>
    runCairn([...args, '--url', server.url], { cwd: work });

  /** A script that starts (and ends) a run with the built SDK, in `cwd`; prints the run id. */
  async function startRunIn(cwd: string, env: Record<string, string> = {}): Promise<string> {
    const script = `
      import { Cairn } from ${JSON.stringify(SDK)};
      const run = await new Cairn().startRun({ experiment: 'code-e2e', runName: 'train' });
      run.logMetric('loss', 0.5);
      await run.end();
      process.stdout.write(run.runId);
    `;
    const { stdout, stderr } = await exec(process.execPath, ['--input-type=module', '-e', script], {
      cwd,
      env: { ...process.env, CAIRN_URL: server.url, ...env },
    });
    expect(stderr).toBe('');
    return stdout.trim();
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-code-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-code-work-'));
    server = await startCairnServer({ args: ['--host', '127.0.0.1'], dataDir });

    repo = path.join(work, 'project');
    mkdirSync(path.join(repo, 'src'), { recursive: true });
    await exec('git', ['init', '--quiet', '-b', 'main', repo]);
    await git('config', 'user.name', 'Cairn Test');
    await git('config', 'user.email', 'test@example.com');
    await git('config', 'core.autocrlf', 'false');
    writeFileSync(path.join(repo, 'train.py'), 'lr = 0.1\nepochs = 3\n');
    writeFileSync(path.join(repo, 'src', 'model.py'), 'class Model:\n    pass\n');
    writeFileSync(path.join(repo, 'weights.bin'), Buffer.from([0, 1, 2, 3, 255, 0, 10]));
    writeFileSync(path.join(repo, 'old.txt'), 'to be deleted\n');
    writeFileSync(path.join(repo, 'run.sh'), '#!/bin/sh\necho hi\n');
    writeFileSync(path.join(repo, '.gitignore'), 'ignored.log\n');
    await git('add', '-A');
    await git('commit', '--quiet', '-m', 'initial');
    await git('remote', 'add', 'origin', 'https://bob:s3cret@git.example.com/acme/project.git');

    // The dirty tree the run starts from.
    writeFileSync(path.join(repo, 'train.py'), 'lr = 0.01\nepochs = 3\n# tuned\n');
    writeFileSync(path.join(repo, 'weights.bin'), Buffer.from([0, 1, 2, 9, 9, 255, 0, 10, 0]));
    unlinkSync(path.join(repo, 'old.txt'));
    chmodSync(path.join(repo, 'run.sh'), 0o755);
    writeFileSync(path.join(repo, 'notes new.md'), 'untracked notes\r\nwith CRLF\r\n');
    mkdirSync(path.join(repo, 'data', 'raw'), { recursive: true });
    writeFileSync(path.join(repo, 'data', 'raw', 'blob.dat'), Buffer.from([0, 0, 7, 0, 255]));
    writeFileSync(path.join(repo, 'data', 'empty.txt'), '');
    symlinkSync('train.py', path.join(repo, 'train-link.py'));
    writeFileSync(path.join(repo, 'ignored.log'), 'not part of the source');
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('records the dirty tree on run start and recreates it byte for byte', async () => {
    const runId = await startRunIn(path.join(repo, 'src'));
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();

    const shown = await fetch(`${server.url}/api/v1/runs/${runId}/code`);
    expect(shown.status).toBe(200);
    const { codeVersion } = (await shown.json()) as { codeVersion: Record<string, unknown> };
    expect(codeVersion).toMatchObject({
      runId,
      commit: head,
      branch: 'main',
      remoteUrl: 'https://git.example.com/acme/project.git',
      dirty: true,
    });
    expect(codeVersion['diffBytes']).toBeGreaterThan(0);

    const out = path.join(work, 'rebuilt');
    const result = await cairn('runs', 'code', runId, '-o', out, '--repo', repo);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(head);
    expect(result.stdout).toMatch(/Dirty:\s+yes/);

    const expected = snapshot(repo);
    expected.delete('ignored.log');
    expect([...expected.keys()].sort()).toEqual([
      '.gitignore',
      'data/empty.txt',
      'data/raw/blob.dat',
      'notes new.md',
      'run.sh',
      'src/model.py',
      'train-link.py',
      'train.py',
      'weights.bin',
    ]);
    expect(snapshot(out)).toEqual(expected);
    expect((await exec('git', ['-C', out, 'rev-parse', 'HEAD'])).stdout.trim()).toBe(head);
  });

  it('prints JSON, refuses a folder in use, and says what is missing', async () => {
    const runId = await startRunIn(repo);
    const out = path.join(work, 'json-out');
    const json = await cairn('runs', 'code', runId, '-o', out, '--repo', repo, '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      runId,
      dir: out,
      branch: 'main',
      dirty: true,
      diffApplied: true,
      filesChanged: 8,
    });

    const again = await cairn('runs', 'code', runId, '-o', out, '--repo', repo);
    expect(again.code).toBe(8);
    expect(again.stderr).toContain('is not empty');

    // Nothing to clone from: the failure leaves no folder behind.
    const noClone = path.join(work, 'no-clone');
    const unreachable = await cairn('runs', 'code', runId, '-o', noClone, '--repo', path.join(work, 'nope'));
    expect(unreachable.code).toBe(8);
    expect(unreachable.stderr).toContain('git clone');
    expect(() => readdirSync(noClone)).toThrow();

    // Another repository without the commit.
    const other = path.join(work, 'other');
    await exec('git', ['init', '--quiet', '-b', 'main', other]);
    await exec('git', [
      '-C',
      other,
      '-c',
      'user.name=x',
      '-c',
      'user.email=x@x',
      'commit',
      '--allow-empty',
      '-qm',
      'x',
    ]);
    const missing = await cairn('runs', 'code', runId, '-o', path.join(work, 'missing'), '--repo', other);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain('is not in');
  });

  it('records nothing with CAIRN_CAPTURE_CODE=0 or outside a work tree', async () => {
    const off = await startRunIn(repo, { CAIRN_CAPTURE_CODE: '0' });
    expect((await fetch(`${server.url}/api/v1/runs/${off}/code`)).status).toBe(404);
    const outside = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-nogit-'));
    try {
      const plain = await startRunIn(outside);
      expect((await fetch(`${server.url}/api/v1/runs/${plain}/code`)).status).toBe(404);
      const result = await cairn('runs', 'code', plain, '-o', path.join(work, 'none'));
      expect(result.code).toBe(6);
      expect(result.stderr).toContain('no recorded code version');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
