import { CairnError } from '@cairn/contract';
import { isNodeKind, isRelation, nodeKey, type LineageEdge } from './entities.js';
import type { LineageStores } from './lineage.store.js';

/**
 * How other modules record lineage: inside their own transaction, with the
 * stores it hands them, so the edge commits or rolls back with the change that
 * implies it. Recording an edge twice keeps the first; a self-edge (a run named
 * its own parent) is dropped, as it says nothing about where anything came from.
 */
export async function recordEdges(stores: LineageStores, edges: readonly LineageEdge[]): Promise<void> {
  const kept = edges.filter((edge) => nodeKey(edge.from) !== nodeKey(edge.to));
  for (const edge of kept) {
    // Callers build edges in code, never from user input; a bad one is our bug.
    if (!isNodeKind(edge.from.kind) || !isNodeKind(edge.to.kind) || !isRelation(edge.relation)) {
      throw new CairnError(
        'INTERNAL',
        `invalid lineage edge ${nodeKey(edge.from)} -${edge.relation}-> ${nodeKey(edge.to)}`,
      );
    }
  }
  if (kept.length > 0) await stores.lineage.addEdges(kept);
}

/** The inverse, for a change that withdraws what an edge said (a tag overwritten or deleted). */
export async function removeEdges(
  stores: LineageStores,
  edges: readonly Pick<LineageEdge, 'from' | 'to' | 'relation'>[],
): Promise<void> {
  if (edges.length > 0) await stores.lineage.removeEdges(edges);
}
