import type { AuditEvent as AuditEventJson } from '@cairn/contract';
import type { AuditEvent } from './audit-event.js';

/** An event as the API and the export send it: the same fields, details parsed. */
export function auditEventJson(event: AuditEvent): AuditEventJson {
  let details: unknown;
  try {
    details = JSON.parse(event.details);
  } catch {
    // A tampered row may hold anything; show it as stored rather than hide the event.
    details = event.details;
  }
  return {
    seq: event.seq,
    time: event.time,
    actor: event.actor,
    action: event.action,
    outcome: event.outcome,
    target: { kind: event.target.kind, id: event.target.id },
    projectId: event.projectId,
    requestId: event.requestId,
    details,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}
