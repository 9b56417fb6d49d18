import { sql } from 'kysely';
import type { MetadataDatabase } from '../packages/server/src/adapters/sql/database.js';
import {
  chainAuditEvents,
  type AuditDraft,
  type AuditEvent,
} from '../packages/server/src/modules/governance/index.js';

const ACTIONS = ['runs.log_batch', 'runs.create', 'models.alias_set', 'experiments.create', 'runs.update'];

function draftAt(index: number, start: number): AuditDraft {
  return {
    time: start + index,
    actor: `user-${index % 17}`,
    action: ACTIONS[index % ACTIONS.length]!,
    outcome: index % 97 === 0 ? 'denied' : 'ok',
    target: { kind: 'run', id: `run-${(index * 2654435761) % 1_000_003}` },
    projectId: index % 5 === 0 ? 'default' : `project-${index % 7}`,
    requestId: `req-${index.toString(36)}`,
    details: `{"keys":["loss","acc"],"metrics":1000,"params":0,"step":${index}}`,
  };
}

async function insertSqlite(database: MetadataDatabase, events: readonly AuditEvent[]): Promise<void> {
  // 500 rows × 12 columns per statement; SQLite keeps the prepared statement by its text.
  for (let start = 0; start < events.length; start += 500) {
    await database.db
      .insertInto('audit_events')
      .values(
        events.slice(start, start + 500).map((e) => ({
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
        })),
      )
      .execute();
  }
}

async function insertPostgres(database: MetadataDatabase, events: readonly AuditEvent[]): Promise<void> {
  // One statement per chunk: twelve array parameters unnested into rows.
  const col = <T>(pick: (e: AuditEvent) => T): T[] => events.map(pick);
  await sql`insert into audit_events (seq, time_ms, actor, action, outcome, target_kind, target_id,
      project_id, request_id, details, prev_hash, hash)
    select * from unnest(${col((e) => e.seq)}::bigint[], ${col((e) => e.time)}::bigint[],
      ${col((e) => e.actor)}::text[], ${col((e) => e.action)}::text[], ${col((e) => e.outcome)}::text[],
      ${col((e) => e.target.kind)}::text[], ${col((e) => e.target.id)}::text[],
      ${col((e) => e.projectId)}::text[], ${col((e) => e.requestId)}::text[],
      ${col((e) => e.details)}::text[], ${col((e) => e.prevHash)}::text[], ${col((e) => e.hash)}::text[])`.execute(
    database.db,
  );
}

/**
 * Appends `count` chained events after the current head straight through SQL,
 * 100,000 per transaction (no HTTP, no services), and moves the head. The
 * events are shaped like real ones: a run target, a request id, a small JSON
 * details object.
 */
export async function fillAuditEvents(
  database: MetadataDatabase,
  options: { count: number; startTime?: number; onProgress?: (done: number) => void },
): Promise<{ lastSeq: number; lastHash: string }> {
  const startTime = options.startTime ?? Date.UTC(2026, 0, 1);
  const head = await database.db
    .selectFrom('audit_head')
    .select(['last_seq', 'last_hash'])
    .executeTakeFirstOrThrow();
  let tip = { seq: Number(head.last_seq), hash: head.last_hash };
  const perTransaction = 100_000;
  const perStatement = database.dialect === 'postgres' ? 10_000 : 20_000;
  for (let done = 0; done < options.count;) {
    const inThis = Math.min(perTransaction, options.count - done);
    await database.db.transaction().execute(async (trx) => {
      const scoped = { ...database, db: trx } as MetadataDatabase;
      for (let i = 0; i < inThis; i += perStatement) {
        const n = Math.min(perStatement, inThis - i);
        const drafts = Array.from({ length: n }, (_, k) => draftAt(done + i + k, startTime));
        const events = chainAuditEvents(tip, drafts);
        if (database.dialect === 'postgres') await insertPostgres(scoped, events);
        else await insertSqlite(scoped, events);
        const last = events[events.length - 1]!;
        tip = { seq: last.seq, hash: last.hash };
      }
      await trx
        .updateTable('audit_head')
        .set({ last_seq: tip.seq, last_hash: tip.hash })
        .where('id', '=', 1)
        .execute();
    });
    done += inThis;
    options.onProgress?.(done);
  }
  return { lastSeq: tip.seq, lastHash: tip.hash };
}
