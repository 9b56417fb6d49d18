import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLinearModel } from '../packages/server/src/testing/onnx-builder.js';
import { runCairn, startCairnServer, type CairnResult, type CairnServer } from './helpers.js';

// The registry commands as a user runs them: the built CLI against `cairn server`
// on 127.0.0.1 with a temporary SQLite data folder. Needs `npm run build`.

describe('cairn models against a running server', () => {
  let server: CairnServer;
  let url: string;
  let dataDir: string;
  let work: string;
  let runId: string;

  const cairn = (...args: string[]): Promise<CairnResult> => runCairn([...args, '--url', url], { cwd: work });
  const ok = async (...args: string[]): Promise<string> => {
    const result = await cairn(...args);
    expect(result.code, `cairn ${args.join(' ')}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const api = async (method: string, p: string, body: unknown): Promise<any> => {
    const res = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, p).toBeLessThan(300);
    return res.status === 204 ? undefined : res.json();
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-models-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-work-'));
    server = await startCairnServer({ args: ['--host', '127.0.0.1'], dataDir });
    url = server.url;
    mkdirSync(path.join(work, 'model', 'conf'), { recursive: true });
    writeFileSync(path.join(work, 'model', 'weights.bin'), 'weights v1');
    writeFileSync(path.join(work, 'model', 'conf', 'params.json'), '{"depth": 3}');
    writeFileSync(path.join(work, 'model.onnx'), buildLinearModel({ inputs: 4, outputs: 3 }));

    const sweep = await api('POST', '/runs', { runName: 'sweep' });
    const train = await api('POST', '/runs', {
      runName: 'train',
      parentRunId: sweep.info.runId,
      tags: { 'mlflow.source.git.commit': 'abcdef1234567890' },
    });
    runId = train.info.runId;
    await api('POST', `/runs/${runId}/inputs`, {
      datasets: [
        { dataset: { name: 'churn-2026q1', digest: 'd1', sourceType: 'local', source: 'data.csv' } },
      ],
    });
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('registers a folder and a single file, and prints the new version', async () => {
    const folder = await ok('models', 'register', 'churn', 'model', '--run', runId, '--description', 'first');
    expect(folder).toMatch(/^Registered churn version 1 \(opaque, 2 files, 22 B, sha256:[0-9a-f]{12}…\)$/m);
    const single = JSON.parse(await ok('models', 'register', 'churn', 'model/weights.bin', '--json'));
    expect(single).toMatchObject({ name: 'churn', version: 2, fileCount: 1, sizeBytes: 10, runId: null });

    const onnx = await ok('models', 'register', 'linear', 'model.onnx');
    expect(onnx).toMatch(/Registered linear version 1 \(onnx, 1 file, /);
    expect(onnx).toMatch(/Signature \(onnx\)/);
    expect(onnx).toMatch(/input\s+X\s+FP32\s+\[N, 4\]/);
    expect(onnx).toMatch(/output\s+Y\s+FP32\s+\[N, 3\]/);

    const list = await ok('models', 'ls');
    expect(list).toMatch(/NAME\s+LATEST\s+ALIASES\s+UPDATED/);
    expect(list).toMatch(/churn\s+2\s+-/);
    expect(
      JSON.parse(await ok('models', 'ls', '--json')).models.map((m: { name: string }) => m.name),
    ).toEqual(['churn', 'linear']);
    const versions = await ok('models', 'versions', 'churn');
    expect(versions).toMatch(/VERSION\s+ALIASES\s+STAGE\s+FORMAT\s+FILES\s+SIZE/);
    expect(versions.indexOf('\n      2')).toBeLessThan(versions.indexOf('\n      1'));
  }, 90_000);

  it('sets an alias, shows the version by it, and keeps the alias history', async () => {
    expect(await ok('models', 'alias', 'churn@champion', '1')).toContain('churn@champion → version 1');
    const show = await ok('models', 'show', 'churn@champion');
    expect(show).toMatch(/Version:\s+1/);
    expect(show).toMatch(/Aliases:\s+champion/);
    expect(show).toMatch(/Digest:\s+sha256:[0-9a-f]{64}/);
    expect(show).toMatch(/Files:\s+2 \(22 B\)/);
    expect(show).toMatch(/Run:\s+[0-9a-f]{32}/);
    const model = await ok('models', 'show', 'churn');
    expect(model).toMatch(/Aliases:\s+champion → 1/);
    expect(JSON.parse(await ok('models', 'show', 'churn/2', '--json'))).toMatchObject({ version: 2 });
    const linear = await ok('models', 'show', 'linear@1');
    expect(linear).toMatch(/input\s+X\s+FP32/);

    await ok('models', 'alias', 'churn@champion', '2');
    const history = await ok('models', 'history', 'churn', 'champion');
    expect(history).toMatch(/LABEL\s+KIND\s+VERSION\s+FROM\s+TO\s+BY/);
    expect(history).toMatch(/champion\s+alias\s+2\s+\S+ \S+\s+now/);
    expect(history).toMatch(/champion\s+alias\s+1\s+\S+ \S+\s+\d{4}-/);
    const json = JSON.parse(await ok('models', 'alias-history', 'churn', '--json'));
    expect(json.entries.map((e: { version: number }) => e.version)).toEqual([2, 1]);
    expect(await ok('models', 'history', 'churn', 'champion', '--at', '2001-01-01')).toContain(
      'No champion of churn at 2001-01-01.',
    );
    expect(await ok('models', 'alias', 'churn@old', '1')).toContain('→ version 1');
    expect(await ok('models', 'alias', 'churn@old', '--delete')).toContain('Removed alias old');

    expect(await ok('models', 'stage', 'churn', '1', 'staging')).toContain('churn version 1 → Staging');
  }, 90_000);

  it('exports the card as Markdown, takes the edited file back, and edits sections from JSON', async () => {
    const exported = await ok('models', 'card', 'churn', '1');
    expect(exported).toContain('# Model card: churn version 1');
    expect(exported).toContain('churn-2026q1');
    const file = path.join(work, 'card.md');
    writeFileSync(
      file,
      exported
        .replace(
          /## Intended use\n\n_Not written yet._/,
          '## Intended use\n\nPredict churn for monthly plans.',
        )
        .replace(/## Risk tier\n\n_Not assessed._/, '## Risk tier\n\nmedium'),
    );
    const edited = await ok('models', 'card', 'churn', '1', '--edit', file);
    expect(edited).toContain('## Intended use\n\nPredict churn for monthly plans.');
    expect(edited).toContain('## Risk tier\n\nmedium');

    writeFileSync(path.join(work, 'sections.json'), JSON.stringify({ limitations: 'Q1 data only.' }));
    const json = JSON.parse(
      await ok('models', 'card', 'churn', 'champion', '--edit', path.join(work, 'sections.json'), '--json'),
    );
    expect(json.version).toBe(2);
    expect(json.fields).toMatchObject({ limitations: 'Q1 data only.' });
    const kept = JSON.parse(await ok('models', 'card', 'churn', '1', '--json'));
    expect(kept.fields).toMatchObject({
      intendedUse: 'Predict churn for monthly plans.',
      riskTier: 'medium',
    });
  }, 90_000);

  it('prints the provenance tree of a version', async () => {
    const tree = await ok('models', 'lineage', 'churn@1');
    const lines = tree.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^model version churn\/1 \(opaque, sha256:/);
    expect(lines[1]).toMatch(/^└─ produced by: run train \([0-9a-f]{32}, RUNNING/);
    expect(tree).toMatch(/ {3}[├└]─ input: dataset churn-2026q1 \(digest d1, data\.csv\)/);
    expect(tree).toMatch(/ {3}[├└]─ parent: run sweep/);
    expect(tree).toMatch(/ {3}[├└]─ code: code commit abcdef1234567890/);
    const json = JSON.parse(await ok('models', 'lineage', 'churn@champion', '--json'));
    expect(json.root.kind).toBe('model_version');
    expect(await ok('models', 'lineage', 'churn/2')).toContain('no recorded provenance');
  }, 90_000);

  it('downloads a version, verified, and removes versions and models', async () => {
    const out = path.join(work, 'downloaded');
    expect(await ok('models', 'download', 'churn@1', out)).toContain('every file matched its sha256');
    expect(readFileSync(path.join(out, 'conf', 'params.json'), 'utf8')).toBe('{"depth": 3}');
    await ok('models', 'register', 'scratch', 'model/weights.bin');
    expect(await ok('models', 'rm', 'scratch', '1')).toContain('Deleted scratch version 1');
    expect(await ok('models', 'rm', 'scratch')).toContain('Deleted model scratch');
    expect((await cairn('models', 'show', 'scratch')).code).toBe(6);
  }, 90_000);

  it('fails with a headline, the request id and the exit code of the error', async () => {
    const unknown = await cairn('models', 'show', 'no-such-model');
    expect(unknown.code).toBe(6);
    expect(unknown.stderr).toContain('Not found (NOT_FOUND)');
    expect(unknown.stderr).toContain('request id');
    expect((await cairn('models', 'versions', 'no-such-model')).code).toBe(6);
    expect((await cairn('models', 'card', 'churn', '99')).code).toBe(6);
    expect((await cairn('models', 'lineage', 'churn@nobody')).code).toBe(6);

    const badAlias = await cairn('models', 'alias', 'churn@12', '1');
    expect(badAlias.code).toBe(3);
    expect(badAlias.stderr).toContain('Invalid input (INVALID_ARGUMENT)');
    expect(badAlias.stderr).toContain('looks like a version number');
    expect((await cairn('models', 'alias', 'churn@a-b', '99')).code).toBe(6);
    expect((await cairn('models', 'stage', 'churn', '1', 'Prod')).code).toBe(3);
    expect((await cairn('models', 'history', 'churn', '--at', 'yesterday')).code).toBe(3);
    writeFileSync(path.join(work, 'bad.json'), JSON.stringify({ riskTier: 'extreme' }));
    const badCard = await cairn('models', 'card', 'churn', '1', '--edit', path.join(work, 'bad.json'));
    expect(badCard.code).toBe(3);
    expect(badCard.stderr).toContain('must be one of low, medium, high, null');
    expect((await cairn('models', 'register', 'churn', 'no/such/folder')).code).toBe(6);
    expect((await cairn('models', 'register', 'churn', 'model', '--run', 'f'.repeat(32))).code).toBe(6);

    // Usage mistakes are caught before any request.
    expect((await cairn('models', 'alias', 'churn', '1')).code).toBe(2);
    expect((await cairn('models', 'register', 'churn', 'model', '--format', 'pickle')).code).toBe(2);
    expect((await cairn('models', 'alias', 'churn@x', 'one')).code).toBe(2);
    const help = await ok('models', '--help');
    for (const command of [
      'register',
      'ls',
      'show',
      'versions',
      'alias',
      'history',
      'card',
      'lineage',
      'stage',
      'rm',
    ]) {
      expect(help).toContain(command);
    }
  }, 90_000);
});
