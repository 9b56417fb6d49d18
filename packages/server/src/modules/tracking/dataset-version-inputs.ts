import { DATASET_NAME_PATTERN } from '@cairn/contract';
import type { DatasetStore, DatasetVersionRecord } from '../datasets/index.js';
import type { DatasetInputRecord } from './entities.js';

/**
 * A run's dataset input names a Cairn dataset version when its digest is a
 * version's manifest digest (what MLflow clients log after hashing the same
 * files Cairn hashed) or its source is `cairn:NAME@VERSION` (what the Cairn
 * SDK logs). Anything else stays a plain MLflow dataset.
 */
const DIGEST = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
const CAIRN_SOURCE = /^cairn:([^@]+)@([^@]+)$/;
const NAME = new RegExp(DATASET_NAME_PATTERN);

/** `sha256:<hex>` for a digest given either way; undefined for anything else. */
export function versionDigestOf(digest: string): string | undefined {
  const hex = DIGEST.exec(digest.trim())?.[1];
  return hex === undefined ? undefined : `sha256:${hex.toLowerCase()}`;
}

/** The dataset and version reference of a `cairn:NAME@VERSION` source. */
export function cairnSourceOf(source: string): { name: string; ref: string } | undefined {
  const match = CAIRN_SOURCE.exec(source.trim());
  if (match === null) return undefined;
  const [, name = '', ref = ''] = match;
  return NAME.test(name) ? { name, ref } : undefined;
}

/** The ids of the dataset versions the inputs name, each once. */
export async function matchDatasetVersions(
  store: DatasetStore,
  inputs: readonly DatasetInputRecord[],
): Promise<string[]> {
  const digests = [...new Set(inputs.flatMap((i) => versionDigestOf(i.dataset.digest) ?? []))];
  const found = digests.length === 0 ? [] : await store.findVersionsByDigest(digests);
  const ids = new Set(found.map((v) => v.versionId));
  for (const input of inputs) {
    const source = cairnSourceOf(input.dataset.source);
    if (source === undefined) continue;
    const version = await resolveVersion(store, source);
    if (version !== undefined) ids.add(version.versionId);
  }
  return [...ids];
}

/** A version number, a stored alias or `latest`; undefined when nothing matches (the input is still logged). */
async function resolveVersion(
  store: DatasetStore,
  source: { name: string; ref: string },
): Promise<DatasetVersionRecord | undefined> {
  const dataset = await store.getDatasetByName(source.name);
  if (dataset === undefined) return undefined;
  let number: number | undefined;
  if (/^[1-9][0-9]{0,9}$/.test(source.ref)) number = Number(source.ref);
  else if (source.ref === 'latest') {
    number = (await store.listVersions(dataset.datasetId, { offset: 0, limit: 1 }))[0]?.version;
  } else number = (await store.getAliases(dataset.datasetId)).get(source.ref);
  return number === undefined ? undefined : store.getVersion(dataset.datasetId, number);
}
