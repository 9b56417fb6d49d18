import { Readable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeFileTree, type FileTreeEntry } from '@cairn/contract';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../adapters/blob/fs-blob-store.js';
import { CodeTrees } from './code-trees.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'cairn-code-trees-'));
const blobs = new FsBlobStore({ root });
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const file = (p: string, content = p): FileTreeEntry => ({
  path: p,
  digest: `sha256:${(n++).toString(16).padStart(64, '0')}`,
  sizeBytes: content.length,
  executable: false,
});

async function packageOf(files: FileTreeEntry[]): Promise<string> {
  return (await blobs.put(Readable.from([Buffer.from(encodeFileTree(files))]))).digest;
}

describe('which code a step depends on', () => {
  const base = [
    file('train.py'),
    file('utils.py'),
    file('README.md'),
    file('lib/model.py'),
    file('bin/run.sh'),
    file('data.csv'),
  ];

  async function digests(
    run: string,
    code: string[] | null,
    changed: string,
  ): Promise<[string | null, string | null]> {
    const trees = new CodeTrees(blobs);
    const before = await trees.stepCodeDigest(await packageOf(base), { run, code });
    const edited = base.map((f) => (f.path === changed ? file(f.path, 'edited') : f));
    const after = await trees.stepCodeDigest(await packageOf(edited), { run, code });
    return [before, after];
  }

  it.each([
    ['python train.py --data {{inputs.d}}', 'train.py', true],
    ['python train.py --data {{inputs.d}}', 'utils.py', true], // a local import, beside it with its extension
    ['python train.py --data {{inputs.d}}', 'README.md', false],
    ['python train.py --data {{inputs.d}}', 'lib/model.py', false], // another folder: name it with code:
    ['./bin/run.sh --x=1', 'bin/run.sh', true],
    ["awk '{print $1}' data.csv > {{outputs.o}}", 'data.csv', true],
    ['seq 1 100 > {{outputs.numbers}}', 'train.py', false],
    ['python -m thing --cfg=train.py', 'train.py', true],
  ])('`%s`: editing %s re-runs it: %s', async (run, changed, reruns) => {
    const [before, after] = await digests(run, null, changed);
    expect(before !== after).toBe(reruns);
  });

  it('follows code globs when a step names them', async () => {
    expect(new Set(await digests('python train.py', ['lib/**'], 'lib/model.py')).size).toBe(2);
    expect(new Set(await digests('python train.py', ['lib/'], 'lib/model.py')).size).toBe(2);
    expect(new Set(await digests('python train.py', ['lib/**'], 'train.py')).size).toBe(1);
  });

  it('has no code digest without a package', async () => {
    expect(await new CodeTrees(blobs).stepCodeDigest(null, { run: 'x', code: null })).toBeNull();
  });
});
