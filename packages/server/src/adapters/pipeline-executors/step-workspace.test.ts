import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { encodeFileTree, parseFileTree, type FileTreeEntry } from '@cairn/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from '../../modules/artifacts/blob.store.js';
import type { StepOutput } from '../../modules/pipelines/index.js';
import { FsBlobStore } from '../blob/fs-blob-store.js';
import {
  materializeTree,
  OutputError,
  prepareWorkspace,
  storeOutput,
  workspaceLayout,
  type DatasetFiles,
} from './step-workspace.js';

let root: string;
let blobs: FsBlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cairn-step-workspace-'));
  blobs = await FsBlobStore.open({ root: join(root, 'blobs') });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const putText = async (text: string): Promise<StepOutput> => {
  const stored = await blobs.put(Readable.from([Buffer.from(text)]));
  return { digest: stored.digest, sizeBytes: stored.sizeBytes, type: 'file' };
};

const putTree = async (
  files: Record<string, string | { text: string; executable: boolean }>,
): Promise<StepOutput> => {
  const entries: FileTreeEntry[] = [];
  for (const [path, file] of Object.entries(files)) {
    const { text, executable } = typeof file === 'string' ? { text: file, executable: false } : file;
    const stored = await putText(text);
    entries.push({ path, digest: stored.digest, sizeBytes: stored.sizeBytes, executable });
  }
  const manifest = await blobs.put(Readable.from([Buffer.from(encodeFileTree(entries))]));
  return { digest: manifest.digest, sizeBytes: 0, type: 'dir' };
};

const fakeDatasets: DatasetFiles & { calls: unknown[] } = {
  calls: [],
  async materialize(input) {
    fakeDatasets.calls.push(input);
    await mkdir(join(input.targetDir, 'part'), { recursive: true });
    await writeFile(join(input.targetDir, 'part', 'rows.csv'), 'a,b\n1,2\n');
    await writeFile(join(input.targetDir, 'README'), `${input.dataset}@${input.versionId}`);
  },
};

const listTree = async (dir: string, prefix = ''): Promise<string[]> => {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(`${rel}/`, ...(await listTree(join(dir, entry.name), `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
};

describe('workspaceLayout', () => {
  it('gives absolute paths for files and the text for value inputs', () => {
    const layout = workspaceLayout('relative/ws', {
      inputs: {
        data: { kind: 'dataset', dataset: 'd', versionId: 'v' },
        k: { kind: 'value', value: [1, 2] },
      },
      outputs: ['model'],
    });
    expect(layout.root).toBe(join(process.cwd(), 'relative/ws'));
    expect(layout.inputs).toEqual({ data: join(layout.root, 'inputs', 'data'), k: '[1,2]' });
    expect(layout.outputs).toEqual({ model: join(layout.root, 'outputs', 'model') });
    expect(layout.codeDir).toBe(join(layout.root, 'code'));
    expect(layout.metricsFile).toBe(join(layout.root, 'logs', 'metrics.jsonl'));
  });

  it('refuses names that are not plain file names', () => {
    expect(() => workspaceLayout(root, { inputs: {}, outputs: ['../escape'] })).toThrow(
      /not a valid output name/,
    );
    expect(() =>
      workspaceLayout(root, { inputs: { '.': { kind: 'value', value: 1 } }, outputs: [] }),
    ).toThrow(/not a valid input name/);
  });
});

describe('prepareWorkspace', () => {
  it('lays out code with executable bits, and every kind of input', async () => {
    const code = await putTree({
      'train.sh': { text: '#!/bin/sh\necho trained\n', executable: true },
      'lib/util.py': 'x = 1\n',
    });
    const inputs = {
      file: { kind: 'blob' as const, output: await putText('1\n2\n') },
      dir: { kind: 'blob' as const, output: await putTree({ 'a.txt': 'A', 'sub/b.txt': 'B' }) },
      joined: {
        kind: 'joined' as const,
        items: [await putText('zero'), null, await putTree({ 'x.txt': 'two' })],
      },
      data: { kind: 'dataset' as const, dataset: 'rows', versionId: 'v7' },
      k: { kind: 'value' as const, value: 'text' },
    };
    const layout = workspaceLayout(join(root, 'ws'), { inputs, outputs: ['out'] });
    await prepareWorkspace({
      layout,
      task: { inputs, codeDigest: code.digest },
      blobs,
      datasets: fakeDatasets,
    });

    expect(await listTree(layout.root)).toEqual([
      'code/',
      'code/lib/',
      'code/lib/util.py',
      'code/train.sh',
      'inputs/',
      'inputs/data/',
      'inputs/data/README',
      'inputs/data/part/',
      'inputs/data/part/rows.csv',
      'inputs/dir/',
      'inputs/dir/a.txt',
      'inputs/dir/sub/',
      'inputs/dir/sub/b.txt',
      'inputs/file',
      'inputs/joined/',
      'inputs/joined/00000',
      'inputs/joined/00002/',
      'inputs/joined/00002/x.txt',
      'logs/',
      'outputs/',
    ]);
    expect((await stat(join(layout.codeDir, 'train.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(layout.codeDir, 'lib/util.py'))).mode & 0o777).toBe(0o644);
    expect(execFileSync('./train.sh', { cwd: layout.codeDir, encoding: 'utf8' })).toBe('trained\n');
    expect(await readFile(join(layout.inputsDir, 'file'), 'utf8')).toBe('1\n2\n');
    expect(await readFile(join(layout.inputsDir, 'joined', '00000'), 'utf8')).toBe('zero');
    expect(await readFile(join(layout.inputsDir, 'data', 'README'), 'utf8')).toBe('rows@v7');
    expect(fakeDatasets.calls).toContainEqual({
      dataset: 'rows',
      versionId: 'v7',
      targetDir: layout.inputs.data,
    });
  });

  it('leaves the working directory empty without a code package, and starts afresh', async () => {
    const layout = workspaceLayout(join(root, 'ws'), { inputs: {}, outputs: [] });
    await mkdir(join(layout.root, 'outputs'), { recursive: true });
    await writeFile(join(layout.root, 'outputs', 'stale'), 'left by a crash');
    await prepareWorkspace({ layout, task: { inputs: {}, codeDigest: null }, blobs, datasets: fakeDatasets });
    expect(await listTree(layout.root)).toEqual(['code/', 'inputs/', 'logs/', 'outputs/']);
  });

  it('fails on a corrupted blob, naming the input', async () => {
    const output = await putText('precious bytes');
    const hex = output.digest.slice('sha256:'.length);
    await writeFile(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex), 'PRECIOUS BYTES');
    const inputs = { model: { kind: 'blob' as const, output } };
    const layout = workspaceLayout(join(root, 'ws'), { inputs, outputs: [] });
    await expect(
      prepareWorkspace({ layout, task: { inputs, codeDigest: null }, blobs, datasets: fakeDatasets }),
    ).rejects.toThrow(/input "model"/);
  });

  it('fails on a missing code package', async () => {
    const layout = workspaceLayout(join(root, 'ws'), { inputs: {}, outputs: [] });
    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(
      prepareWorkspace({ layout, task: { inputs: {}, codeDigest: missing }, blobs, datasets: fakeDatasets }),
    ).rejects.toThrow();
  });
});

describe('storeOutput', () => {
  it('stores a file as one blob and returns null when nothing is there', async () => {
    await writeFile(join(root, 'f'), 'hello');
    const stored = await storeOutput(blobs, join(root, 'f'), 'f');
    expect(stored).toEqual({ digest: (await putText('hello')).digest, sizeBytes: 5, type: 'file' });
    expect(await storeOutput(blobs, join(root, 'absent'), 'absent')).toBeNull();
  });

  it('stores a directory as a tree that lays out again the same', async () => {
    const dir = join(root, 'model');
    await mkdir(join(dir, 'weights', 'deep'), { recursive: true });
    await writeFile(join(dir, 'config.json'), '{}');
    await writeFile(join(dir, 'weights', 'deep', 'w.bin'), Buffer.alloc(1000, 7));
    await writeFile(join(dir, 'run.sh'), 'echo');
    await chmod(join(dir, 'run.sh'), 0o755);
    const stored = (await storeOutput(blobs, dir, 'model')) as StepOutput;
    expect(stored.type).toBe('dir');
    expect(stored.sizeBytes).toBe(1004 + 2);

    const manifest = parseFileTree(await readBlob(stored.digest));
    expect(manifest.files.map((f) => [f.path, f.executable])).toEqual([
      ['config.json', false],
      ['run.sh', true],
      ['weights/deep/w.bin', false],
    ]);
    const copy = join(root, 'copy');
    await mkdir(copy);
    await materializeTree(blobs, stored.digest, copy);
    expect(await listTree(copy)).toEqual(await listTree(dir));
    expect(await readFile(join(copy, 'weights', 'deep', 'w.bin'))).toEqual(Buffer.alloc(1000, 7));
    expect((await stat(join(copy, 'run.sh'))).mode & 0o111).not.toBe(0);
  });

  it('refuses symbolic links, at the top and inside, so nothing outside is read', async () => {
    await writeFile(join(root, 'secret'), 'outside');
    await symlink(join(root, 'secret'), join(root, 'link'));
    await expect(storeOutput(blobs, join(root, 'link'), 'model')).rejects.toThrow(OutputError);
    await mkdir(join(root, 'dir'));
    await writeFile(join(root, 'dir', 'ok'), 'fine');
    await symlink('../secret', join(root, 'dir', 'escape'));
    await expect(storeOutput(blobs, join(root, 'dir'), 'model')).rejects.toThrow(
      /output "model": "escape" is a symbolic link/,
    );
  });

  it('refuses special files', async () => {
    await mkdir(join(root, 'dir'));
    execFileSync('mkfifo', [join(root, 'dir', 'pipe')]);
    await expect(storeOutput(blobs, join(root, 'dir'), 'out')).rejects.toThrow(/"pipe" is a named pipe/);
    await expect(storeOutput(blobs, join(root, 'dir', 'pipe'), 'out')).rejects.toThrow(
      /output "out": it is not a regular file or directory/,
    );
  });
});

async function readBlob(digest: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.get(digest as Digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
