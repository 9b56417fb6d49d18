import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import { canonicalJson, redactSecrets, type AuditDraft, type AuditEntry } from './audit-event.js';
import { currentCaller, SYSTEM_CALLER } from './caller.js';

/** The port every use case records its change through, inside its transaction. */
export interface AuditRecorder {
  record(entry: AuditEntry): void;
  /**
   * For work batched across callers (group commit): the draft was stamped with
   * its caller when the call arrived (`toDraft`), not when the batch commits.
   */
  recordDraft(draft: AuditDraft): void;
}

/** Part of the stores every transaction hands its use case. */
export interface AuditStores {
  audit: AuditRecorder;
}

/**
 * Collects a transaction's events, stamped with the caller and time when
 * recorded; the transactor chains and writes them just before commit, so the
 * chain's lock is held for as short a time as possible.
 */
export class PendingAuditEvents implements AuditRecorder {
  private readonly drafts: AuditDraft[] = [];

  constructor(private readonly clock: Clock) {}

  record(entry: AuditEntry): void {
    this.drafts.push(toDraft(entry, this.clock.now()));
  }

  recordDraft(draft: AuditDraft): void {
    this.drafts.push(draft);
  }

  get size(): number {
    return this.drafts.length;
  }

  drain(): AuditDraft[] {
    return this.drafts.splice(0, this.drafts.length);
  }
}

export function toDraft(entry: AuditEntry, time: number): AuditDraft {
  const caller = currentCaller() ?? SYSTEM_CALLER;
  const details = entry.details === undefined ? {} : redactSecrets(entry.details);
  return {
    time,
    actor: caller.actor,
    action: entry.action,
    outcome: entry.outcome ?? 'ok',
    target: { kind: entry.target.kind, id: entry.target.id },
    projectId: entry.projectId ?? null,
    requestId: caller.requestId ?? null,
    details: canonicalJson(details),
  };
}

/** Stores opened outside a transaction cannot record: a change must commit with its event. */
export const NO_AUDIT_OUTSIDE_TRANSACTION: AuditRecorder = {
  record(entry) {
    throw new CairnError('INTERNAL', `audit event ${entry.action} recorded outside a transaction`);
  },
  recordDraft(draft) {
    throw new CairnError('INTERNAL', `audit event ${draft.action} recorded outside a transaction`);
  },
};
