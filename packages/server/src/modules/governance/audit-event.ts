import { createHash } from 'node:crypto';

/** The hash the chain starts from. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'ok' | 'denied';

export interface AuditTarget {
  readonly kind: string;
  readonly id: string;
}

/** What a use case says about its change; the recorder adds who, when and the chain. */
export interface AuditEntry {
  /** `<noun>.<verb>`, e.g. `runs.log_batch`, `models.alias_set`. */
  readonly action: string;
  readonly target: AuditTarget;
  readonly projectId?: string | null | undefined;
  /** The changed fields. Never secrets: keys that look like one are redacted on record. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  readonly outcome?: AuditOutcome | undefined;
}

/** An event ready to be chained: everything but seq and hashes. */
export interface AuditDraft {
  readonly time: number;
  readonly actor: string;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly target: AuditTarget;
  readonly projectId: string | null;
  readonly requestId: string | null;
  /** Canonical JSON text of the details, hashed as stored. */
  readonly details: string;
}

export interface AuditEvent extends AuditDraft {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * JSON with object keys sorted at every level, no whitespace: one text per
 * value, so a hash over it means the same on every machine.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The canonical JSON of an event without its own hash, written out by hand in
 * sorted key order so verifying a million events does not re-sort a million
 * objects. Equal to `canonicalJson` of the same fields (a test holds it to that).
 */
export function auditHashInput(event: Omit<AuditEvent, 'hash'>): string {
  const s = JSON.stringify;
  return (
    `{"action":${s(event.action)},"actor":${s(event.actor)},"details":${event.details}` +
    `,"outcome":${s(event.outcome)},"prevHash":${s(event.prevHash)},"projectId":${s(event.projectId)}` +
    `,"requestId":${s(event.requestId)},"seq":${s(event.seq)},"targetId":${s(event.target.id)}` +
    `,"targetKind":${s(event.target.kind)},"time":${s(event.time)}}`
  );
}

export function auditEventHash(event: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256').update(auditHashInput(event)).digest('hex');
}

/** Links drafts onto the chain after `(seq, hash)`. */
export function chainAuditEvents(
  head: { seq: number; hash: string },
  drafts: readonly AuditDraft[],
): AuditEvent[] {
  let seq = head.seq;
  let prevHash = head.hash;
  return drafts.map((draft) => {
    seq += 1;
    const unhashed = { ...draft, seq, prevHash };
    const hash = auditEventHash(unhashed);
    prevHash = hash;
    return { ...unhashed, hash };
  });
}

const SECRET_KEY = /secret|password|passwd|token(?!_?id|_?name|s?_?count)|authorization|api_?key|private/i;

/** Defence in depth: whatever a use case passes, values under secret-looking keys never reach the log. */
export function redactSecrets(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEY.test(k) ? '[redacted]' : redactSecrets(v),
    ]),
  );
}
