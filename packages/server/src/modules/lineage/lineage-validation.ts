import { CairnError, LINEAGE_LIMITS } from '@cairn/contract';
import { isNodeKind, NODE_KINDS, type Direction, type NodeRef } from './entities.js';

/**
 * Checks on what callers pass to the lineage service. Every failure names its
 * field, so the HTTP face (or any other) can point the user at it.
 */
const invalid = (field: string, message: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', `${field}: ${message}`, { field });

const MAX_ID_LENGTH = 256;

export function checkNode(raw: { kind: unknown; id: unknown }): NodeRef {
  if (!isNodeKind(raw.kind)) {
    throw invalid(
      'kind',
      `${JSON.stringify(raw.kind)} is not a lineage node kind; expected one of ${NODE_KINDS.join(', ')}`,
    );
  }
  if (typeof raw.id !== 'string' || raw.id.length === 0) throw invalid('id', 'must be a non-empty string');
  if (raw.id.length > MAX_ID_LENGTH) {
    throw invalid('id', `is ${raw.id.length} characters long; the limit is ${MAX_ID_LENGTH}`);
  }
  // PostgreSQL text cannot hold NUL: refused here, the walk would otherwise fail with a 500.
  if (raw.id.includes('\u0000')) throw invalid('id', 'must not contain NUL characters');
  return { kind: raw.kind, id: raw.id };
}

export function checkDepth(raw: unknown): number {
  if (raw === undefined || raw === null) return LINEAGE_LIMITS.defaultDepth;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > LINEAGE_LIMITS.maxDepth) {
    throw invalid(
      'depth',
      `must be an integer from 1 to ${LINEAGE_LIMITS.maxDepth}, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

export function checkDirection(raw: unknown): Direction {
  if (raw === undefined || raw === null) return 'upstream';
  if (raw !== 'upstream' && raw !== 'downstream') {
    throw invalid('direction', `must be upstream or downstream, got ${JSON.stringify(raw)}`);
  }
  return raw;
}
