import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';

/**
 * Multi-row inserts on the hot path (1000 metric points per call) spend a third
 * of their time having Kysely build and compile the same SQL text again. The
 * text depends only on the statement's shape and the row count, so it is
 * compiled once per (shape, count) and reused with fresh parameters. Kysely
 * still writes the SQL, so it stays correct for each dialect.
 */
export class CompiledShapeCache {
  private readonly texts = new Map<string, string>();

  constructor(private readonly maxEntries = 256) {}

  async execute<Row>(
    db: Pick<Kysely<unknown>, 'executeQuery'>,
    shape: { name: string; rows: readonly Row[]; flatten: (row: Row) => readonly unknown[] },
    build: () => Compilable<unknown>,
  ): Promise<QueryResult<unknown>> {
    const key = `${shape.name}:${shape.rows.length}`;
    let text = this.texts.get(key);
    if (text === undefined) {
      const compiled = build().compile();
      const flat = shape.rows.flatMap((row) => shape.flatten(row));
      // Only cache shapes whose parameters are exactly the flattened rows, in order.
      const same =
        compiled.parameters.length === flat.length &&
        compiled.parameters.every((value, i) => Object.is(value, flat[i]));
      if (!same) return db.executeQuery(compiled);
      if (this.texts.size >= this.maxEntries) this.texts.clear();
      text = compiled.sql;
      this.texts.set(key, text);
    }
    const parameters: unknown[] = [];
    for (const row of shape.rows) for (const value of shape.flatten(row)) parameters.push(value);
    return db.executeQuery(CompiledQuery.raw(text, parameters));
  }
}
