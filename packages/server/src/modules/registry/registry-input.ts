import { CairnError } from '@cairn/contract';
import { encodePageToken } from '../tracking/index.js';
import type { LabelHistoryEntry, Page } from './entities.js';
import { checkText } from './validation.js';

/* Search paging and the list, label-kind and time inputs the registry services share. */

export interface SearchInput {
  filter?: unknown;
  orderBy?: unknown;
  maxResults?: unknown;
  pageToken?: unknown;
}

export function page<T>(rows: T[], offset: number, limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return rows.length > limit ? { items, nextPageToken: encodePageToken(offset + limit) } : { items };
}

export function checkOrderBy(value: unknown): string[] {
  const list = value === undefined || value === null ? [] : asList(value, 'order_by');
  return list.map((item, i) => checkText(item, `order_by[${i}]`, 1_000));
}

export function asList(value: unknown, field: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [value];
  throw new CairnError('INVALID_ARGUMENT', `${field}: must be a list of strings`, { field });
}

export function checkLabelKind(value: unknown): LabelHistoryEntry['kind'] {
  if (value === 'alias' || value === 'stage') return value;
  throw new CairnError('INVALID_ARGUMENT', `kind: must be "alias" or "stage", got ${JSON.stringify(value)}`, {
    field: 'kind',
  });
}

export { checkTime } from '../../kernel/time-input.js';
