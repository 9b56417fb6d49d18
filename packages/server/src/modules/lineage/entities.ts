import {
  LINEAGE_NODE_KINDS,
  LINEAGE_RELATIONS,
  type LineageNodeKind,
  type LineageRelation,
} from '@cairn/contract';

/**
 * Lineage is a graph of typed nodes. A node is named `kind:id` wherever it is
 * stored or sent, so a walk never needs to know which table an id came from.
 * The kinds and relations are the contract's closed lists, so the API and
 * every face agree on them.
 */
export const NODE_KINDS = LINEAGE_NODE_KINDS;
export type NodeKind = LineageNodeKind;

export interface NodeRef {
  kind: NodeKind;
  id: string;
}

/** What an edge means, read as "from <relation> to": a dataset is an `input` of a run. */
export const RELATIONS = LINEAGE_RELATIONS;
export type Relation = LineageRelation;

export interface LineageEdge {
  from: NodeRef;
  to: NodeRef;
  relation: Relation;
  createdAt: number;
}

export type Direction = 'upstream' | 'downstream';

export function nodeKey(node: NodeRef): string {
  return `${node.kind}:${node.id}`;
}

const KIND_SET: ReadonlySet<string> = new Set(NODE_KINDS);
const RELATION_SET: ReadonlySet<string> = new Set(RELATIONS);

export function isNodeKind(value: unknown): value is NodeKind {
  return typeof value === 'string' && KIND_SET.has(value);
}

export function isRelation(value: unknown): value is Relation {
  return typeof value === 'string' && RELATION_SET.has(value);
}

/** The inverse of `nodeKey`; undefined for text that names no known kind. */
export function parseNodeKey(key: string): NodeRef | undefined {
  const colon = key.indexOf(':');
  if (colon <= 0) return undefined;
  const kind = key.slice(0, colon);
  return isNodeKind(kind) ? { kind, id: key.slice(colon + 1) } : undefined;
}
