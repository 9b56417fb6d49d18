import { createHash } from 'node:crypto';
import type { OpenLineageDataset, OpenLineageEventType, OpenLineageRunEvent } from '@cairn/contract';
import { nodeKey, type NodeKind } from './entities.js';
import type { LineageGraph, LineageNode } from './lineage-graph.js';

/**
 * A lineage graph as OpenLineage 2-0-2 RunEvents, so Marquez, DataHub or any
 * other OpenLineage consumer can take Cairn's lineage. One event per run in
 * the graph, describing the run as it is now: its inputs are the datasets with
 * an `input` edge to it, its outputs what it `produced` (model versions, and
 * dataset versions once pipelines write them) — as far as the walked graph
 * reaches.
 *
 * It reads these describer attributes (NodeDescriber), each optional:
 *   run:            status, startTime, endTime (epoch ms), experimentId, experimentName
 *   dataset:        name, digest, source (MLflow's source JSON or a URI)
 *   dataset_version: name, version or digest
 *   model_version:  name (the registered model), version
 */
export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const PARENT_FACET_SCHEMA_URL =
  'https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet';
const VERSION_FACET_SCHEMA_URL =
  'https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet';

export interface OpenLineageOptions {
  /** Namespace of Cairn's jobs and of datasets that have no location of their own. */
  namespace: string;
  /** URI naming the software that emitted the events. */
  producer: string;
  /** Event time of runs whose times are unknown. */
  now: number;
}

export const DEFAULT_OPENLINEAGE_NAMESPACE = 'cairn';
export const DEFAULT_OPENLINEAGE_PRODUCER = 'urn:cairn:server';

const EVENT_TYPE_BY_STATUS: Readonly<Record<string, OpenLineageEventType>> = {
  FINISHED: 'COMPLETE',
  FAILED: 'FAIL',
  KILLED: 'ABORT',
  RUNNING: 'RUNNING',
  SCHEDULED: 'RUNNING',
};
const RUN_KINDS: ReadonlySet<NodeKind> = new Set(['run']);
const DATASET_KINDS: ReadonlySet<NodeKind> = new Set(['dataset', 'dataset_version', 'model_version']);

export function toOpenLineageEvents(graph: LineageGraph, options: OpenLineageOptions): OpenLineageRunEvent[] {
  const nodes = new Map(graph.nodes.map((n) => [nodeKey(n), n]));
  const nodeOf = (ref: { kind: NodeKind; id: string }): LineageNode =>
    nodes.get(nodeKey(ref)) ?? { ...ref, label: ref.id, attributes: {} };
  const inputs = new Map<string, LineageNode[]>();
  const outputs = new Map<string, LineageNode[]>();
  const parents = new Map<string, LineageNode>();
  for (const edge of graph.edges) {
    const from = nodeKey(edge.from);
    const to = nodeKey(edge.to);
    if (edge.relation === 'input' && DATASET_KINDS.has(edge.from.kind)) push(inputs, to, nodeOf(edge.from));
    if (edge.relation === 'produced' && DATASET_KINDS.has(edge.to.kind)) push(outputs, from, nodeOf(edge.to));
    // Edges come nearest first; a run has one parent, and the first seen is kept.
    if (edge.relation === 'parent' && RUN_KINDS.has(edge.from.kind) && !parents.has(to)) {
      parents.set(to, nodeOf(edge.from));
    }
  }
  return graph.nodes
    .filter((node) => RUN_KINDS.has(node.kind))
    .map((run): OpenLineageRunEvent => {
      const key = nodeKey(run);
      const parent = parents.get(key);
      return {
        eventType: eventTypeOf(run),
        eventTime: new Date(eventTimeOf(run, options.now)).toISOString(),
        run: {
          runId: toRunUuid(run.id),
          ...(parent === undefined
            ? {}
            : {
                facets: {
                  parent: {
                    _producer: options.producer,
                    _schemaURL: PARENT_FACET_SCHEMA_URL,
                    run: { runId: toRunUuid(parent.id) },
                    job: jobOf(parent, options),
                  },
                },
              }),
        },
        job: jobOf(run, options),
        inputs: (inputs.get(key) ?? []).map((n) => datasetOf(n, options)),
        outputs: (outputs.get(key) ?? []).map((n) => datasetOf(n, options)),
        producer: options.producer,
        schemaURL: OPENLINEAGE_SCHEMA_URL,
      };
    });
}

function push(map: Map<string, LineageNode[]>, key: string, node: LineageNode): void {
  const list = map.get(key) ?? [];
  list.push(node);
  map.set(key, list);
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
const time = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

function eventTypeOf(run: LineageNode): OpenLineageEventType {
  const status = text(run.attributes['status']);
  return (status === undefined ? undefined : EVENT_TYPE_BY_STATUS[status]) ?? 'OTHER';
}

/** When the run reached the state the event reports: its end once over, else its start. */
function eventTimeOf(run: LineageNode, now: number): number {
  const start = time(run.attributes['startTime']);
  const end = time(run.attributes['endTime']);
  const over = ['COMPLETE', 'FAIL', 'ABORT'].includes(eventTypeOf(run));
  return (over ? (end ?? start) : start) ?? now;
}

/** A run's job is its experiment: the recurring thing each run is one execution of. */
function jobOf(run: LineageNode, options: OpenLineageOptions): { namespace: string; name: string } {
  const experimentName = text(run.attributes['experimentName']);
  const experimentId = text(run.attributes['experimentId']);
  const name =
    experimentName ?? (experimentId === undefined ? `run/${run.id}` : `experiment/${experimentId}`);
  return { namespace: options.namespace, name };
}

function datasetOf(node: LineageNode, options: OpenLineageOptions): OpenLineageDataset {
  const a = node.attributes;
  let namespace = options.namespace;
  let name: string;
  let version: string | undefined;
  if (node.kind === 'model_version') {
    const model = text(a['name']);
    name = model === undefined ? `model_versions/${node.id}` : `models/${model}`;
    version = text(a['version']);
  } else {
    const located = locationOf(text(a['source']));
    if (located !== undefined) ({ namespace, name } = located);
    else name = `datasets/${text(a['name']) ?? node.label}`;
    version = node.kind === 'dataset_version' ? (text(a['version']) ?? text(a['digest'])) : text(a['digest']);
  }
  return {
    namespace,
    name,
    ...(version === undefined
      ? {}
      : {
          facets: {
            version: {
              _producer: options.producer,
              _schemaURL: VERSION_FACET_SCHEMA_URL,
              datasetVersion: version,
            },
          },
        }),
  };
}

/**
 * OpenLineage names a dataset by where it lives (`s3://bucket` + key, `file` +
 * path), so events from Spark or Airflow about the same files meet ours. MLflow
 * sends a dataset's source as JSON (`{"uri": …}`, `{"url": …}`, `{"path": …}`).
 */
export function locationOf(source: string | undefined): { namespace: string; name: string } | undefined {
  if (source === undefined) return undefined;
  let target: unknown = source;
  try {
    const parsed: unknown = JSON.parse(source);
    if (typeof parsed === 'object' && parsed !== null) {
      const o = parsed as Record<string, unknown>;
      target = o['uri'] ?? o['url'] ?? o['path'];
    }
  } catch {
    // not JSON: the source may be a URI or path itself
  }
  if (typeof target !== 'string' || target === '') return undefined;
  if (target.startsWith('/')) return { namespace: 'file', name: target };
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme === 'file') return { namespace: 'file', name: decodeURIComponent(url.pathname) };
  if (url.host === '') return undefined;
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  return { namespace: `${scheme}://${url.host}`, name: path === '' ? '/' : path };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// RFC 4122's URL namespace; the name below makes the ids Cairn's own.
const NAME_NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');

/**
 * OpenLineage wants a UUID. Cairn's run ids are UUIDs without dashes (MLflow's
 * shape), so they are only re-punctuated; any other id gets a stable
 * name-based (version 5) UUID, the same for every export.
 */
export function toRunUuid(id: string): string {
  const lower = id.toLowerCase();
  if (/^[0-9a-f]{32}$/.test(lower)) return dashed(lower);
  if (UUID.test(lower)) return lower;
  const hash = createHash('sha1').update(NAME_NAMESPACE).update(`cairn:run:${id}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  return dashed(hash.subarray(0, 16).toString('hex'));
}

function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
