import type { AttributeSpec, SearchSubject } from '../tracking/index.js';

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
