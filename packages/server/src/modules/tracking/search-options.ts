import { CairnError } from '@cairn/contract';
import { checkArray } from './validation.js';

/** What every search takes; values are checked by the service that uses them. */
export interface SearchOptions {
  filter?: unknown;
  orderBy?: unknown;
  maxResults?: unknown;
  pageToken?: unknown;
  viewType?: unknown;
}

export const invalid = (message: string, field?: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, field === undefined ? {} : { field });

export function checkStringList(value: unknown, field: string): string[] {
  return checkArray(value, field).map((item, i) => {
    if (typeof item !== 'string') throw invalid(`${field}[${i}] must be a string`, `${field}[${i}]`);
    return item;
  });
}
