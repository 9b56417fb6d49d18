import { sql, type Transaction } from 'kysely';
import { chainAuditEvents, type AuditDraft } from '../../../modules/governance/index.js';
import type { Database } from '../schema.js';

/** Rows per insert statement: 12 columns stay far under both dialects' parameter caps. */
const INSERT_CHUNK = 500;

/**
 * Chains a transaction's audit events onto the head and writes them, as the
 * transaction's last statements. The no-op update takes the head row's lock
 * (PostgreSQL; SQLite already holds its one writer lock), so concurrent
 * transactions append in commit order and never fork the chain; taking it
 * last keeps the serialised part down to these inserts and the commit.
 */
export async function appendAuditEvents(
  trx: Transaction<Database>,
  drafts: readonly AuditDraft[],
): Promise<void> {
  if (drafts.length === 0) return;
  const head = await trx
    .updateTable('audit_head')
    .set({ last_seq: sql`last_seq` })
    .where('id', '=', 1)
    .returning(['last_seq', 'last_hash'])
    .executeTakeFirstOrThrow();
  const events = chainAuditEvents({ seq: Number(head.last_seq), hash: head.last_hash }, drafts);
  for (let start = 0; start < events.length; start += INSERT_CHUNK) {
    await trx
      .insertInto('audit_events')
      .values(
        events.slice(start, start + INSERT_CHUNK).map((event) => ({
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
      )
      .execute();
  }
  const last = events[events.length - 1]!;
  await trx
    .updateTable('audit_head')
    .set({ last_seq: last.seq, last_hash: last.hash })
    .where('id', '=', 1)
    .execute();
}
