import {
  AUDIT_LIMITS,
  CairnError,
  type AuditCheckpoint as AuditCheckpointJson,
  type AuditEventList,
  type AuditPruneResult,
  type AuditPublicKey,
} from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import { checkTime } from '../../kernel/time-input.js';
import type { Transactor } from '../../kernel/transactor.js';
import { deniedError, type AccessControl } from './access-control.js';
import { auditEventJson } from './audit-json.js';
import type { AuditStores } from './audit-recorder.js';
import { checkpointSignatureError, type AuditSigner } from './audit-signing.js';
import { verifyAuditChain, type AuditVerifyResult } from './audit-verify.js';
import type { AuditQuery } from './entities.js';
import type { AuditStore } from './governance.store.js';
import { rolesGrant } from './roles.js';

export type AuditTransactionStores = { auditLog: AuditStore } & AuditStores;

export interface AuditServiceDeps {
  /** For reads outside a transaction. */
  log: AuditStore;
  transactor: Transactor<AuditTransactionStores>;
  access: AccessControl;
  clock: Clock;
  signer: AuditSigner;
  /** Events younger than this are never deleted, whoever asks. */
  minRetentionDays: number;
}

/** What `cairn audit ls` and `GET /api/v1/audit/events` filter by; everything optional. */
export interface AuditQueryInput {
  target?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  outcome?: string | undefined;
  projectId?: string | undefined;
  since?: string | number | undefined;
  until?: string | number | undefined;
  order?: 'asc' | 'desc' | undefined;
  limit?: number | undefined;
  pageToken?: string | undefined;
}

export interface AuditExport {
  /** The events exported: from `firstSeq` through `lastSeq`. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** JSON lines, a page of events per chunk, then the signed checkpoint line. */
  readonly lines: AsyncIterable<string>;
}

const DAY_MS = 86_400_000;
const CHAIN = { kind: 'audit', id: 'chain' } as const;
const EXPORT_PAGE = 5_000;

function checkFilterText(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  // NUL too: PostgreSQL text cannot hold it, so the query would fail with a 500.
  if (value === '' || value.length > 512 || value.includes('\u0000')) {
    throw new CairnError('INVALID_ARGUMENT', `${field}: must be 1 to 512 characters, without NUL`, { field });
  }
  return value;
}

const encodeToken = (order: 'asc' | 'desc', seq: number): string =>
  Buffer.from(JSON.stringify({ o: order, s: seq })).toString('base64url');

function decodeToken(token: string, order: 'asc' | 'desc'): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      o?: unknown;
      s?: unknown;
    };
    if (parsed.o === order && typeof parsed.s === 'number' && Number.isSafeInteger(parsed.s)) return parsed.s;
  } catch {
    // reported below
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    'pageToken: not a token this query returned (was the order changed?); start again without it',
    { field: 'pageToken' },
  );
}

/**
 * The audit trail's read side: query with visibility by role, chain
 * verification, signed checkpoints, export and retention. Appending happens
 * in every use case's own transaction (see audit-recorder.ts).
 */
export class AuditService {
  constructor(private readonly deps: AuditServiceDeps) {}

  /**
   * Server admins see every event; a project admin sees the events of the
   * projects they administer (never server-wide ones such as users and
   * tokens); anyone else is refused.
   */
  async query(input: AuditQueryInput = {}): Promise<AuditEventList> {
    const projectIds = this.visibleProjects(checkFilterText(input.projectId, 'projectId'));
    const order = input.order ?? 'desc';
    const limit = input.limit ?? AUDIT_LIMITS.defaultEvents;
    if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_LIMITS.maxEvents) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `limit: must be a whole number from 1 to ${AUDIT_LIMITS.maxEvents}`,
        {
          field: 'limit',
        },
      );
    }
    const target = checkFilterText(input.target, 'target');
    const colon = target?.indexOf(':') ?? -1;
    const outcome = input.outcome;
    if (outcome !== undefined && outcome !== 'ok' && outcome !== 'denied') {
      throw new CairnError('INVALID_ARGUMENT', 'outcome: must be ok or denied', { field: 'outcome' });
    }
    const query: AuditQuery = {
      targetKind: target === undefined ? undefined : colon < 0 ? target : target.slice(0, colon),
      targetId: target === undefined || colon < 0 ? undefined : target.slice(colon + 1),
      actor: checkFilterText(input.actor, 'actor'),
      action: checkFilterText(input.action, 'action'),
      outcome,
      projectIds,
      since: input.since === undefined ? undefined : checkTime(input.since, 'since'),
      until: input.until === undefined ? undefined : checkTime(input.until, 'until'),
      order,
      limit: limit + 1,
      ...(input.pageToken === undefined
        ? {}
        : order === 'asc'
          ? { afterSeq: decodeToken(input.pageToken, order) }
          : { beforeSeq: decodeToken(input.pageToken, order) }),
    };
    const found = await this.deps.log.query(query);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return {
      events: page.map(auditEventJson),
      ...(found.length > limit && last !== undefined ? { nextPageToken: encodeToken(order, last.seq) } : {}),
    };
  }

  /** The whole retained chain, checked against the head and the stored signed checkpoints. */
  async verify(options: { onProgress?: (events: number) => void } = {}): Promise<AuditVerifyResult> {
    this.deps.access.requireAdmin({ action: 'audit.verify', target: CHAIN });
    const { signer } = this.deps;
    return verifyAuditChain(this.deps.log, {
      liveHead: true,
      // Checkpoints of an earlier key cannot be checked here; an auditor holding that key can.
      checkSignature: (checkpoint) =>
        checkpoint.keyId === signer.keyId ? checkpointSignatureError(checkpoint, signer.publicKeyPem) : null,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  }

  /** Signs the current head and keeps the checkpoint, so a later rewrite of the chain up to it is detected. */
  async checkpoint(): Promise<AuditCheckpointJson> {
    const { access, transactor, clock, signer } = this.deps;
    access.requireAdmin({ action: 'audit.checkpoint', target: CHAIN });
    return transactor.run(async ({ auditLog, audit }) => {
      const head = await auditLog.head();
      if (head.lastSeq < head.firstSeq) {
        throw new CairnError('FAILED_PRECONDITION', 'the audit trail is empty: there is nothing to sign yet');
      }
      const checkpoint = signer.signCheckpoint({ seq: head.lastSeq, hash: head.lastHash, time: clock.now() });
      await auditLog.insertCheckpoint(checkpoint);
      audit.record({
        action: 'audit.checkpoint',
        target: { kind: 'audit_checkpoint', id: String(checkpoint.seq) },
        details: { seq: checkpoint.seq, hash: checkpoint.hash, keyId: checkpoint.keyId },
      });
      return { ...checkpoint, publicKey: signer.publicKeyPem };
    });
  }

  /**
   * The server's own hourly checkpoint: signs the head when events were added
   * since the last checkpoint (whose own `audit.checkpoint` event follows it).
   */
  async scheduledCheckpoint(): Promise<AuditCheckpointJson | undefined> {
    const { log } = this.deps;
    const head = await log.head();
    if (head.lastSeq < head.firstSeq) return undefined;
    const last = (await log.listCheckpoints()).at(-1);
    if (last !== undefined && head.lastSeq <= last.seq + 1) return undefined;
    return this.checkpoint();
  }

  publicKey(): AuditPublicKey {
    return { algorithm: 'Ed25519', keyId: this.deps.signer.keyId, publicKey: this.deps.signer.publicKeyPem };
  }

  /**
   * Records the export, then streams every event from `fromSeq` to the head
   * as JSON lines and ends with a checkpoint of the last one, signed now.
   * The permission check and the head read happen before the first line, so
   * a refusal is an ordinary error answer, not a broken stream.
   */
  async export(options: { fromSeq?: number | undefined } = {}): Promise<AuditExport> {
    const { access, transactor, log, signer, clock } = this.deps;
    access.requireAdmin({ action: 'audit.export', target: CHAIN });
    const fromSeq = options.fromSeq ?? 1;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new CairnError('INVALID_ARGUMENT', 'fromSeq: must be a whole number from 1', {
        field: 'fromSeq',
      });
    }
    await transactor.run(async ({ audit }) => {
      audit.record({ action: 'audit.export', target: CHAIN, details: { fromSeq } });
    });
    const head = await log.head();
    if (fromSeq > head.lastSeq) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `fromSeq: the last event is ${head.lastSeq}; export from a seq up to it`,
        { field: 'fromSeq' },
      );
    }
    const firstSeq = Math.max(fromSeq, head.firstSeq);
    async function* lines(): AsyncIterable<string> {
      for await (const page of log.scan({ fromSeq: firstSeq, pageSize: EXPORT_PAGE })) {
        const kept = page.filter((event) => event.seq <= head.lastSeq);
        if (kept.length > 0) yield kept.map((event) => `${JSON.stringify(auditEventJson(event))}\n`).join('');
        if (kept.length < page.length) break;
      }
      const checkpoint = signer.signCheckpoint({ seq: head.lastSeq, hash: head.lastHash, time: clock.now() });
      yield `${JSON.stringify({ checkpoint: { ...checkpoint, publicKey: signer.publicKeyPem } })}\n`;
    }
    return { firstSeq, lastSeq: head.lastSeq, lines: lines() };
  }

  /**
   * Deletes events older than `olderThanDays` and re-anchors the chain, so
   * what is kept still verifies. Refused below the configured minimum. A
   * scheduled run that finds nothing to delete records nothing either, so
   * the hourly timer does not fill the trail with its own events.
   */
  async prune(input: { olderThanDays: number; scheduled?: boolean }): Promise<AuditPruneResult> {
    const { access, transactor, clock, minRetentionDays } = this.deps;
    access.requireAdmin({ action: 'audit.prune', target: CHAIN });
    const days = input.olderThanDays;
    if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) {
      throw new CairnError('INVALID_ARGUMENT', 'olderThanDays: must be a number of days', {
        field: 'olderThanDays',
      });
    }
    if (days < minRetentionDays) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `audit events younger than ${minRetentionDays} days (CAIRN_AUDIT_MIN_RETENTION_DAYS) are never deleted; ` +
          `ask for ${minRetentionDays} days or more, not ${days}`,
        { field: 'olderThanDays' },
      );
    }
    const before = clock.now() - Math.round(days * DAY_MS);
    return transactor.run(async ({ auditLog, audit }) => {
      const { lastSeq } = await auditLog.head();
      const deleted = await auditLog.prune({ before, maxSeq: lastSeq });
      const head = await auditLog.head();
      if (deleted > 0 || input.scheduled !== true) {
        audit.record({
          action: 'audit.pruned',
          target: CHAIN,
          details: {
            olderThanDays: days,
            before,
            deleted,
            firstSeq: head.firstSeq,
            anchorHash: head.anchorHash,
            scheduled: input.scheduled === true,
          },
        });
      }
      return { deleted, before, firstSeq: head.firstSeq, anchorHash: head.anchorHash };
    });
  }

  private visibleProjects(projectId: string | undefined): readonly string[] | undefined {
    const { access } = this.deps;
    const caller = access.caller();
    const attempt = { action: 'audit.query', target: CHAIN };
    if (caller.isAdmin) return projectId === undefined ? undefined : [projectId];
    if (projectId !== undefined) {
      access.require('admin', projectId, attempt);
      return [projectId];
    }
    const administered = [...caller.roles.entries()]
      .filter(([, roles]) => rolesGrant(roles, 'admin'))
      .map(([id]) => id);
    if (administered.length === 0) {
      throw deniedError(
        `${caller.actor} may not read the audit trail: only a Cairn admin, or an admin of a project for its events, may.`,
        { ...attempt, outcome: 'denied', details: { needed: 'server admin or project admin' } },
      );
    }
    return administered;
  }
}
