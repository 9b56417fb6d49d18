import { CairnError, LINEAGE_LIMITS, type OpenLineageRunEvent } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { AccessControl } from '../governance/index.js';
import type { Direction, NodeKind, NodeRef } from './entities.js';
import { buildGraph, idsByKind, nodesOf, type LineageGraph } from './lineage-graph.js';
import { checkDepth, checkDirection, checkNode } from './lineage-validation.js';
import type { LineageStore, WalkResult } from './lineage.store.js';
import type { NodeDescriber, NodeDescription } from './node-describer.js';
import {
  DEFAULT_OPENLINEAGE_NAMESPACE,
  DEFAULT_OPENLINEAGE_PRODUCER,
  toOpenLineageEvents,
} from './openlineage.js';

export interface LineageServiceDeps {
  /** For reads; writes happen in other modules' transactions (recordEdges). */
  store: LineageStore;
  clock: Clock;
  access: AccessControl;
  openLineage?: { namespace?: string; producer?: string };
}

/** A node as callers name it; checked here, so every face gets the same answers. */
export interface RawNode {
  kind: unknown;
  id: unknown;
}

/**
 * Lineage reads: walks of the graph other modules record, labelled by the
 * describers those modules register. An unknown node is not an error: it
 * stands alone in its graph, labelled by its id.
 *
 * Permissions: the caller must be able to read the start node's project
 * (describers report each node's project). A walk crosses projects — a
 * dataset logged in one project feeds a model registered in another — so
 * nodes of projects the caller cannot read are kept but redacted to their
 * kind and id: the caller learns that an upstream step exists (which an
 * auditor of the model needs) but not its name, status or attributes.
 */
export class LineageService {
  private readonly describers = new Map<NodeKind, NodeDescriber>();

  constructor(private readonly deps: LineageServiceDeps) {}

  /** Called by app.ts, once per kind, with the owning module's describer. */
  registerDescriber(kind: NodeKind, describer: NodeDescriber): void {
    if (this.describers.has(kind)) {
      throw new CairnError('INTERNAL', `a lineage describer for ${kind} is already registered`);
    }
    this.describers.set(kind, describer);
  }

  /** Where the node came from: everything with a path of edges into it, up to `depth` edges away. */
  async upstream(node: RawNode, options: { depth?: unknown } = {}): Promise<LineageGraph> {
    return this.graph(checkNode(node), { direction: 'upstream', maxDepth: checkDepth(options.depth) });
  }

  /** What the node went into: everything a path of edges leads to from it, up to `depth` edges away. */
  async downstream(node: RawNode, options: { depth?: unknown } = {}): Promise<LineageGraph> {
    return this.graph(checkNode(node), { direction: 'downstream', maxDepth: checkDepth(options.depth) });
  }

  /**
   * The full provenance of a model version (or any node) in one call: its whole
   * upstream, to the deepest depth allowed, cut at the edge limit.
   */
  async provenance(node: RawNode): Promise<LineageGraph> {
    return this.graph(checkNode(node), { direction: 'upstream', maxDepth: LINEAGE_LIMITS.maxDepth });
  }

  /** The walked graph as OpenLineage run events, one per run. */
  async openLineage(
    node: RawNode,
    options: { direction?: unknown; depth?: unknown } = {},
  ): Promise<OpenLineageRunEvent[]> {
    const start = checkNode(node);
    const direction = checkDirection(options.direction);
    const maxDepth = checkDepth(options.depth);
    const graph = await this.graph(start, { direction, maxDepth });
    return toOpenLineageEvents(graph, {
      namespace: this.deps.openLineage?.namespace ?? DEFAULT_OPENLINEAGE_NAMESPACE,
      producer: this.deps.openLineage?.producer ?? DEFAULT_OPENLINEAGE_PRODUCER,
      now: this.deps.clock.now(),
    });
  }

  private async graph(
    root: NodeRef,
    walk: { direction: Direction; maxDepth: number },
  ): Promise<LineageGraph> {
    const result = await this.deps.store.walk(root, { ...walk, maxEdges: LINEAGE_LIMITS.maxEdges });
    const descriptions = await this.describe(result, root);
    const { access } = this.deps;
    const rootProject = descriptions.get(root.kind)?.get(root.id)?.projectId;
    if (rootProject !== undefined && rootProject !== null) {
      access.require('read', rootProject, {
        action: 'lineage.read',
        target: { kind: root.kind, id: root.id },
      });
    }
    const readable = new Map<string, boolean>();
    const visible = ({ projectId }: NodeDescription): boolean => {
      if (projectId === undefined || projectId === null) return true;
      let allowed = readable.get(projectId);
      if (allowed === undefined) readable.set(projectId, (allowed = access.can('read', projectId)));
      return allowed;
    };
    return buildGraph({ root, walk: result, descriptions, visible });
  }

  /** One describe call per kind present, all at once: a graph costs a query per kind, not per node. */
  private async describe(
    walk: WalkResult,
    root: NodeRef,
  ): Promise<Map<NodeKind, ReadonlyMap<string, NodeDescription>>> {
    const groups = [...idsByKind(nodesOf(root, walk))];
    const described = await Promise.all(
      groups.map(async ([kind, ids]) => {
        const describer = this.describers.get(kind);
        return [kind, describer === undefined ? new Map() : await describer.describe(kind, ids)] as const;
      }),
    );
    return new Map(described);
  }
}
