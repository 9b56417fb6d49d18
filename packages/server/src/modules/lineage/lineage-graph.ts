import { nodeKey, type NodeKind, type NodeRef, type Relation } from './entities.js';
import type { WalkResult } from './lineage.store.js';
import type { AttributeValue, NodeDescription } from './node-describer.js';

export interface LineageNode extends NodeRef {
  label: string;
  attributes: Readonly<Record<string, AttributeValue>>;
  /** Set when the caller may not read the node's project: only kind and id are shown. */
  redacted?: true;
}

export interface LineageGraphEdge {
  from: NodeRef;
  to: NodeRef;
  relation: Relation;
  depth: number;
  createdAt: number;
}

export interface LineageGraph {
  root: NodeRef;
  /** The root first, then in the order the walk met them (nearest first). */
  nodes: LineageNode[];
  /** Each edge once, at its smallest depth, nearest first. */
  edges: LineageGraphEdge[];
  /** True when the edge limit cut the walk before the depth limit did. */
  truncated: boolean;
}

/** Every node of a walk, once, root first: what the describers are asked about. */
export function nodesOf(root: NodeRef, walk: WalkResult): NodeRef[] {
  const seen = new Map<string, NodeRef>([[nodeKey(root), root]]);
  for (const edge of walk.edges) {
    for (const node of [edge.from, edge.to]) {
      const key = nodeKey(node);
      if (!seen.has(key)) seen.set(key, node);
    }
  }
  return [...seen.values()];
}

/** Node ids grouped by kind, for one batched describe call per kind. */
export function idsByKind(nodes: readonly NodeRef[]): Map<NodeKind, string[]> {
  const groups = new Map<NodeKind, string[]>();
  for (const node of nodes) {
    const ids = groups.get(node.kind) ?? [];
    ids.push(node.id);
    groups.set(node.kind, ids);
  }
  return groups;
}

/**
 * Joins a walk with the descriptions; an undescribed node is labelled by its
 * id. A node `visible` refuses is redacted: kept (the graph's shape stays
 * whole) but with nothing beyond its kind and id.
 */
export function buildGraph(options: {
  root: NodeRef;
  walk: WalkResult;
  descriptions: ReadonlyMap<NodeKind, ReadonlyMap<string, NodeDescription>>;
  visible?: (description: NodeDescription) => boolean;
}): LineageGraph {
  const { root, walk, descriptions, visible = () => true } = options;
  const nodes = nodesOf(root, walk).map((node): LineageNode => {
    const description = descriptions.get(node.kind)?.get(node.id);
    if (description !== undefined && !visible(description)) {
      return { kind: node.kind, id: node.id, label: node.id, attributes: {}, redacted: true };
    }
    return {
      kind: node.kind,
      id: node.id,
      label: description?.label ?? node.id,
      attributes: description?.attributes ?? {},
    };
  });
  const edges = walk.edges.map((e): LineageGraphEdge => ({
    from: e.from,
    to: e.to,
    relation: e.relation,
    depth: e.depth,
    createdAt: e.createdAt,
  }));
  return { root, nodes, edges, truncated: walk.truncated };
}
