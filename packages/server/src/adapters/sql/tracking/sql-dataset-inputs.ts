import type { Kysely } from 'kysely';
import type { DatasetInputRecord, StoredDataset } from '../../../modules/tracking/index.js';
import { newId } from '../../../kernel/ids.js';
import type { SqlHelpers } from '../database.js';
import type { Database } from '../schema.js';
import { chunk } from './row-mappers.js';

/** Dataset inputs of runs: the `datasets`, `inputs` and `input_tags` tables. */
const IDS_PER_QUERY = 900;
const KEY_VALUE_ROWS_PER_INSERT = 1000;

export async function loadDatasetInputs(
  db: Kysely<Database>,
  helpers: SqlHelpers,
  runIds: string[],
): Promise<Map<string, DatasetInputRecord[]>> {
  const result = new Map<string, DatasetInputRecord[]>();
  for (const ids of chunk(runIds, IDS_PER_QUERY)) {
    const rows = await db
      .selectFrom('inputs as i')
      .innerJoin('datasets as d', 'd.dataset_uuid', 'i.source_id')
      .select([
        'i.input_uuid',
        'i.destination_id',
        'd.name',
        'd.digest',
        'd.source_type',
        'd.source',
        'd.schema',
        'd.profile',
      ])
      .where('i.destination_type', '=', 'RUN')
      .where('i.source_type', '=', 'DATASET')
      .where(helpers.anyOf('i.destination_id', ids))
      .orderBy('i.input_uuid')
      .execute();
    if (rows.length === 0) continue;
    const tagRows = await db
      .selectFrom('input_tags')
      .selectAll()
      .where(
        'input_uuid',
        'in',
        rows.map((r) => r.input_uuid),
      )
      .execute();
    const tagsByInput = new Map<string, Array<{ key: string; value: string }>>();
    for (const t of tagRows) {
      const list = tagsByInput.get(t.input_uuid) ?? [];
      list.push({ key: t.key, value: t.value });
      tagsByInput.set(t.input_uuid, list);
    }
    for (const row of rows) {
      const list = result.get(row.destination_id) ?? [];
      list.push({
        dataset: {
          name: row.name,
          digest: row.digest,
          sourceType: row.source_type,
          source: row.source,
          ...(row.schema === null ? {} : { schema: row.schema }),
          ...(row.profile === null ? {} : { profile: row.profile }),
        },
        tags: tagsByInput.get(row.input_uuid) ?? [],
      });
      result.set(row.destination_id, list);
    }
  }
  return result;
}

export async function writeDatasetInputs(
  db: Kysely<Database>,
  target: { experimentId: string; runId: string },
  inputs: DatasetInputRecord[],
): Promise<string[]> {
  const { experimentId, runId } = target;
  const datasetIds: string[] = [];
  for (const input of inputs) {
    const d = input.dataset;
    const existing = await db
      .selectFrom('datasets')
      .select('dataset_uuid')
      .where('experiment_id', '=', experimentId)
      .where('name', '=', d.name)
      .where('digest', '=', d.digest)
      .executeTakeFirst();
    const datasetId = existing?.dataset_uuid ?? newId();
    datasetIds.push(datasetId);
    if (existing === undefined) {
      await db
        .insertInto('datasets')
        .values({
          dataset_uuid: datasetId,
          experiment_id: experimentId,
          name: d.name,
          digest: d.digest,
          source_type: d.sourceType,
          source: d.source,
          schema: d.schema ?? null,
          profile: d.profile ?? null,
        })
        .execute();
    }
    const edge = await db
      .selectFrom('inputs')
      .select('input_uuid')
      .where('source_type', '=', 'DATASET')
      .where('source_id', '=', datasetId)
      .where('destination_type', '=', 'RUN')
      .where('destination_id', '=', runId)
      .executeTakeFirst();
    if (edge !== undefined) continue;
    const inputId = newId();
    await db
      .insertInto('inputs')
      .values({
        input_uuid: inputId,
        source_type: 'DATASET',
        source_id: datasetId,
        destination_type: 'RUN',
        destination_id: runId,
      })
      .execute();
    const tags = [...new Map(input.tags.map((t) => [t.key, t.value]))];
    for (const part of chunk(tags, KEY_VALUE_ROWS_PER_INSERT)) {
      await db
        .insertInto('input_tags')
        .values(part.map(([key, value]) => ({ input_uuid: inputId, key, value })))
        .execute();
    }
  }
  return datasetIds;
}

export async function loadDatasets(
  db: Kysely<Database>,
  helpers: SqlHelpers,
  datasetIds: readonly string[],
): Promise<StoredDataset[]> {
  const result: StoredDataset[] = [];
  for (const ids of chunk([...datasetIds], IDS_PER_QUERY)) {
    const rows = await db
      .selectFrom('datasets')
      .select(['dataset_uuid', 'experiment_id', 'name', 'digest', 'source_type', 'source'])
      .where(helpers.anyOf('dataset_uuid', ids))
      .execute();
    for (const row of rows) {
      result.push({
        datasetId: row.dataset_uuid,
        experimentId: row.experiment_id,
        name: row.name,
        digest: row.digest,
        sourceType: row.source_type,
        source: row.source,
      });
    }
  }
  return result;
}
