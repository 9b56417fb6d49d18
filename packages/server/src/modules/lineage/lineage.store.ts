import type { Direction, LineageEdge, NodeRef } from './entities.js';

export interface WalkedEdge extends LineageEdge {
  /** 1 for an edge touching the start node, 2 for the next ring, … */
  depth: number;
}

export interface WalkResult {
  edges: WalkedEdge[];
  /** True when `maxEdges` stopped the walk before `maxDepth` did. */
  truncated: boolean;
}

/** The lineage graph's storage port. Walks are one recursive query, never one query per node. */
export interface LineageStore {
  /** Adds edges; an edge that already exists is kept as it was. */
  addEdges(edges: readonly LineageEdge[]): Promise<void>;
  removeEdges(edges: readonly Pick<LineageEdge, 'from' | 'to' | 'relation'>[]): Promise<void>;
  walk(
    start: NodeRef,
    options: { direction: Direction; maxDepth: number; maxEdges: number },
  ): Promise<WalkResult>;
}

export interface LineageStores {
  lineage: LineageStore;
}
