import { RUN_TAGS } from '@cairn/contract';
import {
  recordEdges,
  removeEdges,
  type LineageEdge,
  type LineageStores,
  type NodeRef,
} from '../lineage/index.js';
import type { DatasetStores } from '../datasets/index.js';
import { matchDatasetVersions } from './dataset-version-inputs.js';
import type { DatasetInputRecord } from './entities.js';
import type { TrackingStores } from './tracking.store.js';

/**
 * Lineage recorded as a by-product of run changes (DESIGN.md, principle 4):
 * a dataset input (and the Cairn dataset version it matches), a parent run and
 * a git commit each become an edge, written in the transaction of the change itself.
 */
export type RunChangeStores = TrackingStores & LineageStores & DatasetStores;

/** Tags whose value names another node of the lineage graph. */
const LINEAGE_TAGS: readonly string[] = [RUN_TAGS.parentRunId, RUN_TAGS.gitCommit];

// Tags are free text; only a value shaped like the id it claims to be becomes
// a node, so a typo never invents a run or a commit.
const RUN_ID = /^[A-Za-z0-9_-]{1,256}$/;
const COMMIT = /^[0-9a-fA-F]{7,64}$/;

const runNode = (runId: string): NodeRef => ({ kind: 'run', id: runId });

/** The edge one lineage tag of a run implies, if its value is well formed. */
function edgeOfTag(runId: string, tag: { key: string; value: string }, at: number): LineageEdge | undefined {
  if (tag.key === RUN_TAGS.parentRunId && RUN_ID.test(tag.value)) {
    return { from: runNode(tag.value), to: runNode(runId), relation: 'parent', createdAt: at };
  }
  if (tag.key === RUN_TAGS.gitCommit && COMMIT.test(tag.value)) {
    const commit = tag.value.toLowerCase();
    return {
      from: { kind: 'code_version', id: commit },
      to: runNode(runId),
      relation: 'source_code',
      createdAt: at,
    };
  }
  return undefined;
}

/** Edges of a new run's tags. */
export function recordRunTagEdges(
  stores: RunChangeStores,
  change: { runId: string; tags: ReadonlyArray<{ key: string; value: string }>; at: number },
): Promise<void> {
  const edges = change.tags.flatMap((t) => edgeOfTag(change.runId, t, change.at) ?? []);
  return recordEdges(stores, edges);
}

/**
 * Tags set on an existing run: an overwritten parent or commit takes its old
 * edge with it, so the graph says what the run says now. Call before the tags
 * are written (it reads the old values).
 */
export async function replaceRunTagEdges(
  stores: RunChangeStores,
  change: { runId: string; tags: ReadonlyArray<{ key: string; value: string }>; at: number },
): Promise<void> {
  const relevant = change.tags.filter((t) => LINEAGE_TAGS.includes(t.key));
  if (relevant.length === 0) return;
  await withdrawRunTagEdges(stores, {
    runId: change.runId,
    keys: relevant.map((t) => t.key),
    keep: relevant,
  });
  await recordRunTagEdges(stores, { runId: change.runId, tags: relevant, at: change.at });
}

/** A deleted lineage tag withdraws its edge. Call before the tag is deleted. */
export async function removeRunTagEdge(
  stores: RunChangeStores,
  change: { runId: string; key: string },
): Promise<void> {
  if (!LINEAGE_TAGS.includes(change.key)) return;
  await withdrawRunTagEdges(stores, { runId: change.runId, keys: [change.key], keep: [] });
}

async function withdrawRunTagEdges(
  stores: RunChangeStores,
  change: { runId: string; keys: string[]; keep: ReadonlyArray<{ key: string; value: string }> },
): Promise<void> {
  const previous = await stores.tracking.getTags(change.runId, change.keys);
  // Removal matches on (from, to, relation); the time is not part of an edge's identity.
  const stale = [...previous]
    .filter(([key, value]) => !change.keep.some((t) => t.key === key && t.value === value))
    .flatMap(([key, value]) => edgeOfTag(change.runId, { key, value }, 0) ?? []);
  await removeEdges(stores, stale);
}

/**
 * A run's dataset inputs, by the ids the tracking store gave the datasets,
 * and the Cairn dataset versions the inputs match (by digest or `cairn:` source).
 */
export async function recordInputEdges(
  stores: RunChangeStores,
  change: {
    runId: string;
    datasetIds: readonly string[];
    inputs: readonly DatasetInputRecord[];
    at: number;
  },
): Promise<void> {
  const versionIds = await matchDatasetVersions(stores.datasets, change.inputs);
  const sources: NodeRef[] = [
    ...change.datasetIds.map((id): NodeRef => ({ kind: 'dataset', id })),
    ...versionIds.map((id): NodeRef => ({ kind: 'dataset_version', id })),
  ];
  await recordEdges(
    stores,
    sources.map((from) => ({ from, to: runNode(change.runId), relation: 'input', createdAt: change.at })),
  );
}
