/**
 * Registry figure of issue #3: registering a version whose folder holds 1,000
 * files (target < 2 s), through real HTTP against a `cairn server` child
 * process, on SQLite and PostgreSQL. The same run measures, as its baseline,
 * uploading those files and `cairn models register` end to end from a local
 * folder (upload + registration) with the built CLI.
 *
 *   node --import tsx bench/registry.bench.ts [--dialect sqlite|postgres|both] [--files 1000] [--repeat 10]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dialectsFrom, pgSchemaUrl, postJson, REPO, startCairn, timeMany } from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'both' },
    files: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '10' },
  },
});
const FILES = Number(values.files);
const REPEAT = Number(values.repeat);

function fileBody(i: number): Buffer {
  // Distinct small files (a tokenizer folder, a sharded checkpoint index…): 1–8 KiB each.
  return Buffer.from(`file ${i}\n`.repeat(100 + (i % 7) * 100));
}

async function uploadFolder(url: string, root: string): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < FILES; i = next++) {
        const res = await fetch(
          `${url}/api/2.0/mlflow-artifacts/artifacts/${root}/shard-${i % 10}/part-${i}.bin`,
          {
            method: 'PUT',
            body: fileBody(i),
          },
        );
        if (!res.ok) throw new Error(`upload ${i}: ${res.status}`);
      }
    }),
  );
  return performance.now() - t0;
}

async function benchDialect(dialect: 'sqlite' | 'postgres'): Promise<void> {
  const target = dialect === 'postgres' ? await pgSchemaUrl('registry') : undefined;
  const dbUrl = target?.url;
  const server = await startCairn(dbUrl === undefined ? {} : { dbUrl });
  try {
    const api = `${server.url}/api/2.0/mlflow`;
    const run = (await postJson(`${api}/runs/create`, JSON.stringify({ experiment_id: '0' }))) as {
      run: { info: { run_id: string } };
    };
    const runId = run.run.info.run_id;
    const uploadMs = await uploadFolder(server.url, `0/${runId}/artifacts/model`);
    await postJson(`${api}/registered-models/create`, JSON.stringify({ name: 'bench-model' }));
    const register = await timeMany(REPEAT, async () => {
      const body = JSON.stringify({ name: 'bench-model', source: `runs:/${runId}/model`, run_id: runId });
      const created = (await postJson(`${api}/model-versions/create`, body)) as {
        model_version: { status: string };
      };
      if (created.model_version.status !== 'READY') throw new Error('version not READY');
    });

    const folder = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-model-'));
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(folder, `shard-${i % 10}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `part-${i}.bin`), fileBody(i));
    }
    const cli = await timeMany(3, async () => {
      execFileSync(
        process.execPath,
        [path.join(REPO, 'packages/cli/bin/cairn.js'), 'models', 'register', 'bench-cli', folder, '--json'],
        {
          env: { ...process.env, CAIRN_URL: server.url },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
    });
    console.log(
      `${dialect.padEnd(8)} register ${FILES} files: median ${register.median.toFixed(0)} ms, p95 ${register.p95.toFixed(0)} ms ` +
        `(${REPEAT} versions) | baseline: uploading them ${uploadMs.toFixed(0)} ms | ` +
        `\`cairn models register\` of a local ${FILES}-file folder end to end: median ${cli.median.toFixed(0)} ms`,
    );
  } finally {
    await server.stop();
    await target?.drop();
  }
}

console.log(`registry bench: ${os.cpus().length} CPUs, Node ${process.version}`);
for (const dialect of dialectsFrom(values.dialect)) await benchDialect(dialect);
