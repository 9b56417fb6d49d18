import { CairnError, POLICY_LIMITS, PROMOTION_STATUSES, PROTECTABLE_STAGES } from '@cairn/contract';
import type { PromotionStatus } from '@cairn/contract';
import type { LabelTarget } from '../governance/index.js';
import { checkAlias, checkModelName } from '../registry/index.js';

/** Checks of what callers send, before anything is read or written. */

const REQUEST_ID = /^[A-Za-z0-9-]{1,64}$/;

function invalid(field: string, message: string): CairnError {
  return new CairnError('INVALID_ARGUMENT', `${field}: ${message}`, { field });
}

export function checkRequestId(raw: unknown): string {
  if (typeof raw !== 'string' || !REQUEST_ID.test(raw)) {
    throw invalid('id', `${JSON.stringify(String(raw).slice(0, 80))} is not a promotion request id`);
  }
  return raw;
}

export function checkVersion(raw: unknown): number {
  const value = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid('version', `expected a version number (1, 2, …), got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Exactly one of `alias` and `stage`. */
export function checkTarget(input: { alias?: unknown; stage?: unknown }): LabelTarget {
  const hasAlias = input.alias !== undefined && input.alias !== null;
  const hasStage = input.stage !== undefined && input.stage !== null;
  if (hasAlias === hasStage) {
    throw invalid(
      hasAlias ? 'stage' : 'alias',
      'name either an alias or a stage to promote to, not both or neither',
    );
  }
  if (hasAlias) return { kind: 'alias', name: checkAlias(input.alias, 'alias') };
  if (typeof input.stage !== 'string' || !(PROTECTABLE_STAGES as readonly string[]).includes(input.stage)) {
    throw invalid(
      'stage',
      `expected one of ${PROTECTABLE_STAGES.join(', ')}, got ${JSON.stringify(input.stage)}`,
    );
  }
  return { kind: 'stage', name: input.stage };
}

/** MLflow's archive_existing_versions, for stage requests only: an alias names one version already. */
export function checkArchiveExisting(raw: unknown, target: LabelTarget): boolean {
  if (raw === undefined || raw === null) return false;
  if (typeof raw !== 'boolean')
    throw invalid('archiveExisting', `expected true or false, got ${JSON.stringify(raw)}`);
  if (raw && target.kind !== 'stage') {
    throw invalid('archiveExisting', 'only a stage request can archive the versions already in its stage');
  }
  return raw;
}

export function checkModel(raw: unknown): string {
  return checkModelName(raw, 'model');
}

export function checkComment(raw: unknown, field: string): string {
  if (raw === undefined || raw === null) return '';
  // Without NUL: PostgreSQL text cannot hold it, so storing it would fail with a 500.
  if (typeof raw !== 'string' || raw.length > POLICY_LIMITS.maxCommentLength || raw.includes('\u0000')) {
    throw invalid(
      field,
      `expected text of at most ${POLICY_LIMITS.maxCommentLength} characters, without NUL`,
    );
  }
  return raw;
}

const PROJECT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A project named in a list filter: checked before it reaches a permission check or a query. */
export function checkProjectFilter(raw: unknown): string {
  if (typeof raw !== 'string' || !PROJECT_ID.test(raw)) {
    throw invalid('project', `${JSON.stringify(String(raw).slice(0, 80))} is not a project id`);
  }
  return raw;
}

export function checkStatus(raw: unknown): PromotionStatus | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || !(PROMOTION_STATUSES as readonly string[]).includes(raw)) {
    throw invalid('status', `expected one of ${PROMOTION_STATUSES.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as PromotionStatus;
}

export function checkMaxResults(raw: unknown): number {
  if (raw === undefined || raw === null) return 100;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > 1_000) {
    throw invalid('maxResults', `expected a whole number from 1 to 1000, got ${JSON.stringify(raw)}`);
  }
  return raw;
}
