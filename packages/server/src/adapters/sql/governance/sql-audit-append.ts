import { sql, type Transaction } from 'kysely';
import { chainAuditEvents, type AuditDraft, type AuditEvent } from '../../../modules/governance/index.js';
import type { SqlHelpers } from '../database.js';
import type { Database } from '../schema.js';

const HEAD_ID = 1;

function flattenEvent(event: AuditEvent): readonly unknown[] {
  return [
    event.seq,
    event.time,
    event.actor,
    event.action,
    event.outcome,
    event.target.kind,
    event.target.id,
    event.projectId,
    event.requestId,
    event.details,
    event.prevHash,
    event.hash,
  ];
}

/** Rows per insert statement: 12 columns stay far under both dialects' parameter caps. */
const INSERT_CHUNK = 500;

/**
 * Chains a transaction's audit events onto the head and writes them, as the
 * transaction's last statements. The no-op update takes the head row's lock
 * (PostgreSQL; SQLite already holds its one writer lock), so concurrent
 * transactions append in commit order and never fork the chain; taking it
 * last keeps the serialised part down to these inserts and the commit. Every
 * write of a run pays for these three statements, so their SQL text is
 * compiled once and reused (`SqlHelpers.shapes`).
 */
export async function appendAuditEvents(
  trx: Transaction<Database>,
  helpers: SqlHelpers,
  drafts: readonly AuditDraft[],
): Promise<void> {
  if (drafts.length === 0) return;
  const locked = await helpers.shapes.execute(
    trx,
    { name: 'audit_head_lock', rows: [HEAD_ID], flatten: (id) => [id] },
    () =>
      trx
        .updateTable('audit_head')
        .set({ last_seq: sql`last_seq` })
        .where('id', '=', HEAD_ID)
        .returning(['last_seq', 'last_hash']),
  );
  const head = locked.rows[0] as { last_seq: number | string; last_hash: string } | undefined;
  if (head === undefined) throw new Error('audit_head row is missing; the governance migration did not run');
  const events = chainAuditEvents({ seq: Number(head.last_seq), hash: head.last_hash }, drafts);
  for (let start = 0; start < events.length; start += INSERT_CHUNK) {
    const rows = events.slice(start, start + INSERT_CHUNK);
    await helpers.shapes.execute(trx, { name: 'audit_events', rows, flatten: flattenEvent }, () =>
      trx.insertInto('audit_events').values(
        rows.map((event) => ({
          seq: event.seq,
          time_ms: event.time,
          actor: event.actor,
          action: event.action,
          outcome: event.outcome,
          target_kind: event.target.kind,
          target_id: event.target.id,
          project_id: event.projectId,
          request_id: event.requestId,
          details: event.details,
          prev_hash: event.prevHash,
          hash: event.hash,
        })),
      ),
    );
  }
  const last = events[events.length - 1]!;
  await helpers.shapes.execute(
    trx,
    { name: 'audit_head_move', rows: [last], flatten: (event) => [event.seq, event.hash, HEAD_ID] },
    () =>
      trx
        .updateTable('audit_head')
        .set({ last_seq: last.seq, last_hash: last.hash })
        .where('id', '=', HEAD_ID),
  );
}
