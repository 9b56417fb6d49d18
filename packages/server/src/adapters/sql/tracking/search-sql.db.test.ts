import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExperimentOrderBy, parseRunOrderBy } from '../../../modules/tracking/order-by.js';
import {
  parseExperimentFilter,
  parseRunFilter,
  type FilterExpr,
} from '../../../modules/tracking/search-filter.js';
import { describeEachDatabase } from '../../../testing/test-databases.js';
import { experimentFilterSql, experimentOrderBySql, runSearchSql } from './search-sql.js';

describeEachDatabase('search SQL', ({ dialect, database }) => {
  // r1..r4, started in that order; see each test for the fields it uses.
  beforeAll(async () => {
    const { db } = database();
    if (dialect === 'sqlite') await sql`pragma case_sensitive_like = ON`.execute(db);
    await db.insertInto('projects').values({ project_id: 'p', name: 'p', created_ms: 0 }).execute();
    await db
      .insertInto('experiments')
      .values(
        [
          ['1', 'alpha', 100, 900],
          ['2', 'beta', 200, 800],
          ['10', 'Gamma', 300, 700],
        ].map(([experiment_id, name, creation_ms, last_update_ms]) => ({
          experiment_id: experiment_id as string,
          project_id: 'p',
          name: name as string,
          artifact_location: `file:///a/${experiment_id}`,
          lifecycle_stage: 'active',
          creation_ms: creation_ms as number,
          last_update_ms: last_update_ms as number,
        })),
      )
      .execute();
    await db
      .insertInto('experiment_tags')
      .values([
        { experiment_id: '1', key: 'team', value: 'vision' },
        { experiment_id: '10', key: 'team', value: 'nlp' },
      ])
      .execute();
    const run = (
      run_uuid: string,
      run_name: string,
      user_id: string,
      status: string,
      start_ms: number,
      end_ms: number | null,
    ) => ({
      run_uuid,
      experiment_id: '1',
      run_name,
      user_id,
      status,
      start_ms,
      end_ms,
      lifecycle_stage: 'active',
      artifact_uri: `s3://bucket/${run_uuid}`,
      deleted_ms: null,
    });
    await db
      .insertInto('runs')
      .values([
        run('r1', 'alpha', 'bob', 'FINISHED', 1000, 2000),
        run('r2', 'Beta', 'alice', 'FAILED', 2000, null),
        run('r3', 'gamma', 'Bob', 'RUNNING', 3000, 3500),
        run('r4', 'delta', 'carol', 'FINISHED', 4000, 5000),
      ])
      .execute();
    const metric = (run_uuid: string, key: string, value: number) => ({
      run_uuid,
      key,
      step: 0,
      timestamp_ms: 0,
      value: Number.isNaN(value) ? 0 : value,
      is_nan: Number.isNaN(value) ? 1 : 0,
    });
    await db
      .insertInto('latest_metrics')
      .values([
        metric('r1', 'acc', 0.9),
        metric('r2', 'acc', 0.5),
        metric('r3', 'acc', Number.NaN),
        metric('r1', 'loss', 1),
        metric('r4', 'loss', -2),
      ])
      .execute();
    await db
      .insertInto('params')
      .values([
        { run_uuid: 'r1', key: 'model', value: 'tree' },
        { run_uuid: 'r2', key: 'model', value: 'Tree' },
        { run_uuid: 'r3', key: 'model', value: 'forest' },
        { run_uuid: 'r1', key: 'lr', value: '0.1' },
        { run_uuid: 'r4', key: 'lr', value: '0.01' },
      ])
      .execute();
    await db
      .insertInto('tags')
      .values([
        { run_uuid: 'r1', key: 'mlflow.user', value: 'bob smith' },
        { run_uuid: 'r2', key: 'mlflow.user', value: 'Bobby' },
        { run_uuid: 'r3', key: 'mlflow.user', value: 'alice' },
        { run_uuid: 'r4', key: 'note', value: '100%' },
        { run_uuid: 'r3', key: 'note', value: '1000' },
        { run_uuid: 'r2', key: 'path', value: 'C:\\data' },
        { run_uuid: 'r1', key: 'path', value: 'D:\\' },
        { run_uuid: 'r1', key: 'rank', value: 'b' },
        { run_uuid: 'r3', key: 'rank', value: 'a' },
        { run_uuid: 'r4', key: 'rank', value: 'c' },
      ])
      .execute();
    await db
      .insertInto('datasets')
      .values([
        {
          dataset_uuid: 'd1',
          experiment_id: '1',
          name: 'train-set',
          digest: 'abc',
          source_type: 'local',
          source: '{}',
          schema: null,
          profile: null,
        },
        {
          dataset_uuid: 'd2',
          experiment_id: '1',
          name: 'eval',
          digest: 'def',
          source_type: 'local',
          source: '{}',
          schema: null,
          profile: null,
        },
      ])
      .execute();
    const input = (input_uuid: string, dataset: string, runId: string) => ({
      input_uuid,
      source_type: 'DATASET',
      source_id: dataset,
      destination_type: 'RUN',
      destination_id: runId,
    });
    await db
      .insertInto('inputs')
      .values([input('i1', 'd1', 'r1'), input('i2', 'd2', 'r2'), input('i3', 'd1', 'r3')])
      .execute();
    await db
      .insertInto('input_tags')
      .values([
        { input_uuid: 'i1', key: 'mlflow.data.context', value: 'training' },
        { input_uuid: 'i2', key: 'mlflow.data.context', value: 'eval' },
        { input_uuid: 'i3', key: 'mlflow.data.context', value: 'eval' },
      ])
      .execute();
  });

  async function runIds(filter: string, orderBy: string[] = []): Promise<string[]> {
    return runIdsOf(parseRunFilter(filter), orderBy);
  }

  async function runIdsOf(expr: FilterExpr | undefined, orderBy: string[] = []): Promise<string[]> {
    const statement = runSearchSql({ scope: [], filter: expr, orderBy: parseRunOrderBy(orderBy) });
    const { rows } = await statement.execute(database().db);
    return rows.map((row) => String(row['run_uuid']));
  }

  async function experimentIds(filter: string, orderBy: string[] = []): Promise<string[]> {
    const expr = parseExperimentFilter(filter);
    let query = database().db.selectFrom('experiments as e').select('e.experiment_id');
    if (expr !== undefined) query = query.where(experimentFilterSql(expr));
    for (const item of experimentOrderBySql(parseExperimentOrderBy(orderBy))) query = query.orderBy(item);
    return (await query.execute()).map((row) => row.experiment_id);
  }

  // Default order is start_time DESC, so expected ids read r4 → r1.
  describe('filters', () => {
    it.each<[string, string[]]>([
      ['', ['r4', 'r3', 'r2', 'r1']],
      // metrics: latest value; NaN matches only !=; runs without the key never match
      ['metrics.acc > 0.6', ['r1']],
      ['metrics.acc < 1', ['r2', 'r1']],
      ['metrics.acc >= 0.5', ['r2', 'r1']],
      ['metrics.acc = 0', []],
      ['metrics.acc <= 0', []],
      ['metrics.acc != 0.9', ['r3', 'r2']],
      ['metrics.loss < 0', ['r4']],
      ['metrics.loss = 1', ['r1']],
      ['metrics.nothing != 1', []],
      // params
      ["params.model = 'tree'", ['r1']],
      ["params.model LIKE 't%'", ['r1']],
      ["params.model ILIKE 't%'", ['r2', 'r1']],
      ["params.model ILIKE 'TREE'", ['r2', 'r1']],
      ["params.model != 'tree'", ['r3', 'r2']],
      ['params.model IS NULL', ['r4']],
      ['params.model IS NOT NULL', ['r3', 'r2', 'r1']],
      ["params.model IN ('tree', 'forest')", ['r3', 'r1']],
      ["params.model NOT IN ('tree')", ['r3', 'r2']],
      ["params.model = 'x'' or 1=1 --'", []],
      // tags
      ['tags."mlflow.user" LIKE \'%bob%\'', ['r1']],
      ["tags.`mlflow.user` ILIKE '%bob%'", ['r2', 'r1']],
      ["tags.note LIKE '100\\%'", ['r4']],
      ["tags.note LIKE '100%'", ['r4', 'r3']],
      ["tags.note LIKE '1_0%'", ['r4', 'r3']],
      ["tags.note LIKE '10\\_%'", []],
      // string escapes first (\\ is one backslash), then LIKE escapes (\ before %, _ or \)
      ["tags.path LIKE 'C:\\\\\\\\%'", ['r2']],
      ["tags.path LIKE 'C:\\\\%'", []],
      ["tags.path = 'C:\\\\data'", ['r2']],
      ["tags.path LIKE '%\\\\'", ['r1']],
      // attributes
      ["attributes.status = 'FINISHED'", ['r4', 'r1']],
      ["status != 'FINISHED'", ['r3', 'r2']],
      ["run_name ILIKE 'b%'", ['r2']],
      ["run_name LIKE 'b%'", []],
      ["attributes.user_id LIKE 'b%'", ['r1']],
      ["attributes.run_id IN ('r1', 'r3')", ['r3', 'r1']],
      ["run_id NOT IN ('r1', 'r3')", ['r4', 'r2']],
      ["artifact_uri LIKE 's3://bucket/r_'", ['r4', 'r3', 'r2', 'r1']],
      ["lifecycle_stage = 'active'", ['r4', 'r3', 'r2', 'r1']],
      ['lifecycle_stage IS NULL', []],
      ['start_time >= 2000 and end_time < 4000', ['r3']],
      ['created > 3500', ['r4']],
      ['start_time > 1999.5', ['r4', 'r3', 'r2']],
      ['end_time != 2000', ['r4', 'r3']],
      ['start_time > 100000000000000000000', []],
      // datasets
      ["datasets.name = 'train-set'", ['r3', 'r1']],
      ["datasets.name LIKE 'train%' and datasets.context = 'eval'", ['r3']],
      ["datasets.context = 'eval'", ['r3', 'r2']],
      ["datasets.digest IN ('def')", ['r2']],
      ["datasets.context ILIKE 'TRAIN%'", ['r1']],
      ["datasets.name != 'eval'", ['r3', 'r1']],
      // OR and parentheses
      ["status = 'FAILED' OR (params.model = 'tree' AND metrics.acc > 0.5)", ['r2', 'r1']],
      ["(status = 'FAILED' OR params.model = 'tree') AND metrics.acc > 0.6", ['r1']],
      ["status = 'FAILED' OR params.model = 'tree' AND metrics.acc > 0.6", ['r2', 'r1']],
      ["metrics.loss < 0 or tags.note = '1000' or run_name = 'alpha'", ['r4', 'r3', 'r1']],
    ])('%s', async (filter, expected) => {
      expect(await runIds(filter)).toEqual(expected);
    });

    it('treats empty and/or lists as true/false', async () => {
      expect(await runIdsOf({ kind: 'and', items: [] })).toEqual(['r4', 'r3', 'r2', 'r1']);
      expect(await runIdsOf({ kind: 'or', items: [] })).toEqual([]);
    });
  });

  describe('order by', () => {
    it.each<[string[], string[]]>([
      [[], ['r4', 'r3', 'r2', 'r1']],
      [['metrics.acc DESC'], ['r1', 'r2', 'r3', 'r4']],
      [['metrics.acc ASC'], ['r2', 'r1', 'r3', 'r4']],
      [['metrics.loss'], ['r4', 'r1', 'r3', 'r2']],
      [['params.lr ASC'], ['r4', 'r1', 'r3', 'r2']],
      [['params.lr DESC'], ['r1', 'r4', 'r3', 'r2']],
      [
        ['tags.rank', 'start_time'],
        ['r3', 'r1', 'r4', 'r2'],
      ],
      [['tags.rank DESC'], ['r4', 'r1', 'r3', 'r2']],
      [['end_time DESC'], ['r4', 'r3', 'r1', 'r2']],
      [['end_time ASC'], ['r1', 'r3', 'r4', 'r2']],
      [['start_time'], ['r1', 'r2', 'r3', 'r4']],
      [
        ['status ASC', 'start_time ASC'],
        ['r2', 'r1', 'r4', 'r3'],
      ],
      [['status DESC'], ['r3', 'r4', 'r1', 'r2']],
      [['run_id DESC'], ['r4', 'r3', 'r2', 'r1']],
      [
        ['status', 'metrics.loss DESC'],
        ['r2', 'r1', 'r4', 'r3'],
      ],
    ])('%j', async (orderBy, expected) => {
      expect(await runIds('', orderBy)).toEqual(expected);
    });

    it('combines with a filter', async () => {
      expect(await runIds("status = 'FINISHED' or metrics.acc < 1", ['metrics.acc DESC'])).toEqual([
        'r1',
        'r2',
        'r4',
      ]);
    });
  });

  describe('experiments', () => {
    it.each<[string, string[], string[]]>([
      // Without order_by: newest first (MLflow's default), then by id.
      ['', [], ['10', '2', '1']],
      ["name LIKE 'a%'", [], ['1']],
      ["name ILIKE 'g%'", [], ['10']],
      ["name LIKE 'g%'", [], []],
      ['creation_time > 150', [], ['10', '2']],
      ['last_update_time <= 800 and creation_time >= 200', [], ['10', '2']],
      ["experiment_id IN ('1', '10')", [], ['10', '1']],
      ["tags.team = 'nlp' or tags.team = 'vision'", [], ['10', '1']],
      ['tags.team IS NULL', [], ['2']],
      ["tags.team != 'nlp'", [], ['1']],
      ['', ['experiment_id DESC'], ['10', '2', '1']],
      ['', ['experiment_id ASC'], ['1', '2', '10']],
      ['', ['creation_time DESC'], ['10', '2', '1']],
      ['', ['last_update_time'], ['10', '2', '1']],
      ['', ['tags.team'], ['10', '1', '2']],
      ['', ['tags.team DESC'], ['1', '10', '2']],
    ])('%s %j', async (filter, orderBy, expected) => {
      expect(await experimentIds(filter, orderBy)).toEqual(expected);
    });
  });
});
