import { CairnError, DATASET_ALIAS_PATTERN, DATASET_LIMITS, DATASET_NAME_PATTERN } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import { normalizeArtifactPath, type BlobStore } from '../artifacts/index.js';
import { currentCaller, type AccessControl, type AuditStores, type Permission } from '../governance/index.js';
import type { ChunkReader } from './chunk-reader.js';
import type { DatasetStore, DatasetStores } from './datasets.store.js';
import type { DatasetRecord, DatasetVersionRecord } from './entities.js';

export type DatasetTransactionStores = DatasetStores & AuditStores;

/** Whether a project exists, so a dataset is never created in a misspelt one. */
export interface ProjectLookup {
  getProject(projectId: string): Promise<{ projectId: string } | undefined>;
}

/** What every datasets service shares. */
export interface DatasetsContext {
  /** For reads outside a transaction. */
  store: DatasetStore;
  transactor: Transactor<DatasetTransactionStores>;
  clock: Clock;
  access: AccessControl;
  projects: ProjectLookup;
  blobs: BlobStore;
  reader: ChunkReader;
}

/** Projects are the permission boundary; a dataset without one lands here, as experiments do. */
export const DEFAULT_DATASET_PROJECT = 'default';

const NAME = new RegExp(DATASET_NAME_PATTERN);
const ALIAS = new RegExp(DATASET_ALIAS_PATTERN);

export const datasetTarget = (name: string) => ({ kind: 'dataset', id: name });
export const versionTarget = (name: string, version: number) => ({
  kind: 'dataset_version',
  id: `${name}@${version}`,
});

export function actor(): string {
  return currentCaller()?.actor ?? 'local';
}

export function checkDatasetName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${field} must be 1–256 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { field },
    );
  }
  return value;
}

export function checkAliasName(value: unknown, field = 'alias'): string {
  if (typeof value !== 'string' || !ALIAS.test(value) || value === 'latest') {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${field} must be a letter followed by up to 127 letters, digits, ".", "_" or "-" (and not "latest", which always means the newest version)`,
      { field },
    );
  }
  return value;
}

export function checkText(value: unknown, field: string, max: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw new CairnError('INVALID_ARGUMENT', `${field} must be a string`, { field });
  if (value.length > max) {
    throw new CairnError('INVALID_ARGUMENT', `${field} is longer than ${max} characters`, { field });
  }
  return value;
}

/** A file path inside a version: relative, `/`-separated, no `..`, not empty. */
export function checkFilePath(value: unknown, field = 'path'): string {
  const path = normalizeArtifactPath(value, field);
  if (path === '') throw new CairnError('INVALID_ARGUMENT', `${field} must name a file`, { field });
  if (path.length > DATASET_LIMITS.maxPathLength) {
    throw new CairnError('INVALID_ARGUMENT', `${field} is too long`, { field });
  }
  return path;
}

export function checkMode(value: unknown, field = 'mode'): number {
  const mode = typeof value === 'string' && /^[0-7]{1,4}$/.test(value) ? parseInt(value, 8) : value;
  if (mode === undefined || mode === null) return 0o644;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new CairnError('INVALID_ARGUMENT', `${field} must be POSIX permission bits (e.g. 644 or 0o644)`, {
      field,
    });
  }
  // Only permission bits travel: set-uid and friends from a client are never honoured.
  return mode & 0o777;
}

export async function requireDataset(store: DatasetStore, name: string): Promise<DatasetRecord> {
  const dataset = await store.getDatasetByName(name);
  if (dataset === undefined) {
    throw new CairnError(
      'NOT_FOUND',
      `dataset ${name} not found (create it with cairn data add ${name} PATH…)`,
      {
        field: 'name',
      },
    );
  }
  return dataset;
}

/** The dataset, once the caller holds `permission` in its project; checked before any transaction opens. */
export async function authorizedDataset(
  ctx: Pick<DatasetsContext, 'store' | 'access'>,
  request: { name: unknown; permission: Permission; action: string },
): Promise<DatasetRecord> {
  const name = checkDatasetName(request.name);
  const dataset = await requireDataset(ctx.store, name);
  ctx.access.require(request.permission, dataset.projectId, {
    action: request.action,
    target: datasetTarget(name),
  });
  return dataset;
}

/**
 * A version reference: a number, `latest` (the newest version), or an alias.
 * Undefined/empty means latest.
 */
export async function resolveVersion(
  from: { store: DatasetStore; dataset: DatasetRecord },
  ref: unknown,
  field = 'version',
): Promise<DatasetVersionRecord> {
  const { store, dataset } = from;
  const text = ref === undefined || ref === null || ref === '' ? 'latest' : String(ref);
  let number: number | undefined;
  if (/^[0-9]{1,9}$/.test(text)) number = Number(text);
  else if (text === 'latest')
    number = dataset.lastVersion > 0 ? await latestNumber(store, dataset) : undefined;
  else {
    if (!ALIAS.test(text)) {
      throw new CairnError('INVALID_ARGUMENT', `${field} must be a version number, "latest" or an alias`, {
        field,
      });
    }
    number = (await store.getAliases(dataset.datasetId)).get(text);
    if (number === undefined) {
      throw new CairnError('NOT_FOUND', `dataset ${dataset.name} has no alias ${text}`, { field });
    }
  }
  const version = number === undefined ? undefined : await store.getVersion(dataset.datasetId, number);
  if (version === undefined) {
    throw new CairnError(
      'NOT_FOUND',
      number === undefined
        ? `dataset ${dataset.name} has no versions yet`
        : `dataset ${dataset.name} has no version ${number}`,
      { field },
    );
  }
  return version;
}

/** The newest committed version (the counter may be ahead of it while a commit is in flight). */
async function latestNumber(store: DatasetStore, dataset: DatasetRecord): Promise<number | undefined> {
  const [newest] = await store.listVersions(dataset.datasetId, { offset: 0, limit: 1 });
  return newest?.version;
}
