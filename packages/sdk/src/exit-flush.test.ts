import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildApp, loadConfig } from '@cairn/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cairn } from './index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const sdkEntry = pathToFileURL(fileURLToPath(new URL('./index.ts', import.meta.url))).href;

/** Runs a TypeScript script in a fresh `node --import tsx` (cwd = repo root, so tsconfig paths apply). */
function runScript(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('@cairn/sdk at process exit', () => {
  let dir: string;
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-sdk-exit-'));
    const app = await buildApp(loadConfig({ cwd: dir, env: {}, flags: { dataDir: dir } }), { logger: false });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  afterAll(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('flushes and ends open runs as FINISHED when a script ends without end()', async () => {
    const script = path.join(dir, 'train.mts');
    writeFileSync(
      script,
      `import { Cairn } from ${JSON.stringify(sdkEntry)};
const cairn = new Cairn();
const run = await cairn.startRun({ experiment: 'exit-flush', params: { lr: 0.5 } });
for (let step = 0; step < 1500; step++) run.logMetric('loss', step / 10, { step });
run.setTag('done', 'no end() called');
console.log(run.runId);
`,
    );
    const result = await runScript(script, { CAIRN_URL: url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/cairn:/);
    const runId = result.stdout.trim();
    const cairn = new Cairn({ url });
    const run = await cairn.runs.get(runId);
    expect(run.info.status).toBe('FINISHED');
    expect(run.info.endTime).toEqual(expect.any(Number));
    expect(run.data.tags['done']).toBe('no end() called');
    expect(run.data.params).toEqual({ lr: '0.5' });
    const history = await cairn.runs.metricHistory(runId, 'loss');
    expect(history.metrics).toHaveLength(1500);
  }, 60_000);

  it('warns about unsent items when the process exits abruptly', async () => {
    const script = path.join(dir, 'abrupt.mts');
    writeFileSync(
      script,
      `import { Cairn } from ${JSON.stringify(sdkEntry)};
const run = await new Cairn().startRun({ experiment: 'exit-flush' });
run.logMetric('lost', 1);
process.exit(0);
`,
    );
    const result = await runScript(script, { CAIRN_URL: url });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /cairn: run \w+ was not ended; 1 queued metrics\/params\/tags were not sent/,
    );
  }, 60_000);
});
