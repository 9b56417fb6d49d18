import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabaseUrl,
  type TestDatabaseUrl,
} from '../packages/server/src/testing/test-databases.js';
import { CLI, envWithout, startCairnServer, until, type CairnServer } from './helpers.js';

// The queue executor as a team runs it: `cairn server` on PostgreSQL, two
// `cairn worker` processes taking steps from BullMQ on the machine's Redis,
// a shared blob folder. Workers are killed with SIGKILL and Redis is
// restarted mid-run. Needs `npm run build`.

const REDIS = process.env['CAIRN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const LOCK_SECONDS = 2;

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  log(): string;
}

describe('the queue executor: cairn workers on BullMQ, a worker killed, Redis restarted', () => {
  let database: TestDatabaseUrl;
  let blobs: string;
  let server: CairnServer;
  let env: NodeJS.ProcessEnv;
  const workers: WorkerProcess[] = [];
  const folders: string[] = [];

  const api = async (method: string, url: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${server.url}/api/v1${url}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return response.json();
  };
  const runOf = async (id: string): Promise<any> => (await api('GET', `/pipeline-runs/${id}`)).run;
  const ended = (id: string, timeoutMs = 90_000) =>
    until(
      `run ${id} ends`,
      async () => {
        const run = await runOf(id);
        return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
      },
      timeoutMs,
    );

  function startWorker(name: string): Promise<WorkerProcess> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `cairn-${name}-`));
    folders.push(dataDir);
    const child = spawn(
      process.execPath,
      [CLI, 'worker', '--name', name, '--url', server.url, '--concurrency', '2'],
      {
        env: { ...env, CAIRN_DATA_DIR: dataDir },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const worker = { name, child, log: () => log };
    workers.push(worker);
    return until(
      `worker ${name} is ready`,
      async () => (log.includes('taking pipeline steps') ? worker : undefined),
      30_000,
    );
  }

  beforeAll(async () => {
    database = await createTestDatabaseUrl('postgres');
    blobs = mkdtempSync(path.join(os.tmpdir(), 'cairn-queue-blobs-'));
    folders.push(blobs);
    env = envWithout(['CAIRN_URL'], {
      CAIRN_DB_URL: database.url,
      CAIRN_BLOB_URL: `file:${blobs}`,
      CAIRN_QUEUE_URL: REDIS,
      CAIRN_QUEUE_PREFIX: `cairn-e2e-${randomUUID().slice(0, 8)}`,
      CAIRN_QUEUE_LOCK_SECONDS: String(LOCK_SECONDS),
    });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-queue-server-'));
    folders.push(dataDir);
    server = await startCairnServer({ env, dataDir });
    await startWorker('w1');
    await startWorker('w2');
  });

  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await server?.stop();
    await database?.drop();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it('gives the step of a worker killed mid-step to another worker, and records it once', async () => {
    const marker = `killed-${randomUUID().slice(0, 8)}`;
    const definition = {
      name: marker,
      steps: {
        slow: { run: `sleep 3; echo ${marker} > {{outputs.out}}`, outputs: ['out'] },
        after: {
          run: 'cat {{inputs.x}} > {{outputs.y}}',
          inputs: { x: 'steps.slow.outputs.out' },
          outputs: ['y'],
        },
      },
    };
    const started = await api('POST', '/pipeline-runs', { definition, executor: 'queue' });
    const id = started.run.id as string;
    const holder = await until('a worker takes the step', async () =>
      workers.find((w) => w.log().includes(`started  ${id} slow`)),
    );
    holder.child.kill('SIGKILL');
    const killedAt = Date.now();
    const other = workers.find((w) => w !== holder && w.child.exitCode === null) as WorkerProcess;
    await until(
      'the other worker takes the step',
      async () => (other.log().includes(`started  ${id} slow`) ? true : undefined),
      60_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    const run = await ended(id);
    expect(run.status, JSON.stringify(run.steps)).toBe('succeeded');
    const slow = run.steps.find((s: any) => s.name === 'slow');
    expect(slow.attempt).toBe(1);
    const out = await fetch(`${server.url}/api/v1/pipeline-runs/${id}/outputs/after/y`);
    expect((await out.text()).trim()).toBe(marker);
    // A replacement, so the next test has two workers again.
    await startWorker('w3');
  });

  it('never takes a long step from a live worker that keeps renewing its claim', async () => {
    const marker = `long-${randomUUID().slice(0, 8)}`;
    const definition = {
      name: marker,
      steps: { long: { run: `sleep ${LOCK_SECONDS * 3}; echo ok > {{outputs.o}}`, outputs: ['o'] } },
    };
    const started = await api('POST', '/pipeline-runs', { definition, executor: 'queue' });
    const run = await ended(started.run.id);
    expect(run.status).toBe('succeeded');
    const takers = workers.filter((w) => w.log().includes(`started  ${started.run.id} long`));
    expect(takers).toHaveLength(1);
    expect(run.steps[0].attempt).toBe(1);
  });

  it('finishes a run when Redis restarts (empty) in the middle of it', async () => {
    const marker = `redis-${randomUUID().slice(0, 8)}`;
    const definition = {
      name: marker,
      steps: {
        first: { run: `sleep 2; echo ${marker} > {{outputs.a}}`, outputs: ['a'] },
        second: {
          run: 'cat {{inputs.a}} > {{outputs.b}}',
          inputs: { a: 'steps.first.outputs.a' },
          outputs: ['b'],
        },
      },
    };
    const started = await api('POST', '/pipeline-runs', { definition, executor: 'queue' });
    const id = started.run.id as string;
    await until('a worker starts the first step', async () =>
      workers.some((w) => w.log().includes(`started  ${id} first`)) ? true : undefined,
    );
    restartRedis();
    const run = await ended(id, 120_000);
    expect(run.status, JSON.stringify(run.steps)).toBe('succeeded');
    const out = await fetch(`${server.url}/api/v1/pipeline-runs/${id}/outputs/second/b`);
    expect((await out.text()).trim()).toBe(marker);
  });
});

/** Stops the machine's Redis without saving and starts it again as the machine starts it. */
function restartRedis(): void {
  spawnSync('redis-cli', ['shutdown', 'nosave']);
  const started = spawnSync('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    '6379',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    '/var/lib/redis',
    '--logfile',
    '/var/log/redis/ci.log',
  ]);
  if (started.status !== 0) throw new Error(`redis-server did not start: ${started.stderr.toString()}`);
  for (let i = 0; i < 50; i++) {
    if (spawnSync('redis-cli', ['ping']).stdout.toString().includes('PONG')) return;
    spawnSync('sleep', ['0.1']);
  }
  throw new Error('redis did not come back');
}
