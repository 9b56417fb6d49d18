import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type {
  AuditCheckpoint,
  AuditEvent,
  AuditHead,
  AuditQuery,
  AuditStore,
} from '../../../modules/governance/index.js';
import type { AuditEventsTable, Database } from '../schema.js';

export function toAuditEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    seq: Number(row.seq),
    time: Number(row.time_ms),
    actor: row.actor,
    action: row.action,
    outcome: row.outcome === 'denied' ? 'denied' : 'ok',
    target: { kind: row.target_kind, id: row.target_id },
    projectId: row.project_id,
    requestId: row.request_id,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** An event read back must hash exactly as written, so outcome is kept verbatim for verification. */
function toRawAuditEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return { ...toAuditEvent(row), outcome: row.outcome as AuditEvent['outcome'] };
}

export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: Kysely<Database> | Transaction<Database>) {}

  async head(): Promise<AuditHead> {
    const row = await this.db
      .selectFrom('audit_head')
      .selectAll()
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return {
      lastSeq: Number(row.last_seq),
      lastHash: row.last_hash,
      firstSeq: Number(row.first_seq),
      anchorHash: row.anchor_hash,
    };
  }

  async query(query: AuditQuery): Promise<AuditEvent[]> {
    let q = this.db.selectFrom('audit_events').selectAll();
    if (query.targetKind !== undefined) q = q.where('target_kind', '=', query.targetKind);
    if (query.targetId !== undefined) q = q.where('target_id', '=', query.targetId);
    if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
    if (query.action !== undefined) {
      const action = query.action;
      q = action.endsWith('.')
        ? q.where(sql<boolean>`substr(action, 1, ${action.length}) = ${action}`)
        : q.where('action', '=', action);
    }
    if (query.outcome !== undefined) q = q.where('outcome', '=', query.outcome);
    if (query.projectIds !== undefined) {
      if (query.projectIds.length === 0) return [];
      q = q.where('project_id', 'in', [...query.projectIds]);
    }
    if (query.since !== undefined) q = q.where('time_ms', '>=', query.since);
    if (query.until !== undefined) q = q.where('time_ms', '<', query.until);
    if (query.afterSeq !== undefined) q = q.where('seq', '>', query.afterSeq);
    if (query.beforeSeq !== undefined) q = q.where('seq', '<', query.beforeSeq);
    const rows = await q.orderBy('seq', query.order).limit(query.limit).execute();
    return rows.map(toAuditEvent);
  }

  async *scan(options: { fromSeq?: number; pageSize?: number } = {}): AsyncIterable<AuditEvent[]> {
    const pageSize = options.pageSize ?? 20_000;
    let after = (options.fromSeq ?? 1) - 1;
    for (;;) {
      const rows = await this.db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(pageSize)
        .execute();
      if (rows.length === 0) return;
      const events = rows.map(toRawAuditEvent);
      yield events;
      after = events[events.length - 1]!.seq;
      if (rows.length < pageSize) return;
    }
  }

  async prune(options: { before: number; maxSeq: number }): Promise<number> {
    // Only the contiguous oldest prefix goes: an event is never deleted while an
    // older-seq one younger than `before` would have to stay, so the minimum
    // retention holds even where commit order and clock order differ slightly.
    const firstKept = await this.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.min('seq').as('seq'))
      .where('time_ms', '>=', options.before)
      .executeTakeFirst();
    const keptSeq =
      firstKept?.seq === null || firstKept?.seq === undefined ? undefined : Number(firstKept.seq);
    const cutoff = Math.min(options.maxSeq, keptSeq === undefined ? options.maxSeq : keptSeq - 1);
    const last = await this.db
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .where('seq', '<=', cutoff)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (last === undefined) return 0;
    const result = await this.db
      .deleteFrom('audit_events')
      .where('seq', '<=', Number(last.seq))
      .executeTakeFirst();
    await this.db
      .updateTable('audit_head')
      .set({ first_seq: Number(last.seq) + 1, anchor_hash: last.hash })
      .where('id', '=', 1)
      .execute();
    return Number(result.numDeletedRows);
  }

  async insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    await this.db
      .insertInto('audit_checkpoints')
      .values({
        seq: checkpoint.seq,
        hash: checkpoint.hash,
        time_ms: checkpoint.time,
        key_id: checkpoint.keyId,
        signature: checkpoint.signature,
      })
      .onConflict((oc) => oc.column('seq').doNothing())
      .execute();
  }

  async listCheckpoints(): Promise<AuditCheckpoint[]> {
    const rows = await this.db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
    return rows.map((row) => ({
      seq: Number(row.seq),
      hash: row.hash,
      time: Number(row.time_ms),
      keyId: row.key_id,
      signature: row.signature,
    }));
  }
}
