import type { DatasetDiffJson, DatasetJson, DatasetVersionJson, VersionFileJson } from '@cairn/contract';
import type { AddDatasetOptions } from './dataset-add.js';
import type { CheckoutOptions, CheckoutResult } from './dataset-checkout.js';
import {
  parseDatasetRef,
  type DatasetRef,
  type DatasetReference,
  type DatasetsResource,
  type Page,
  type VersionDetail,
} from './datasets.js';

/**
 * Local files in and out of datasets (Node only: the code loads on first use,
 * so the rest of the SDK needs no `node:fs`), and the navigable handles
 * `cairn.dataset('churn').version(3)`.
 */

/**
 * Adds files, folders (recursively) and globs as the next version of `name`
 * (created when missing). Unchanged files are recognised by size and sha256
 * against the parent version and not sent again.
 */
export async function addDataset(
  datasets: DatasetsResource,
  input: AddDatasetOptions & { name: string; paths: readonly string[] },
): Promise<DatasetVersionJson> {
  const { addDataset: add } = await import('./dataset-add.js');
  return add(datasets, input);
}

/**
 * Writes a version's files below `dir`, fetching only what is missing or
 * changed there. `at` is `NAME`, `NAME@3`, `NAME@alias`, or `{ name, ref }`.
 */
export async function checkoutDataset(
  datasets: DatasetsResource,
  input: CheckoutOptions & { at: string | DatasetReference; dir: string },
): Promise<CheckoutResult> {
  const { at, ...options } = input;
  const { name, ref } = typeof at === 'string' ? parseDatasetRef(at) : at;
  const { checkoutDataset: checkout } = await import('./dataset-checkout.js');
  return checkout(datasets, { ...options, name, ref });
}

/** `cairn.dataset('churn')`: one dataset, to navigate from. */
export class DatasetHandle {
  constructor(
    private readonly datasets: DatasetsResource,
    readonly name: string,
  ) {}

  async get(): Promise<DatasetJson> {
    return this.datasets.get(this.name);
  }

  /** Newest first. */
  async versions(options: Page = {}): Promise<{ versions: DatasetVersionJson[]; nextPageToken?: string }> {
    return this.datasets.listVersions(this.name, options);
  }

  version(ref: DatasetRef = 'latest'): DatasetVersionHandle {
    return new DatasetVersionHandle(this.datasets, { name: this.name, ref });
  }

  async add(paths: readonly string[], options: AddDatasetOptions): Promise<DatasetVersionJson> {
    return addDataset(this.datasets, { ...options, name: this.name, paths });
  }

  async setAlias(alias: string, version: number): Promise<DatasetJson> {
    return this.datasets.setAlias(this.name, alias, version);
  }

  async deleteAlias(alias: string): Promise<DatasetJson> {
    return this.datasets.deleteAlias(this.name, alias);
  }
}

/** `cairn.dataset('churn').version(3)` (or an alias, or `latest`). */
export class DatasetVersionHandle {
  readonly name: string;
  readonly ref: DatasetRef;

  constructor(
    private readonly datasets: DatasetsResource,
    at: DatasetReference,
  ) {
    this.name = at.name;
    this.ref = at.ref;
  }

  async get(): Promise<VersionDetail> {
    return this.datasets.getVersion(this.name, this.ref);
  }

  async files(options: { prefix?: string } = {}): Promise<VersionFileJson[]> {
    return this.datasets.allFiles(this.name, this.ref, options);
  }

  async checkout(dir: string, options: CheckoutOptions = {}): Promise<CheckoutResult> {
    return checkoutDataset(this.datasets, { ...options, at: { name: this.name, ref: this.ref }, dir });
  }

  /** What changed from this version to `to`. */
  async diff(to: DatasetRef, options: { key?: string } = {}): Promise<DatasetDiffJson> {
    return this.datasets.diff(this.name, { from: this.ref, to, ...options });
  }
}
