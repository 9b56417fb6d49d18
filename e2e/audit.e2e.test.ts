import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODE_BY_CODE } from '../packages/contract/src/index.js';
import { openDatabase, type MetadataDatabase } from '../packages/server/src/adapters/sql/database.js';
import { chainAuditEvents, type AuditEvent } from '../packages/server/src/modules/governance/index.js';
import { createTestApp, type TestApp } from '../packages/server/src/testing/test-app.js';
import {
  createTestDatabaseUrl,
  isPostgresReachable,
  type TestDatabaseUrl,
} from '../packages/server/src/testing/test-databases.js';
import { envWithout, runCairn, type CairnResult } from './helpers.js';

// The audit trail as an auditor meets it: real API activity, then the stored
// chain tampered with through SQL, one way at a time; the server's verify and
// the built CLI reading the database directly must each name the first bad
// event. Needs `npm run build`.
const ADMIN_TOKEN = 'e2e-audit-admin-token-0123456789abcdef0123456789';
const DATA_LOSS = EXIT_CODE_BY_CODE.DATA_LOSS;
const dialects = (await isPostgresReachable()) ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

/** The CLI without CAIRN_TOKEN or CAIRN_URL from this shell: only what a test passes reaches it. */
const cairn = (args: string[], env: Record<string, string> = {}): Promise<CairnResult> =>
  runCairn(args, { env: envWithout(['CAIRN_TOKEN', 'CAIRN_URL'], env), timeoutMs: 60_000 });

/** The stored chain as rows, to tamper with and to put back exactly. */
interface Snapshot {
  rows: Array<Record<string, unknown>>;
  head: Record<string, unknown>;
}

async function snapshot(database: MetadataDatabase): Promise<Snapshot> {
  const rows = await database.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
  const head = await database.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
  return { rows, head };
}

async function restore(database: MetadataDatabase, saved: Snapshot): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('audit_events').execute();
    await trx
      .insertInto('audit_events')
      .values(saved.rows as never)
      .execute();
    await trx
      .updateTable('audit_head')
      .set(saved.head as never)
      .where('id', '=', 1)
      .execute();
  });
}

const rowEvent = (row: Record<string, unknown>): AuditEvent => ({
  seq: Number(row['seq']),
  time: Number(row['time_ms']),
  actor: String(row['actor']),
  action: String(row['action']),
  outcome: row['outcome'] as AuditEvent['outcome'],
  target: { kind: String(row['target_kind']), id: String(row['target_id']) },
  projectId: (row['project_id'] as string | null) ?? null,
  requestId: (row['request_id'] as string | null) ?? null,
  details: String(row['details']),
  prevHash: String(row['prev_hash']),
  hash: String(row['hash']),
});

const eventRow = (e: AuditEvent) => ({
  seq: e.seq,
  time_ms: e.time,
  actor: e.actor,
  action: e.action,
  outcome: e.outcome,
  target_kind: e.target.kind,
  target_id: e.target.id,
  project_id: e.projectId,
  request_id: e.requestId,
  details: e.details,
  prev_hash: e.prevHash,
  hash: e.hash,
});

describe.each(dialects)('the audit trail, tampered with [%s]', (dialect) => {
  let target: TestDatabaseUrl;
  let database: MetadataDatabase;
  let t: TestApp;
  let saved: Snapshot;
  let url: string;
  let workDir: string;
  let lastSeq: number;
  /** A seq in the middle of the chain, after the checkpoint below. */
  let k: number;
  let checkpointSeq: number;

  const api = async (method: 'GET' | 'POST', route: string, payload?: unknown) => {
    const response = await t.app.inject({
      method,
      url: route,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.body === '' ? undefined : JSON.parse(response.body);
  };
  const cli = (...args: string[]) => cairn([...args, '--url', url], { CAIRN_TOKEN: ADMIN_TOKEN });

  beforeAll(async () => {
    target = await createTestDatabaseUrl(dialect);
    database = openDatabase(target.url);
    await database.migrate();
    // No scheduled checkpoints: the counts below are the ones this test makes, however slow the run.
    t = await createTestApp(database, {
      env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN, CAIRN_AUDIT_CHECKPOINT_MINUTES: '0' },
    });
    workDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-audit-'));
    // Real activity through the MLflow API: an experiment, runs, batches of metrics and params.
    const mlflow = '/api/2.0/mlflow';
    const { experiment_id } = await api('POST', `${mlflow}/experiments/create`, { name: 'churn' });
    for (let r = 0; r < 3; r++) {
      const { run } = await api('POST', `${mlflow}/runs/create`, { experiment_id, start_time: 1 });
      await api('POST', `${mlflow}/runs/log-batch`, {
        run_id: run.info.run_id,
        params: [{ key: 'lr', value: String(r) }],
        metrics: [{ key: 'auc', value: 0.8 + r / 100, timestamp: 1, step: 0 }],
        tags: [],
      });
      await api('POST', `${mlflow}/runs/set-tag`, { run_id: run.info.run_id, key: 'team', value: 'risk' });
    }
    checkpointSeq = (await api('POST', '/api/v1/audit/checkpoints')).seq;
    for (const name of ['alice', 'bob', 'carol', 'dave']) await api('POST', '/api/v1/users', { name });
    await api('POST', `${mlflow}/experiments/create`, { name: 'fraud' });
    saved = await snapshot(database);
    lastSeq = saved.rows.length;
    k = checkpointSeq + 2;
    expect(lastSeq).toBeGreaterThan(k + 3);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
    await target?.drop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const where = (seq: number) => sql`where seq = ${seq}`;
  const update = (column: string, value: unknown, seq: number) =>
    sql`update audit_events set ${sql.ref(column)} = ${value} ${where(seq)}`.execute(database.db);

  /** Each way of tampering, and the first problem it must be reported as. */
  const cases: Array<[string, () => Promise<void>, () => { seq: number; kind: string }]> = [
    ...(
      [
        ['time_ms', () => 1],
        ['actor', () => 'mallory'],
        ['action', () => 'runs.delete'],
        ['outcome', () => 'denied'],
        ['target_kind', () => 'model'],
        ['target_id', () => 'someone-else'],
        ['project_id', () => 'other-project'],
        ['request_id', () => 'forged-request'],
        ['details', () => '{"forged":true}'],
        ['prev_hash', () => 'f'.repeat(64)],
        ['hash', () => 'a'.repeat(64)],
      ] as const
    ).map(
      ([column, value]) =>
        [
          `${column} changed`,
          () => update(column, value(), k).then(() => undefined),
          () => ({ seq: k, kind: 'modified' }),
        ] as [string, () => Promise<void>, () => { seq: number; kind: string }],
    ),
    [
      'seq changed',
      () => update('seq', 10_000, k).then(() => undefined),
      () => ({ seq: k, kind: 'modified' }),
    ],
    [
      'one event deleted',
      async () => void (await sql`delete from audit_events ${where(k)}`.execute(database.db)),
      () => ({ seq: k, kind: 'deleted' }),
    ],
    [
      'two events swapped',
      async () => {
        await update('seq', -1, k);
        await update('seq', k, k + 3);
        await update('seq', k + 3, -1);
      },
      () => ({ seq: k, kind: 'reordered' }),
    ],
    [
      'one event inserted in the middle, later ones moved up',
      async () => {
        await sql`update audit_events set seq = seq + 100000 where seq >= ${k}`.execute(database.db);
        await sql`update audit_events set seq = seq - 99999 where seq >= ${100000 + k}`.execute(database.db);
        const before = rowEvent(saved.rows[k - 2]!);
        const [forged] = chainAuditEvents({ seq: k - 1, hash: before.hash }, [
          { ...rowEvent(saved.rows[k - 1]!), actor: 'mallory' },
        ]);
        await database.db.insertInto('audit_events').values(eventRow(forged!)).execute();
      },
      () => ({ seq: k, kind: 'inserted' }),
    ],
    [
      'one event appended past the head',
      async () => {
        const last = rowEvent(saved.rows[lastSeq - 1]!);
        const [forged] = chainAuditEvents({ seq: last.seq, hash: last.hash }, [
          { ...last, actor: 'mallory' },
        ]);
        await database.db.insertInto('audit_events').values(eventRow(forged!)).execute();
      },
      () => ({ seq: lastSeq + 1, kind: 'inserted' }),
    ],
    [
      'the tail cut off',
      async () => void (await sql`delete from audit_events where seq > ${lastSeq - 3}`.execute(database.db)),
      () => ({ seq: lastSeq - 2, kind: 'deleted' }),
    ],
    [
      'audit_head last_hash edited',
      async () => void (await sql`update audit_head set last_hash = ${'b'.repeat(64)}`.execute(database.db)),
      () => ({ seq: lastSeq, kind: 'modified' }),
    ],
    [
      'audit_head moved back one event',
      async () => void (await sql`update audit_head set last_seq = last_seq - 1`.execute(database.db)),
      () => ({ seq: lastSeq - 1, kind: 'modified' }),
    ],
    [
      'audit_head moved forward',
      async () => void (await sql`update audit_head set last_seq = last_seq + 5`.execute(database.db)),
      () => ({ seq: lastSeq + 1, kind: 'deleted' }),
    ],
    [
      'the chain rewritten with fresh hashes from an event before the signed checkpoint',
      async () => {
        const events = saved.rows.map(rowEvent);
        const from = checkpointSeq - 1;
        const rewritten = chainAuditEvents({ seq: from - 1, hash: events[from - 2]!.hash }, [
          { ...events[from - 1]!, actor: 'mallory' },
          ...events.slice(from),
        ]);
        await sql`delete from audit_events where seq >= ${from}`.execute(database.db);
        await database.db.insertInto('audit_events').values(rewritten.map(eventRow)).execute();
        const last = rewritten[rewritten.length - 1]!;
        await sql`update audit_head set last_hash = ${last.hash}`.execute(database.db);
      },
      () => ({ seq: checkpointSeq, kind: 'modified' }),
    ],
  ];

  it.each(cases)(
    '%s: named by the server and by `cairn audit verify --db-url`',
    async (_what, tamper, expected) => {
      await tamper();
      try {
        const problem = expected();
        const answer = await api('GET', '/api/v1/audit/verify');
        expect(answer.ok).toBe(false);
        expect(answer.problem).toMatchObject(problem);

        const direct = await cairn(['audit', 'verify', '--db-url', target.url]);
        expect(direct.code, direct.stderr).toBe(DATA_LOSS);
        expect(direct.stdout).toContain(`Audit trail BROKEN at event ${problem.seq}: ${problem.kind}`);
        const json = await cairn(['audit', 'verify', '--db-url', target.url, '--json']);
        expect(json.code).toBe(DATA_LOSS);
        expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problem });
      } finally {
        await restore(database, saved);
      }
      expect(await api('GET', '/api/v1/audit/verify')).toMatchObject({ ok: true });
    },
  );

  it('passes the untouched chain directly, read-only, with the signed checkpoint', async () => {
    const pemFile = path.join(workDir, 'server.pem');
    const key = await cli('audit', 'public-key');
    expect(key.code, key.stderr).toBe(0);
    expect(key.stderr).toMatch(/^Ed25519 key [0-9a-f]{16}/);
    writeFileSync(pemFile, key.stdout);
    const before = await snapshot(database);
    const direct = await cairn([
      'audit',
      'verify',
      '--db-url',
      target.url,
      '--public-key',
      pemFile,
      '--json',
    ]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(JSON.parse(direct.stdout)).toMatchObject({ ok: true, events: lastSeq, checkpoints: 1 });
    expect(await snapshot(database)).toEqual(before);
    if (dialect === 'sqlite') {
      const dir = path.dirname(target.url.slice('sqlite:'.length));
      const viaDataDir = await cairn(['audit', 'verify', '--data-dir', dir]);
      expect(viaDataDir.code, viaDataDir.stderr).toBe(0);
      expect(viaDataDir.stdout).toContain(`Audit trail intact: ${lastSeq} events checked`);
    }
    const forgedKey = path.join(workDir, 'other.pem');
    writeFileSync(
      forgedKey,
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    // Another key does not sign this server's checkpoints: they are skipped, not failed.
    const other = await cairn([
      'audit',
      'verify',
      '--db-url',
      target.url,
      '--public-key',
      forgedKey,
      '--json',
    ]);
    expect(JSON.parse(other.stdout)).toMatchObject({ ok: true, checkpoints: 0 });
  });

  it('exports over HTTP to a file that verifies offline, and names tampering in it', async () => {
    const file = path.join(workDir, 'audit.jsonl');
    const pemFile = path.join(workDir, 'server.pem');
    writeFileSync(pemFile, (await cli('audit', 'public-key')).stdout);
    const exported = await cli('audit', 'export', '-o', file);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/Exported \d+ events \(to seq \d+\) to .*audit\.jsonl, signed by key/);
    const offline = await cairn(['audit', 'verify', '--file', file, '--public-key', pemFile]);
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/Audit trail intact: \d+ events checked/);
    expect(offline.stdout).toContain('(the public key you gave)');

    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const event = JSON.parse(lines[3]!);
    lines[3] = JSON.stringify({ ...event, actor: 'mallory' });
    const tampered = path.join(workDir, 'tampered.jsonl');
    writeFileSync(tampered, `${lines.join('\n')}\n`);
    const caught = await cairn(['audit', 'verify', '--file', tampered, '--public-key', pemFile]);
    expect(caught.code).toBe(DATA_LOSS);
    expect(caught.stdout).toContain(`Audit trail BROKEN at event ${event.seq}: modified`);

    const otherKey = path.join(workDir, 'other.pem');
    writeFileSync(
      otherKey,
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    const wrongKey = await cairn(['audit', 'verify', '--file', file, '--public-key', otherKey, '--json']);
    expect(wrongKey.code).toBe(DATA_LOSS);
    expect(JSON.parse(wrongKey.stdout).problem).toMatchObject({ kind: 'signature' });
  });

  it('lists, checkpoints and refuses to prune young events from the CLI', async () => {
    const listed = await cli(
      'audit',
      'ls',
      '--action',
      'runs.',
      '--order',
      'asc',
      '--limit',
      '1000',
      '--json',
    );
    expect(listed.code, listed.stderr).toBe(0);
    const events = JSON.parse(listed.stdout).events as Array<{ action: string }>;
    expect(events.length).toBeGreaterThan(5);
    expect(events.every((e) => e.action.startsWith('runs.'))).toBe(true);
    const table = await cli('audit', 'ls', '--target', 'user:alice');
    expect(table.stdout).toMatch(/SEQ\s+TIME\s+ACTOR\s+ACTION/);
    expect(table.stdout).toContain('users.create');
    const bad = await cli('audit', 'ls', '--since', 'last tuesday');
    expect(bad.code).toBe(EXIT_CODE_BY_CODE.INVALID_ARGUMENT);
    expect((await cli('audit', 'checkpoint')).stdout).toMatch(/Signed checkpoint at seq \d+/);
    const prune = await cli('audit', 'prune', '--older-than-days', '10');
    expect(prune.code).toBe(EXIT_CODE_BY_CODE.FAILED_PRECONDITION);
    expect(prune.stderr).toContain('never deleted');
    const verified = await cli('audit', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/Audit trail intact: \d+ events checked .* 2 signed checkpoints matched/);
  });
});
