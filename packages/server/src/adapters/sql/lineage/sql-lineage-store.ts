import type { Kysely } from 'kysely';
import {
  isRelation,
  nodeKey,
  parseNodeKey,
  type Direction,
  type LineageEdge,
  type LineageStore,
  type NodeRef,
  type WalkedEdge,
  type WalkResult,
} from '../../../modules/lineage/index.js';
import type { SqlHelpers } from '../database.js';
import type { Database, LineageEdgesTable } from '../schema.js';
import { walkSql, type WalkRow } from './walk-sql.js';

// 4 parameters a row: far below SQLite's 32,766 and PostgreSQL's 65,535 per statement.
const EDGE_ROWS_PER_INSERT = 1000;
const EDGES_PER_DELETE = 200;

/** Column order of the insert, as Kysely binds it (see CompiledShapeCache). */
const flattenEdgeRow = (r: LineageEdgesTable): readonly unknown[] => [
  r.from_node,
  r.to_node,
  r.relation,
  r.created_ms,
];

/** The lineage graph in `lineage_edges`; one implementation for SQLite and PostgreSQL. */
export class SqlLineageStore implements LineageStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly helpers: SqlHelpers,
  ) {}

  async addEdges(edges: readonly LineageEdge[]): Promise<void> {
    // One row per key: the first wins, as it would against a row already stored.
    const rows = new Map<string, LineageEdgesTable>();
    for (const edge of edges) {
      const row = {
        from_node: nodeKey(edge.from),
        to_node: nodeKey(edge.to),
        relation: edge.relation,
        created_ms: edge.createdAt,
      };
      const key = `${row.from_node}\u0000${row.to_node}\u0000${row.relation}`;
      if (!rows.has(key)) rows.set(key, row);
    }
    for (const part of chunk([...rows.values()], EDGE_ROWS_PER_INSERT)) {
      await this.helpers.shapes.execute(
        this.db,
        { name: 'lineage_edges', rows: part, flatten: flattenEdgeRow },
        () =>
          this.db
            .insertInto('lineage_edges')
            .values(part)
            .onConflict((oc) => oc.doNothing()),
      );
    }
  }

  async removeEdges(edges: readonly Pick<LineageEdge, 'from' | 'to' | 'relation'>[]): Promise<void> {
    for (const part of chunk([...edges], EDGES_PER_DELETE)) {
      await this.db
        .deleteFrom('lineage_edges')
        .where((eb) =>
          eb.or(
            part.map((edge) =>
              eb.and([
                eb('from_node', '=', nodeKey(edge.from)),
                eb('to_node', '=', nodeKey(edge.to)),
                eb('relation', '=', edge.relation),
              ]),
            ),
          ),
        )
        .execute();
    }
  }

  async walk(
    start: NodeRef,
    options: { direction: Direction; maxDepth: number; maxEdges: number },
  ): Promise<WalkResult> {
    const maxDepth = Math.floor(options.maxDepth);
    const maxEdges = Math.floor(options.maxEdges);
    if (maxDepth < 1 || maxEdges < 1) return { edges: [], truncated: false };
    const { rows } = await walkSql({
      start: nodeKey(start),
      direction: options.direction,
      maxDepth,
      maxEdges,
    }).execute(this.db);
    const edges: WalkedEdge[] = [];
    for (const row of rows.slice(0, maxEdges)) {
      const edge = toWalkedEdge(row);
      if (edge !== undefined) edges.push(edge);
    }
    return { edges, truncated: rows.length > maxEdges };
  }
}

/**
 * Rows naming a kind or relation this server does not know (written by a newer
 * version sharing the database) are left out rather than failing the walk.
 */
function toWalkedEdge(row: WalkRow): WalkedEdge | undefined {
  const from = parseNodeKey(row.from_node);
  const to = parseNodeKey(row.to_node);
  if (from === undefined || to === undefined || !isRelation(row.relation)) return undefined;
  return { from, to, relation: row.relation, createdAt: Number(row.created_ms), depth: Number(row.depth) };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size));
  return parts;
}
