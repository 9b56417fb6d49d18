import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type {
  AuditChainSource,
  AuditCheckpoint,
  AuditEvent,
  AuditHead,
} from '../../../modules/governance/index.js';

/**
 * The audit chain read straight through the drivers, rows as arrays: a
 * million-event check spends its time hashing, not building row objects for
 * a query builder. Same rows, same order as SqlAuditStore.scan.
 */
const EVENT_COLUMNS =
  'seq, time_ms, actor, action, outcome, target_kind, target_id, project_id, request_id, details, prev_hash, hash';
const PAGE_SIZE = 2_000;

type Row = unknown[];

function eventOf(row: Row): AuditEvent {
  return {
    seq: Number(row[0]),
    time: Number(row[1]),
    actor: row[2] as string,
    action: row[3] as string,
    // Verbatim: a tampered value must hash as stored.
    outcome: row[4] as AuditEvent['outcome'],
    target: { kind: row[5] as string, id: row[6] as string },
    projectId: row[7] as string | null,
    requestId: row[8] as string | null,
    details: row[9] as string,
    prevHash: row[10] as string,
    hash: row[11] as string,
  };
}

function headOf(row: Row | undefined): AuditHead {
  if (row === undefined) throw new Error('audit_head has no row: this is not a Cairn database');
  return {
    lastSeq: Number(row[0]),
    lastHash: row[1] as string,
    firstSeq: Number(row[2]),
    anchorHash: row[3] as string,
  };
}

const checkpointOf = (row: Row): AuditCheckpoint => ({
  seq: Number(row[0]),
  hash: row[1] as string,
  time: Number(row[2]),
  keyId: row[3] as string,
  signature: row[4] as string,
});

const HEAD_SQL = 'select last_seq, last_hash, first_seq, anchor_hash from audit_head where id = 1';
const CHECKPOINTS_SQL = 'select seq, hash, time_ms, key_id, signature from audit_checkpoints order by seq';

export function sqliteAuditSource(sqlite: BetterSqlite3.Database): AuditChainSource {
  return {
    head: async () => headOf(sqlite.prepare(HEAD_SQL).raw(true).get() as Row | undefined),
    listCheckpoints: async () => (sqlite.prepare(CHECKPOINTS_SQL).raw(true).all() as Row[]).map(checkpointOf),
    async *scan(options = {}) {
      const page = sqlite
        .prepare(`select ${EVENT_COLUMNS} from audit_events where seq > ? order by seq limit ?`)
        .raw(true);
      const size = options.pageSize ?? PAGE_SIZE;
      let after = (options.fromSeq ?? Number.MIN_SAFE_INTEGER + 1) - 1;
      for (;;) {
        const rows = page.all(after, size) as Row[];
        if (rows.length === 0) return;
        const events = rows.map(eventOf);
        yield events;
        if (rows.length < size) return;
        after = events[events.length - 1]!.seq;
      }
    },
  };
}

export function postgresAuditSource(pool: pg.Pool): AuditChainSource {
  const rows = async (text: string, values: unknown[] = []): Promise<Row[]> =>
    (await pool.query<Row>({ text, values, rowMode: 'array' })).rows;
  return {
    head: async () => headOf((await rows(HEAD_SQL))[0]),
    listCheckpoints: async () => (await rows(CHECKPOINTS_SQL)).map(checkpointOf),
    async *scan(options = {}) {
      const size = options.pageSize ?? PAGE_SIZE;
      let after = (options.fromSeq ?? Number.MIN_SAFE_INTEGER + 1) - 1;
      for (;;) {
        const page = await rows(
          `select ${EVENT_COLUMNS} from audit_events where seq > $1 order by seq limit $2`,
          [after, size],
        );
        if (page.length === 0) return;
        const events = page.map(eventOf);
        yield events;
        if (page.length < size) return;
        after = events[events.length - 1]!.seq;
      }
    },
  };
}
