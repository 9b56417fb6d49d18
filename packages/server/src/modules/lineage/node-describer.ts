import type { NodeKind } from './entities.js';

/** Any JSON value: scalars mostly (status, times), sometimes a list (a version's aliases). */
export type AttributeValue = unknown;

/** What a person sees of a node: a name, and a few kind-specific details. */
export interface NodeDescription {
  label: string;
  attributes: Readonly<Record<string, AttributeValue>>;
  /**
   * The project the node belongs to, for permission checks; never sent.
   * Null or absent for nodes no project owns (a git commit).
   */
  projectId?: string | null;
}

/**
 * Implemented by the module that owns a node kind (tracking describes runs,
 * datasets and code versions; the registry describes model versions) and
 * registered in app.ts, so lineage never reaches into other modules' tables.
 *
 * Called once per kind per answer with every id of that kind in the graph —
 * never per node — so an implementation reads them in one batched query. Ids
 * it does not know are simply left out of the map.
 */
export interface NodeDescriber {
  describe(kind: NodeKind, ids: readonly string[]): Promise<ReadonlyMap<string, NodeDescription>>;
}
