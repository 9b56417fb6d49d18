export { LineageService } from './lineage.service.js';
export type { LineageServiceDeps, RawNode } from './lineage.service.js';
export { recordEdges, removeEdges } from './record-edges.js';
export type { NodeDescriber, NodeDescription, AttributeValue } from './node-describer.js';
export type { LineageGraph, LineageNode, LineageGraphEdge } from './lineage-graph.js';
export type { LineageStore, LineageStores, WalkedEdge, WalkResult } from './lineage.store.js';
export type { NodeKind, NodeRef, Relation, LineageEdge, Direction } from './entities.js';
export { NODE_KINDS, RELATIONS, nodeKey, parseNodeKey, isNodeKind, isRelation } from './entities.js';
export {
  toOpenLineageEvents,
  toRunUuid,
  OPENLINEAGE_SCHEMA_URL,
  DEFAULT_OPENLINEAGE_NAMESPACE,
  DEFAULT_OPENLINEAGE_PRODUCER,
} from './openlineage.js';
export type { OpenLineageOptions } from './openlineage.js';
