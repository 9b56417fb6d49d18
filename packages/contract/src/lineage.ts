import { Type, type Static } from '@sinclair/typebox';

/**
 * Lineage as the native API (/api/v1/lineage) sends it: a graph of typed
 * nodes, and OpenLineage run events. The kinds and relations are closed lists
 * so every face can render them; the server's lineage module uses these same
 * lists.
 */
export const LINEAGE_NODE_KINDS = [
  'dataset',
  'dataset_version',
  'run',
  'code_version',
  'model_version',
  'deployment',
  'pipeline_run',
  'step_run',
] as const;
export type LineageNodeKind = (typeof LINEAGE_NODE_KINDS)[number];

/** Read as "from <relation> to": a dataset is an `input` of a run; a run `produced` a model version. */
export const LINEAGE_RELATIONS = ['input', 'parent', 'source_code', 'produced', 'deployed', 'step'] as const;
export type LineageRelation = (typeof LINEAGE_RELATIONS)[number];

export const LINEAGE_LIMITS = {
  /** Deepest walk a caller may ask for; provenance walks this deep. */
  maxDepth: 64,
  /** Depth of upstream/downstream when the caller names none. */
  defaultDepth: 5,
  /** Edges in one answer; beyond it the graph is cut and `truncated` is true. */
  maxEdges: 10_000,
} as const;

const strict = { additionalProperties: false } as const;

export const LineageNodeKind = Type.Union(
  LINEAGE_NODE_KINDS.map((k) => Type.Literal(k)),
  { description: 'What kind of entity a lineage node is.' },
);
export const LineageRelation = Type.Union(LINEAGE_RELATIONS.map((r) => Type.Literal(r)));

export const LineageNodeRef = Type.Object({ kind: LineageNodeKind, id: Type.String() });
export type LineageNodeRef = Static<typeof LineageNodeRef>;

export const LineageNode = Type.Object({
  kind: LineageNodeKind,
  id: Type.String(),
  label: Type.String({
    description: 'A name for people (run name, dataset name, short commit); the id when unknown.',
  }),
  attributes: Type.Record(Type.String(), Type.Unknown(), {
    description:
      "Kind-specific JSON values, e.g. a run's status and times. Empty when the entity is unknown.",
  }),
  redacted: Type.Optional(
    Type.Boolean({
      description:
        'True when the node belongs to a project the caller may not read: only its kind and id are shown ' +
        '(the label is the id, attributes are empty), so the shape of the graph stays whole.',
    }),
  ),
});
export type LineageNode = Static<typeof LineageNode>;

export const LineageGraphEdge = Type.Object({
  from: LineageNodeRef,
  to: LineageNodeRef,
  relation: LineageRelation,
  depth: Type.Integer({ description: 'Steps from the root: 1 for an edge touching it.' }),
  createdAt: Type.Integer({ description: 'Epoch ms when the edge was recorded.' }),
});
export type LineageGraphEdge = Static<typeof LineageGraphEdge>;

export const LineageGraph = Type.Object({
  root: LineageNodeRef,
  nodes: Type.Array(LineageNode, { description: 'The root first, then by distance from it.' }),
  edges: Type.Array(LineageGraphEdge, { description: 'Each edge once, at its smallest depth.' }),
  truncated: Type.Boolean({
    description: `True when the edge limit (${LINEAGE_LIMITS.maxEdges}) cut the walk before the depth did.`,
  }),
});
export type LineageGraph = Static<typeof LineageGraph>;

export const LineageNodeParams = Type.Object({
  kind: LineageNodeKind,
  id: Type.String({ minLength: 1, maxLength: 256 }),
});
export type LineageNodeParams = Static<typeof LineageNodeParams>;

const Depth = Type.Integer({
  minimum: 1,
  maximum: LINEAGE_LIMITS.maxDepth,
  description: `How many edges away to walk; ${LINEAGE_LIMITS.defaultDepth} when omitted.`,
});

export const LineageWalkQuery = Type.Object({ depth: Type.Optional(Depth) }, strict);
export type LineageWalkQuery = Static<typeof LineageWalkQuery>;

export const OpenLineageQuery = Type.Object(
  {
    direction: Type.Optional(
      Type.Union([Type.Literal('upstream'), Type.Literal('downstream')], {
        description: 'upstream when omitted.',
      }),
    ),
    depth: Type.Optional(Depth),
  },
  strict,
);
export type OpenLineageQuery = Static<typeof OpenLineageQuery>;

// ── OpenLineage 2-0-2 (https://openlineage.io/spec/2-0-2/OpenLineage.json) ──

export const OPENLINEAGE_EVENT_TYPES = ['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'] as const;
export type OpenLineageEventType = (typeof OPENLINEAGE_EVENT_TYPES)[number];

// Formats are stated in words: TypeBox's checker refuses `format` keywords it has no checker for.
const Uuid = Type.String({ description: 'A UUID.' });
const BaseFacetFields = { _producer: Type.String(), _schemaURL: Type.String() };

export const OpenLineageParentRunFacet = Type.Object({
  ...BaseFacetFields,
  run: Type.Object({ runId: Uuid }),
  job: Type.Object({ namespace: Type.String(), name: Type.String() }),
});

export const OpenLineageDataset = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  facets: Type.Optional(
    Type.Object({
      version: Type.Optional(Type.Object({ ...BaseFacetFields, datasetVersion: Type.String() })),
    }),
  ),
});
export type OpenLineageDataset = Static<typeof OpenLineageDataset>;

export const OpenLineageRunEvent = Type.Object(
  {
    eventType: Type.Union(OPENLINEAGE_EVENT_TYPES.map((t) => Type.Literal(t))),
    eventTime: Type.String({ description: 'RFC 3339 date-time.' }),
    run: Type.Object({
      runId: Uuid,
      facets: Type.Optional(Type.Object({ parent: Type.Optional(OpenLineageParentRunFacet) })),
    }),
    job: Type.Object({ namespace: Type.String(), name: Type.String() }),
    inputs: Type.Array(OpenLineageDataset),
    outputs: Type.Array(OpenLineageDataset),
    producer: Type.String(),
    schemaURL: Type.String(),
  },
  { description: 'An OpenLineage 2-0-2 RunEvent.' },
);
export type OpenLineageRunEvent = Static<typeof OpenLineageRunEvent>;

export const OpenLineageEvents = Type.Object({
  events: Type.Array(OpenLineageRunEvent, { description: 'One event per run in the walked graph.' }),
});
export type OpenLineageEvents = Static<typeof OpenLineageEvents>;
