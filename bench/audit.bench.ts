/**
 * Issue #4: `cairn audit verify` over 1,000,000 events, target < 10 s.
 *
 * Per dialect, on a fresh database: 1,000,000 chained events are written
 * straight through SQL in 100,000-event transactions (no HTTP), then the
 * whole chain is verified
 *   - by the store function (`verifyAuditStore`, what `--db-url` runs), in-process;
 *   - by `cairn audit verify --db-url URL`, the built CLI as a child process,
 *     end to end (process start, read-only open, check, print);
 *   - by `cairn audit verify` against a running `cairn server` (the server's
 *     own store path, over HTTP);
 * and once more after one event near the end is changed, to show the check
 * is real. Rounds per figure: the median is reported.
 *
 *   node --import tsx bench/audit.bench.ts [--dialect sqlite|postgres|both] [--events 1000000] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { openDatabase } from '../packages/server/src/adapters/sql/database.js';
import { verifyAuditStore } from '../packages/server/src/audit-store-verify.js';
import { fillAuditEvents } from './audit-fill.js';
import { dialectsFrom, pgSchemaUrl, REPO, saveFigures, startCairn, type BenchDialect } from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'both' },
    events: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
  },
});
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const CLI = path.join(REPO, 'packages/cli/bin/cairn.js');
const run = promisify(execFile);

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** `cairn audit verify …` as a user runs it; resolves with the parsed --json result and the exit code. */
async function cliVerify(args: string[]): Promise<{ code: number; result: { ok: boolean; events: number } }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', ...args, '--json'], {
      maxBuffer: 1 << 20,
      timeout: 300_000,
    });
    return { code: 0, result: JSON.parse(stdout) };
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    return { code: e.code ?? -1, result: JSON.parse(e.stdout ?? '{}') };
  }
}

async function measure(dialect: BenchDialect): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-audit-'));
  const target =
    dialect === 'sqlite'
      ? { url: `sqlite:${path.join(dataDir, 'cairn.db')}`, drop: async () => undefined }
      : await pgSchemaUrl('audit');
  const database = openDatabase(target.url);
  const figures: Record<string, number> = { events: EVENTS };
  try {
    await database.migrate();
    const fill = await timed(() =>
      fillAuditEvents(database, {
        count: EVENTS,
        onProgress: (done) => process.stderr.write(`\r[${dialect}] filled ${done.toLocaleString()} events`),
      }),
    );
    process.stderr.write('\n');
    figures['fill_events_per_s'] = EVENTS / (fill.ms / 1000);
    if (dialect === 'postgres') await sql`analyze audit_events`.execute(database.db);

    const store: number[] = [];
    const cli: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const direct = await timed(() => verifyAuditStore({ dbUrl: target.url }));
      if (!direct.value.ok || direct.value.events !== EVENTS) throw new Error(JSON.stringify(direct.value));
      store.push(direct.ms);
      const child = await timed(() => cliVerify(['--db-url', target.url]));
      if (child.value.code !== 0 || child.value.result.events !== EVENTS)
        throw new Error(JSON.stringify(child.value));
      cli.push(child.ms);
      console.log(
        `[${dialect}] round ${round + 1}: store ${Math.round(direct.ms)} ms, cli --db-url ${Math.round(child.ms)} ms`,
      );
    }
    figures['verify_store_ms'] = median(store);
    figures['verify_cli_db_url_ms'] = median(cli);

    const server = await startCairn({ dbUrl: target.url, dataDir });
    try {
      const viaServer: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const answer = await timed(() => cliVerify(['--url', server.url]));
        // The server's own start-up writes nothing to the audit trail; count what it holds.
        if (answer.value.code !== 0 || answer.value.result.events < EVENTS) {
          throw new Error(JSON.stringify(answer.value));
        }
        viaServer.push(answer.ms);
        console.log(`[${dialect}] round ${round + 1}: cli against the server ${Math.round(answer.ms)} ms`);
      }
      figures['verify_cli_server_ms'] = median(viaServer);
    } finally {
      await server.stop();
    }

    // One event near the end changed: found, named, and the exit code says so.
    const victim = EVENTS - 10;
    await sql`update audit_events set actor = 'mallory' where seq = ${victim}`.execute(database.db);
    const tampered = await timed(() => cliVerify(['--db-url', target.url]));
    const problem = (tampered.value.result as { problem?: { seq: number; kind: string } }).problem;
    if (tampered.value.code !== 12 || problem?.seq !== victim || problem.kind !== 'modified') {
      throw new Error(`tampering at ${victim} was not reported: ${JSON.stringify(tampered.value)}`);
    }
    figures['verify_cli_tampered_ms'] = tampered.ms;
    console.log(`[${dialect}] tampered event ${victim} found in ${Math.round(tampered.ms)} ms`);
    return figures;
  } finally {
    await database.close();
    await target.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results: Record<string, Record<string, number>> = {};
for (const dialect of dialectsFrom(values.dialect)) results[dialect] = await measure(dialect);
saveFigures('audit', results);
