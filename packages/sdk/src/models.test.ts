import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
// Test-only: the server's per-dialect database helper, so this suite runs on SQLite and PostgreSQL.
import { createTestApp, describeEachDatabase, type TestApp } from '../../server/src/testing/index.js';
import { Cairn, isCairnError, type CairnError, type TransferProgress } from './index.js';

async function rejection(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const sha256 = (bytes: string | Buffer): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Every file below `dir` as `relative path → text`. */
function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string): void => {
    for (const entry of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else out[rel] = readFileSync(path.join(dir, rel), 'utf8');
    }
  };
  walk('');
  return out;
}

describeEachDatabase('@cairn/sdk model registry against a listening server', ({ database }) => {
  let t: TestApp;
  let url: string;
  let cairn: Cairn;
  let workDir: string;
  let modelDir: string;

  beforeAll(async () => {
    t = await createTestApp(database());
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    cairn = new Cairn({ url });
    workDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-sdk-models-'));
    modelDir = path.join(workDir, 'model');
    mkdirSync(path.join(modelDir, 'conf'), { recursive: true });
    writeFileSync(path.join(modelDir, 'weights.bin'), 'weights v1');
    writeFileSync(path.join(modelDir, 'conf', 'params.json'), '{"depth": 3}');
    writeFileSync(path.join(modelDir, 'read me.txt'), '');
  });
  afterAll(async () => {
    await t.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('registers a local folder, creating the model, and reports upload progress', async () => {
    const progress: TransferProgress[] = [];
    const v1 = await cairn.registerModel({
      name: 'churn v1.2',
      path: modelDir,
      description: 'from a folder',
      tags: { source: 'laptop' },
      onProgress: (p) => progress.push(p),
    });
    expect(v1).toMatchObject({
      name: 'churn v1.2',
      version: 1,
      fileCount: 3,
      sizeBytes: 22,
      format: 'opaque',
      runId: null,
      description: 'from a folder',
      tags: { source: 'laptop' },
    });
    expect(progress.at(-1)).toEqual({ filesDone: 3, filesTotal: 3, bytesDone: 22, bytesTotal: 22 });
    expect((await cairn.getModel('churn v1.2')).latestVersion).toBe(1);
    const files = await cairn.models.listFiles('churn v1.2', 1);
    expect(files.files.map((f) => f.path)).toEqual(['conf/params.json', 'read me.txt', 'weights.bin']);

    const single = await cairn.registerModel({
      name: 'churn v1.2',
      path: path.join(modelDir, 'weights.bin'),
    });
    expect(single).toMatchObject({ version: 2, fileCount: 1, sizeBytes: 10 });
    const listed = await cairn.listVersions('churn v1.2');
    expect(listed.versions.map((v) => v.version)).toEqual([2, 1]);
    expect((await cairn.listModels({ filter: "name LIKE 'churn%'" })).models.map((m) => m.name)).toEqual([
      'churn v1.2',
    ]);
  });

  it('registers from a run, by local path or by the run’s artifact folder, and walks the lineage', async () => {
    const run = await cairn.startRun({
      experiment: 'sdk-registry',
      runName: 'train',
      tags: { 'mlflow.source.git.commit': 'abcdef1234567890' },
      params: { depth: 3 },
    });
    await run.logArtifacts(modelDir, 'model');
    await run.end();

    const fromPath = await cairn.registerModel({ name: 'ranker', path: modelDir, runId: run.runId });
    expect(fromPath).toMatchObject({ version: 1, runId: run.runId });
    const fromRun = await cairn.registerModel({ name: 'ranker', runId: run.runId, artifactPath: 'model' });
    expect(fromRun).toMatchObject({ version: 2, runId: run.runId, source: `runs:/${run.runId}/model` });
    expect(fromRun.digest).toBe(fromPath.digest);

    const graph = await cairn.modelLineage('ranker@2');
    expect(graph.root).toEqual({ kind: 'model_version', id: fromRun.versionId });
    const kinds = graph.nodes.map((n) => `${n.kind}:${n.label}`);
    expect(kinds).toEqual(expect.arrayContaining(['run:train', 'code_version:abcdef123456']));
  });

  it('sets aliases, resolves name@alias, name/3 and name, and answers from the alias history', async () => {
    await cairn.registerModel({ name: 'aliased', path: modelDir });
    await cairn.registerModel({ name: 'aliased', path: modelDir });
    const set = await cairn.setAlias('aliased', 'champion', 1);
    expect(set.aliases).toEqual(['champion']);
    expect((await cairn.resolveModel('aliased@champion')).version).toBe(1);
    expect((await cairn.resolveModel('aliased/2')).version).toBe(2);
    expect((await cairn.resolveModel('aliased@2')).version).toBe(2);
    expect((await cairn.resolveModel('aliased')).version).toBe(2);
    const firstSetAt = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await cairn.setAlias('aliased', 'champion', 2);
    const history = await cairn.aliasHistory('aliased', { alias: 'champion' });
    expect(history.entries.map((e) => [e.version, e.endedAt === null])).toEqual([
      [2, true],
      [1, false],
    ]);
    const then = await cairn.aliasHistory('aliased', { alias: 'champion', at: new Date(firstSetAt) });
    expect(then.entries.map((e) => e.version)).toEqual([1]);
    await cairn.deleteAlias('aliased', 'champion');
    expect((await rejection(cairn.resolveModel('aliased@champion'))).code).toBe('NOT_FOUND');
    expect((await rejection(cairn.setAlias('aliased', '12', 1))).field).toBe('alias');
  });

  it('edits the card as JSON and as Markdown', async () => {
    await cairn.registerModel({ name: 'carded', path: modelDir });
    const card = await cairn.updateCard('carded/1', { intendedUse: 'Ranking.', riskTier: 'low' });
    expect(card.fields).toMatchObject({ intendedUse: 'Ranking.', riskTier: 'low' });
    const markdown = await cairn.models.getCardMarkdown('carded', 1);
    expect(markdown).toContain('## Intended use\n\nRanking.');
    const replaced = await cairn.updateCard('carded@1', markdown.replace('Ranking.', 'Ranking, weekly.'));
    expect(replaced.fields).toMatchObject({ intendedUse: 'Ranking, weekly.', riskTier: 'low' });
    expect((await cairn.getCard('carded')).fields.intendedUse).toBe('Ranking, weekly.');
    const bad = await rejection(cairn.updateCard('carded/1', { riskTier: 'extreme' as 'low' }));
    expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'riskTier' });
  });

  it('downloads a version, checking every file against its pinned digest', async () => {
    await cairn.registerModel({ name: 'downloaded', path: modelDir });
    await cairn.setAlias('downloaded', 'prod', 1);
    const target = path.join(workDir, 'download-ok');
    const { version, files } = await cairn.downloadModel('downloaded@prod', target);
    expect(version.version).toBe(1);
    expect(files.map((f) => f.digest)).toContain(sha256('weights v1'));
    expect(readTree(target)).toEqual({
      'conf/params.json': '{"depth": 3}',
      'read me.txt': '',
      'weights.bin': 'weights v1',
    });

    // A proxy that alters bytes on the way: the file is refused and nothing is left under its name.
    const tampering: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith('/files/weights.bin')) return response;
      return new Response('weights v2', { status: 200, headers: response.headers });
    };
    const bad = path.join(workDir, 'download-bad');
    const error = await rejection(new Cairn({ url, fetch: tampering }).downloadModel('downloaded/1', bad));
    expect(error.code).toBe('DATA_LOSS');
    expect(error.message).toContain('weights.bin');
    expect(existsSync(path.join(bad, 'weights.bin'))).toBe(false);
    expect(existsSync(path.join(bad, 'weights.bin.cairn-partial'))).toBe(false);
  });

  it('checks its options and leaves no model behind when the version is refused', async () => {
    const both = await rejection(
      cairn.registerModel({ name: 'nothing', path: modelDir, artifactPath: 'model', runId: 'x' }),
    );
    expect(both).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'artifactPath' });
    const noRun = await rejection(cairn.registerModel({ name: 'nothing', artifactPath: 'model' }));
    expect(noRun).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'runId' });
    const missing = await rejection(
      cairn.registerModel({ name: 'nothing', path: path.join(workDir, 'nope') }),
    );
    expect(missing.code).toBe('NOT_FOUND');
    const badName = await rejection(cairn.registerModel({ name: 'a/b', path: modelDir }));
    expect(badName).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'name' });

    const notOnnx = await rejection(
      cairn.registerModel({ name: 'not-onnx', path: modelDir, format: 'onnx' }),
    );
    expect(notOnnx).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'format' });
    expect((await rejection(cairn.getModel('not-onnx'))).code).toBe('NOT_FOUND');
    const unknownRun = await rejection(
      cairn.registerModel({ name: 'not-onnx', path: modelDir, runId: 'f'.repeat(32) }),
    );
    expect(unknownRun).toMatchObject({ code: 'NOT_FOUND', field: 'runId' });
    expect((await rejection(cairn.getModel('not-onnx'))).code).toBe('NOT_FOUND');
  });
});
