import {
  decodePageToken,
  parseFilter,
  parseOrderBy,
  type AttributeSpec,
  type SearchSubject,
} from '../tracking/index.js';
import { checkOrderBy, type SearchInput } from './registry-input.js';
import type { RegistrySearchQuery } from './registry.store.js';
import { checkMaxResults, checkOptionalText } from './validation.js';

const str = (name: string, alias = name): [string, AttributeSpec] => [alias, { name, type: 'string' }];
const num = (name: string, alias = name): [string, AttributeSpec] => [alias, { name, type: 'number' }];

const PREFIXES = new Map([
  ['attributes', 'attribute'],
  ['attribute', 'attribute'],
  ['attr', 'attribute'],
  ['tags', 'tag'],
  ['tag', 'tag'],
] as const);

/** MLflow's registered-model search: `name`, timestamps and tags; Cairn adds OR and parentheses. */
export const REGISTERED_MODEL_SEARCH: SearchSubject = {
  name: 'registered models',
  noun: 'registered model',
  hint: 'an identifier such as name or tags.team',
  prefixes: PREFIXES,
  attributes: new Map([
    str('name'),
    num('creation_timestamp'),
    num('last_updated_timestamp'),
    num('last_updated_timestamp', 'timestamp'),
  ]),
  datasetKeys: [],
};

/** MLflow's model-version search: name, version_number, run_id, source_path, stage and tags. */
export const MODEL_VERSION_SEARCH: SearchSubject = {
  name: 'model versions',
  noun: 'model version',
  hint: 'an identifier such as name, run_id, version_number or tags.validated',
  prefixes: PREFIXES,
  attributes: new Map([
    str('name'),
    num('version_number'),
    str('run_id'),
    str('source_path'),
    str('current_stage'),
    str('format'),
    num('creation_timestamp'),
    num('last_updated_timestamp'),
    num('last_updated_timestamp', 'timestamp'),
  ]),
  datasetKeys: [],
};

/**
 * A registry search's checked query, limited to the projects the caller may
 * read; undefined when that is none, so the caller answers an empty page
 * without asking the store.
 */
export function registrySearchQuery(
  input: SearchInput,
  spec: { subject: SearchSubject; defaultLimit: number; maxLimit: number; readable: 'all' | string[] },
): RegistrySearchQuery | undefined {
  const filterText = checkOptionalText(input.filter, 'filter', 20_000) ?? '';
  const filter = parseFilter(filterText, spec.subject);
  const orderBy = parseOrderBy(checkOrderBy(input.orderBy), spec.subject);
  const limit = checkMaxResults(input.maxResults, spec.defaultLimit, spec.maxLimit);
  const offset = decodePageToken(checkOptionalText(input.pageToken, 'page_token', 1_000));
  if (spec.readable !== 'all' && spec.readable.length === 0) return undefined;
  return {
    filter,
    orderBy,
    offset,
    limit,
    ...(spec.readable === 'all' ? {} : { projectIds: spec.readable }),
  };
}
