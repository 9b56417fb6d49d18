import type { Kysely } from 'kysely';
import type { LabelHistoryEntry } from '../../../modules/registry/entities.js';
import type { Database } from '../schema.js';
import { toLabelEntry } from './registry-row-mappers.js';

type LabelKind = LabelHistoryEntry['kind'];

/**
 * Alias and stage assignments as intervals [started_ms, ended_ms) in
 * `model_label_history`; the open one has ended_ms null. Rows outlive the
 * versions and models they name, so past states stay answerable.
 */
export async function openLabel(
  db: Kysely<Database>,
  entry: {
    entryId: string;
    modelId: string;
    kind: LabelKind;
    label: string;
    version: number;
    at: number;
    actor: string;
  },
): Promise<void> {
  await db
    .insertInto('model_label_history')
    .values({
      entry_id: entry.entryId,
      model_id: entry.modelId,
      kind: entry.kind,
      label: entry.label,
      version: entry.version,
      started_ms: entry.at,
      ended_ms: null,
      started_by: entry.actor,
      ended_by: null,
    })
    .execute();
}

/** Ends the open intervals of `kind` on the model, narrowed by label and/or version when given. */
export async function closeLabels(
  db: Kysely<Database>,
  query: { modelId: string; kind: LabelKind; label?: string; version?: number; at: number; actor: string },
): Promise<void> {
  let update = db
    .updateTable('model_label_history')
    .set({ ended_ms: query.at, ended_by: query.actor })
    .where('model_id', '=', query.modelId)
    .where('kind', '=', query.kind)
    .where('ended_ms', 'is', null);
  if (query.label !== undefined) update = update.where('label', '=', query.label);
  if (query.version !== undefined) update = update.where('version', '=', query.version);
  await update.execute();
}

/** Newest first; with `at`, only the intervals covering that instant (started <= at < ended). */
export async function labelHistory(
  db: Kysely<Database>,
  modelId: string,
  query: { kind?: LabelKind; label?: string; at?: number; limit: number },
): Promise<LabelHistoryEntry[]> {
  let select = db.selectFrom('model_label_history').selectAll().where('model_id', '=', modelId);
  if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
  if (query.label !== undefined) select = select.where('label', '=', query.label);
  const { at } = query;
  if (at !== undefined) {
    select = select
      .where('started_ms', '<=', at)
      .where((eb) => eb.or([eb('ended_ms', 'is', null), eb('ended_ms', '>', at)]));
  }
  const rows = await select
    .orderBy('started_ms', 'desc')
    // A move closes one interval and opens the next in the same millisecond:
    // the open (newer) one comes first; the entry id only makes the order total.
    .orderBy((eb) => eb('ended_ms', 'is', null), 'desc')
    .orderBy('ended_ms', 'desc')
    .orderBy('entry_id', 'asc')
    .limit(query.limit)
    .execute();
  return rows.map(toLabelEntry);
}
