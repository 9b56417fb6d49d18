import { describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type {
  ModelVersionRecord,
  PinnedFile,
  RegisteredModelRecord,
} from '../../../modules/registry/entities.js';
import { MODEL_VERSION_SEARCH, REGISTERED_MODEL_SEARCH } from '../../../modules/registry/registry-search.js';
import type { NewModelVersion, RegistryStore } from '../../../modules/registry/registry.store.js';
import { parseFilter, parseOrderBy } from '../../../modules/tracking/index.js';
import { describeEachDatabase } from '../../../testing/test-databases.js';
import type { Database } from '../schema.js';
import { createSqlStores } from '../sql-stores.js';

const NOW = 1_700_000_000_000;
const DIGEST = `sha256:${'ab'.repeat(32)}` as const;

describeEachDatabase('SqlRegistryStore', ({ database }) => {
  let counter = 0;
  const unique = (base: string): string => `${base}-${counter++}`;

  async function store(): Promise<RegistryStore> {
    const stores = createSqlStores(database().db, database().helpers);
    await stores.tracking.ensureProject('default', 'default', NOW);
    return stores.registry;
  }

  async function createModel(
    registry: RegistryStore,
    input: { name: string; tags?: Record<string, string>; at?: number; projectId?: string },
  ): Promise<RegisteredModelRecord> {
    const model: RegisteredModelRecord = {
      modelId: unique('model'),
      projectId: input.projectId ?? 'default',
      name: input.name,
      description: `about ${input.name}`,
      creationTime: input.at ?? NOW,
      lastUpdateTime: input.at ?? NOW,
      tags: input.tags ?? {},
      aliases: {},
    };
    await registry.insertModel(model);
    return model;
  }

  async function createVersion(
    registry: RegistryStore,
    model: RegisteredModelRecord,
    input: Partial<NewModelVersion> & { files?: PinnedFile[] } = {},
  ): Promise<NewModelVersion> {
    const { files = [], ...fields } = input;
    const version: NewModelVersion = {
      versionId: unique('version'),
      modelId: model.modelId,
      name: model.name,
      version: await registry.nextVersionNumber(model.modelId),
      description: '',
      userId: 'alice',
      status: 'READY',
      statusMessage: '',
      stage: 'None',
      source: 'runs:/r1/model',
      runId: null,
      runLink: '',
      format: 'opaque',
      digest: DIGEST,
      fileCount: files.length,
      sizeBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0),
      signature: null,
      formatDetails: {},
      creationTime: NOW,
      lastUpdateTime: NOW,
      tags: {},
      ...fields,
    };
    await registry.insertVersion(version, files);
    return version;
  }

  const count = async (table: keyof Database, where: { column: string; value: string }): Promise<number> => {
    const db = database().db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(where.column, '=', where.value)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  describe('registered models', () => {
    it('stores a model with its tags and reads it by name and by id', async () => {
      const registry = await store();
      const name = unique('crud');
      const model = await createModel(registry, { name, tags: { team: 'risk', tier: '1' } });
      expect(await registry.getModelByName(name)).toEqual(model);
      expect(await registry.getModelsByIds([model.modelId, 'missing'])).toEqual([model]);
      expect(await registry.getModelsByIds([])).toEqual([]);
      expect(await registry.getModelByName(`${name}-missing`)).toBeUndefined();
    });

    it('renames, edits the description, and keeps the other fields', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('rename') });
      await registry.updateModel(model.modelId, { name: `${model.name}-new`, lastUpdateTime: NOW + 1 });
      await registry.updateModel(model.modelId, { description: 'changed', lastUpdateTime: NOW + 2 });
      expect(await registry.getModelByName(model.name)).toBeUndefined();
      expect(await registry.getModelByName(`${model.name}-new`)).toEqual({
        ...model,
        name: `${model.name}-new`,
        description: 'changed',
        lastUpdateTime: NOW + 2,
      });
    });

    it('upserts and deletes tags', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('tags'), tags: { a: '1' } });
      await registry.setModelTag(model.modelId, 'a', '2');
      await registry.setModelTag(model.modelId, 'b', '3');
      expect((await registry.getModelByName(model.name))?.tags).toEqual({ a: '2', b: '3' });
      expect(await registry.deleteModelTag(model.modelId, 'a')).toBe(true);
      expect(await registry.deleteModelTag(model.modelId, 'a')).toBe(false);
      expect((await registry.getModelByName(model.name))?.tags).toEqual({ b: '3' });
    });

    it('refuses a second model of the same name', async () => {
      const registry = await store();
      const name = unique('dup');
      await createModel(registry, { name });
      await expect(createModel(registry, { name })).rejects.toThrow();
    });
  });

  describe('model versions', () => {
    it('round-trips every field, JSON columns included', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('rt') });
      const written = await createVersion(registry, model, {
        description: 'first',
        runId: 'run-1',
        runLink: 'http://x/run-1',
        format: 'onnx',
        signature: {
          source: 'onnx',
          inputs: [{ name: 'x', type: 'FP32', shape: [-1, 4], dimNames: ['batch', null] }],
          outputs: [{ name: 'y', type: 'INT64' }],
        },
        formatDetails: { opsets: { '': 17 }, producer: 'torch', warnings: ['w'] },
        tags: { validated: 'yes' },
        files: [{ path: 'model.onnx', digest: DIGEST, sizeBytes: 2 ** 40 }],
      });
      const expected: ModelVersionRecord = { ...written, aliases: [] };
      expect(expected.sizeBytes).toBe(2 ** 40);
      expect(await registry.getVersion(model.modelId, 1)).toEqual(expected);
      expect(await registry.getVersionById(written.versionId)).toEqual(expected);
      expect(await registry.getVersionsByIds([written.versionId, 'missing'])).toEqual([expected]);
      expect(await registry.getVersion(model.modelId, 2)).toBeUndefined();
    });

    it('carries the model name, also after a rename', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('named') });
      const v = await createVersion(registry, model);
      await registry.updateModel(model.modelId, { name: `${model.name}-renamed`, lastUpdateTime: NOW });
      expect((await registry.getVersionById(v.versionId))?.name).toBe(`${model.name}-renamed`);
    });

    it('never reuses a version number, even after the newest version is deleted', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('numbers') });
      const numbers = [];
      for (let i = 0; i < 3; i++) numbers.push((await createVersion(registry, model)).version);
      expect(numbers).toEqual([1, 2, 3]);
      const third = await registry.getVersion(model.modelId, 3);
      await registry.deleteVersion(third?.versionId ?? '');
      expect((await createVersion(registry, model)).version).toBe(4);
    });

    it('patches description, stage and status, and lists versions in a stage', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('patch') });
      const v1 = await createVersion(registry, model);
      const v2 = await createVersion(registry, model);
      await registry.updateVersion(v1.versionId, {
        description: 'd',
        stage: 'Production',
        status: 'FAILED_REGISTRATION',
        statusMessage: 'boom',
        lastUpdateTime: NOW + 5,
      });
      await registry.updateVersion(v2.versionId, { stage: 'Production', lastUpdateTime: NOW + 6 });
      expect(await registry.getVersionById(v1.versionId)).toMatchObject({
        description: 'd',
        stage: 'Production',
        status: 'FAILED_REGISTRATION',
        statusMessage: 'boom',
        lastUpdateTime: NOW + 5,
      });
      const inProduction = await registry.versionsInStage(model.modelId, 'Production');
      expect(inProduction.map((v) => v.version)).toEqual([1, 2]);
      expect(await registry.versionsInStage(model.modelId, 'Staging')).toEqual([]);
    });

    it('upserts and deletes version tags', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('vtags') });
      const v = await createVersion(registry, model, { tags: { a: '1' } });
      await registry.setVersionTag(v.versionId, 'a', '2');
      await registry.setVersionTag(v.versionId, 'b', '3');
      expect((await registry.getVersionById(v.versionId))?.tags).toEqual({ a: '2', b: '3' });
      expect(await registry.deleteVersionTag(v.versionId, 'b')).toBe(true);
      expect(await registry.deleteVersionTag(v.versionId, 'b')).toBe(false);
      expect((await registry.getVersionById(v.versionId))?.tags).toEqual({ a: '2' });
    });

    it('returns the highest version per stage, for all stages or the ones asked', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('latest') });
      const stages = ['Production', 'Staging', 'Production', 'None', 'Staging', 'Archived'] as const;
      for (const stage of stages) await createVersion(registry, model, { stage });
      const summary = (versions: ModelVersionRecord[]) => versions.map((v) => `${v.stage}:${v.version}`);
      expect(summary(await registry.latestVersions(model.modelId, []))).toEqual([
        'None:4',
        'Staging:5',
        'Production:3',
        'Archived:6',
      ]);
      expect(summary(await registry.latestVersions(model.modelId, ['Production', 'Staging']))).toEqual([
        'Production:3',
        'Staging:5',
      ]);
      const other = await createModel(registry, { name: unique('latest-empty') });
      expect(await registry.latestVersions(other.modelId, [])).toEqual([]);

      // A page of models in one read gives each model exactly what latestVersions gives it.
      const third = await createModel(registry, { name: unique('latest-third') });
      await createVersion(registry, third, { stage: 'Production' });
      const batch = await registry.latestVersionsOfModels([model.modelId, other.modelId, third.modelId]);
      expect(summary(batch.get(model.modelId) ?? [])).toEqual(
        summary(await registry.latestVersions(model.modelId, [])),
      );
      expect(batch.get(other.modelId)).toEqual([]);
      expect(summary(batch.get(third.modelId) ?? [])).toEqual(['Production:1']);
      expect(await registry.latestVersionsOfModels([])).toEqual(new Map());
    });
  });

  describe('aliases', () => {
    it('shows aliases on the model (alias → version) and on each version (sorted names)', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('alias') });
      const v1 = await createVersion(registry, model);
      const v2 = await createVersion(registry, model);
      await registry.setAlias(model.modelId, 'champion', 1);
      await registry.setAlias(model.modelId, 'baseline', 1);
      await registry.setAlias(model.modelId, 'challenger', 2);
      expect((await registry.getModelByName(model.name))?.aliases).toEqual({
        champion: 1,
        baseline: 1,
        challenger: 2,
      });
      expect((await registry.getVersionById(v1.versionId))?.aliases).toEqual(['baseline', 'champion']);

      await registry.setAlias(model.modelId, 'champion', 2);
      const [r1, r2] = await registry
        .getVersionsByIds([v1.versionId, v2.versionId])
        .then((vs) => [...vs].sort((a, b) => a.version - b.version));
      expect(r1?.aliases).toEqual(['baseline']);
      expect(r2?.aliases).toEqual(['challenger', 'champion']);

      expect(await registry.deleteAlias(model.modelId, 'baseline')).toBe(true);
      expect(await registry.deleteAlias(model.modelId, 'baseline')).toBe(false);
      expect(await registry.deleteAliasesOf(model.modelId, 2)).toEqual(['challenger', 'champion']);
      expect((await registry.getModelByName(model.name))?.aliases).toEqual({});
    });
  });

  describe('deletion', () => {
    it('deletes a version with its tags, files, card and aliases', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('delv') });
      const keep = await createVersion(registry, model, { files: files(3) });
      const gone = await createVersion(registry, model, { tags: { t: '1' }, files: files(3) });
      await registry.putCard(gone.versionId, card('x'), NOW, 'alice');
      await registry.setAlias(model.modelId, 'champion', gone.version);
      await registry.deleteVersion(gone.versionId);
      expect(await registry.getVersionById(gone.versionId)).toBeUndefined();
      for (const table of ['model_version_tags', 'model_version_files', 'model_cards'] as const) {
        expect(await count(table, { column: 'version_id', value: gone.versionId })).toBe(0);
      }
      expect((await registry.getModelByName(model.name))?.aliases).toEqual({});
      expect(await registry.listFiles(keep.versionId, '')).toHaveLength(3);
    });

    it('deletes a model with everything below it, keeping the label history', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('delm'), tags: { a: 'b' } });
      const other = await createModel(registry, { name: unique('delm-other'), tags: { a: 'b' } });
      const keep = await createVersion(registry, other, { tags: { t: '1' }, files: files(2) });
      const versions = [];
      for (let i = 0; i < 2; i++) {
        versions.push(await createVersion(registry, model, { tags: { t: '1' }, files: files(2) }));
      }
      for (const v of versions) await registry.putCard(v.versionId, card('c'), NOW, 'alice');
      await registry.setAlias(model.modelId, 'champion', 1);
      await registry.openLabel({
        entryId: unique('entry'),
        modelId: model.modelId,
        kind: 'alias',
        label: 'champion',
        version: 1,
        at: NOW,
        actor: 'alice',
      });

      await registry.deleteModel(model.modelId);

      expect(await registry.getModelByName(model.name)).toBeUndefined();
      const byModel = { column: 'model_id', value: model.modelId };
      for (const table of [
        'registered_models',
        'registered_model_tags',
        'model_versions',
        'model_aliases',
      ] as const) {
        expect(await count(table, byModel)).toBe(0);
      }
      for (const v of versions) {
        const byVersion = { column: 'version_id', value: v.versionId };
        for (const table of ['model_version_tags', 'model_version_files', 'model_cards'] as const) {
          expect(await count(table, byVersion)).toBe(0);
        }
      }
      expect(await count('model_label_history', byModel)).toBe(1);
      expect(await registry.getVersionById(keep.versionId)).toMatchObject({ tags: { t: '1' } });
      expect(await registry.listFiles(keep.versionId, '')).toHaveLength(2);
    });
  });

  describe('search', () => {
    // Names share a prefix per dialect suite so other tests' models never match.
    const P = 'srch';
    let registry: RegistryStore;
    let prepared: Promise<void> | undefined;

    // alpha: v1 None run-a onnx, v2 Staging run-b onnx, v3 Production (no run) mlflow
    // beta_x: v1 Production run-a opaque, v2 None run-c onnx
    // gamma%: no versions
    function prepare(): Promise<void> {
      prepared ??= (async () => {
        registry = await store();
        const alpha = await createModel(registry, {
          name: `${P}-alpha`,
          tags: { team: 'risk', tier: '1' },
          at: NOW + 10,
        });
        const beta = await createModel(registry, {
          name: `${P}-beta_x`,
          tags: { team: 'ops' },
          at: NOW + 30,
        });
        await createModel(registry, { name: `${P}-gamma%`, at: NOW + 20 });
        const versions: Array<[RegisteredModelRecord, Partial<NewModelVersion>]> = [
          [alpha, { stage: 'None', runId: 'run-a', format: 'onnx', tags: { validated: 'yes' } }],
          [alpha, { stage: 'Staging', runId: 'run-b', format: 'onnx', source: 's3://b/alpha/2' }],
          [alpha, { stage: 'Production', runId: null, format: 'mlflow', tags: { validated: 'no' } }],
          [beta, { stage: 'Production', runId: 'run-a', format: 'opaque' }],
          [beta, { stage: 'None', runId: 'run-c', format: 'onnx', tags: { validated: 'yes' } }],
        ];
        let at = NOW;
        for (const [model, fields] of versions) {
          at += 100;
          await createVersion(registry, model, { ...fields, creationTime: at, lastUpdateTime: at });
        }
        await registry.setAlias(alpha.modelId, 'champion', 3);
      })();
      return prepared;
    }

    const searchModels = async (filter: string, orderBy: string[] = [], page = { offset: 0, limit: 50 }) => {
      await prepare();
      const text = filter === '' ? `name LIKE '${P}-%'` : `name LIKE '${P}-%' AND (${filter})`;
      return registry.searchModels({
        filter: parseFilter(text, REGISTERED_MODEL_SEARCH),
        orderBy: parseOrderBy(orderBy, REGISTERED_MODEL_SEARCH),
        ...page,
      });
    };

    const searchVersions = async (
      filter: string,
      orderBy: string[] = [],
      page = { offset: 0, limit: 50 },
    ) => {
      await prepare();
      const text = filter === '' ? `name LIKE '${P}-%'` : `name LIKE '${P}-%' AND (${filter})`;
      return registry.searchVersions({
        filter: parseFilter(text, MODEL_VERSION_SEARCH),
        orderBy: parseOrderBy(orderBy, MODEL_VERSION_SEARCH),
        ...page,
      });
    };

    const short = (name: string): string => name.slice(P.length + 1);

    it.each([
      ['', ['alpha', 'beta_x', 'gamma%']],
      ["name = 'srch-alpha'", ['alpha']],
      ["name != 'srch-alpha'", ['beta_x', 'gamma%']],
      ["name LIKE 'srch-%a'", ['alpha']],
      ["name LIKE '%\\_x'", ['beta_x']],
      ["name LIKE '%\\%'", ['gamma%']],
      ["name LIKE 'SRCH-ALPHA'", []],
      ["name ILIKE 'SRCH-ALPHA'", ['alpha']],
      ["name IN ('srch-alpha', 'srch-gamma%')", ['alpha', 'gamma%']],
      ["name NOT IN ('srch-alpha')", ['beta_x', 'gamma%']],
      [`creation_timestamp > ${NOW + 15}`, ['beta_x', 'gamma%']],
      [`timestamp <= ${NOW + 20}`, ['alpha', 'gamma%']],
      ["tags.team = 'risk'", ['alpha']],
      ["tags.team != 'risk'", ['beta_x']],
      ['tags.team IS NULL', ['gamma%']],
      ['tags.tier IS NOT NULL', ['alpha']],
      ["tags.team LIKE 'o%' OR tags.tier = '1'", ['alpha', 'beta_x']],
      ["tags.team IN ('ops', 'none')", ['beta_x']],
      ["name = 'srch-gamma%' OR (tags.team = 'risk' AND tags.tier = '2')", ['gamma%']],
    ])('models where %s', async (filter, expected) => {
      expect((await searchModels(filter)).map((m) => short(m.name))).toEqual(expected);
    });

    it.each([
      ['', ['alpha/3', 'alpha/2', 'alpha/1', 'beta_x/2', 'beta_x/1']],
      ["name = 'srch-beta_x'", ['beta_x/2', 'beta_x/1']],
      ['version_number = 2', ['alpha/2', 'beta_x/2']],
      ['version_number >= 2 AND version_number < 3', ['alpha/2', 'beta_x/2']],
      ['version_number != 1', ['alpha/3', 'alpha/2', 'beta_x/2']],
      ["run_id = 'run-a'", ['alpha/1', 'beta_x/1']],
      ["run_id IN ('run-b', 'run-c')", ['alpha/2', 'beta_x/2']],
      ['run_id IS NULL', ['alpha/3']],
      ["source_path = 's3://b/alpha/2'", ['alpha/2']],
      ["source_path LIKE 'runs:/%'", ['alpha/3', 'alpha/1', 'beta_x/2', 'beta_x/1']],
      ["current_stage = 'Production'", ['alpha/3', 'beta_x/1']],
      ["current_stage ILIKE 'staging'", ['alpha/2']],
      ["current_stage NOT IN ('None', 'Archived')", ['alpha/3', 'alpha/2', 'beta_x/1']],
      ["format = 'onnx' AND name LIKE '%alpha'", ['alpha/2', 'alpha/1']],
      [`creation_timestamp > ${NOW + 300}`, ['beta_x/2', 'beta_x/1']],
      [`last_updated_timestamp <= ${NOW + 100}`, ['alpha/1']],
      ["tags.validated = 'yes'", ['alpha/1', 'beta_x/2']],
      ['tags.validated IS NULL', ['alpha/2', 'beta_x/1']],
      ["tags.validated = 'no' OR current_stage = 'Staging'", ['alpha/3', 'alpha/2']],
    ])('versions where %s', async (filter, expected) => {
      const found = await searchVersions(filter);
      expect(found.map((v) => `${short(v.name)}/${v.version}`)).toEqual(expected);
    });

    it('loads tags and aliases on search results', async () => {
      const [model] = await searchModels("name = 'srch-alpha'");
      expect(model).toMatchObject({ tags: { team: 'risk', tier: '1' }, aliases: { champion: 3 } });
      const [version] = await searchVersions("name = 'srch-alpha' AND version_number = 3");
      expect(version).toMatchObject({ aliases: ['champion'], tags: { validated: 'no' } });
    });

    it.each([
      [['creation_timestamp DESC'], ['beta_x', 'gamma%', 'alpha']],
      [['name DESC'], ['gamma%', 'beta_x', 'alpha']],
      [['tags.team ASC'], ['beta_x', 'alpha', 'gamma%']],
      [['tags.team DESC'], ['alpha', 'beta_x', 'gamma%']],
    ])('models ordered by %j', async (orderBy, expected) => {
      expect((await searchModels('', orderBy)).map((m) => short(m.name))).toEqual(expected);
    });

    it.each([
      [['version_number ASC'], ['alpha/1', 'beta_x/1', 'alpha/2', 'beta_x/2', 'alpha/3']],
      [['name DESC'], ['beta_x/2', 'beta_x/1', 'alpha/3', 'alpha/2', 'alpha/1']],
      [['creation_timestamp DESC'], ['beta_x/2', 'beta_x/1', 'alpha/3', 'alpha/2', 'alpha/1']],
      [['run_id DESC'], ['beta_x/2', 'alpha/2', 'alpha/1', 'beta_x/1', 'alpha/3']],
      [['tags.validated ASC'], ['alpha/3', 'alpha/1', 'beta_x/2', 'alpha/2', 'beta_x/1']],
      [
        ['current_stage', 'version_number DESC'],
        ['beta_x/2', 'alpha/1', 'alpha/3', 'beta_x/1', 'alpha/2'],
      ],
    ])('versions ordered by %j', async (orderBy, expected) => {
      const found = await searchVersions('', orderBy);
      expect(found.map((v) => `${short(v.name)}/${v.version}`)).toEqual(expected);
    });

    it('pages with offset and returns one extra row to signal a next page', async () => {
      const all = (await searchVersions('')).map((v) => v.versionId);
      const seen: string[] = [];
      for (let offset = 0; offset < all.length; offset += 2) {
        const page = await searchVersions('', [], { offset, limit: 2 });
        expect(page.length).toBe(Math.min(3, all.length - offset));
        seen.push(...page.slice(0, 2).map((v) => v.versionId));
      }
      expect(seen).toEqual(all);
      expect(await searchModels('', [], { offset: 0, limit: 1 })).toHaveLength(2);
      expect(await searchModels('', [], { offset: 3, limit: 1 })).toEqual([]);
    });

    it('loads a page with a fixed number of queries (search, tags, aliases), whatever its size', async () => {
      await prepare();
      let queries = 0;
      const counted = database().db.withPlugin({
        transformQuery: (args) => args.node,
        transformResult: async (args) => {
          queries++;
          return args.result;
        },
      });
      const counting = createSqlStores(counted, database().helpers).registry;
      const run = async (limit: number, what: 'models' | 'versions'): Promise<number> => {
        queries = 0;
        const query = { filter: undefined, orderBy: [], offset: 0, limit };
        if (what === 'models') await counting.searchModels(query);
        else await counting.searchVersions(query);
        return queries;
      };
      expect(await run(1, 'versions')).toBe(await run(50, 'versions'));
      expect(await run(50, 'versions')).toBe(3);
      expect(await run(1, 'models')).toBe(await run(50, 'models'));
      expect(await run(50, 'models')).toBe(3);
    });
  });

  describe('label history', () => {
    it('keeps intervals, closes them by label or version, and answers "what was it at t"', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('history') });
      const modelId = model.modelId;
      const open = (kind: 'alias' | 'stage', label: string, version: number, at: number) =>
        registry.openLabel({ entryId: unique('e'), modelId, kind, label, version, at, actor: `u${at}` });

      await open('alias', 'champion', 1, 100);
      await open('stage', 'Production', 1, 100);
      await open('alias', 'challenger', 2, 150);
      // champion moves to 2 at 200
      await registry.closeLabels({ modelId, kind: 'alias', label: 'champion', at: 200, actor: 'bob' });
      await open('alias', 'champion', 2, 200);
      // version 1 leaves its stage at 300 (closing by version only touches the given kind)
      await registry.closeLabels({ modelId, kind: 'stage', version: 1, at: 300, actor: 'carol' });

      const all = await registry.labelHistory(modelId, { limit: 100 });
      // Newest start first; on a tie, the open interval, then the later end.
      expect(all.map((e) => `${e.kind}:${e.label}:${e.version}:${e.startedAt}-${e.endedAt ?? ''}`)).toEqual([
        'alias:champion:2:200-',
        'alias:challenger:2:150-',
        'stage:Production:1:100-300',
        'alias:champion:1:100-200',
      ]);
      expect(all.find((e) => e.label === 'champion' && e.version === 1)).toEqual({
        kind: 'alias',
        label: 'champion',
        version: 1,
        startedAt: 100,
        endedAt: 200,
        startedBy: 'u100',
        endedBy: 'bob',
      });

      const champion = (at: number) =>
        registry
          .labelHistory(modelId, { kind: 'alias', label: 'champion', at, limit: 10 })
          .then((es) => es.map((e) => e.version));
      expect(await champion(99)).toEqual([]);
      expect(await champion(100)).toEqual([1]);
      expect(await champion(199)).toEqual([1]);
      expect(await champion(200)).toEqual([2]);
      expect(await champion(10_000)).toEqual([2]);

      const stagesAt = (at: number) =>
        registry.labelHistory(modelId, { kind: 'stage', at, limit: 10 }).then((es) => es.length);
      expect(await stagesAt(250)).toBe(1);
      expect(await stagesAt(300)).toBe(0);

      expect(await registry.labelHistory(modelId, { kind: 'alias', limit: 2 })).toHaveLength(2);

      // No label and no version: every open interval of the kind ends (as when the model is deleted).
      await registry.closeLabels({ modelId, kind: 'alias', at: 400, actor: 'dave' });
      const openNow = await registry.labelHistory(modelId, { at: 400, limit: 10 });
      expect(openNow).toEqual([]);
    });
  });

  describe('model cards', () => {
    it('inserts a card and replaces it on the next put', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('card') });
      const v = await createVersion(registry, model);
      expect(await registry.getCard(v.versionId)).toBeUndefined();
      await registry.putCard(v.versionId, card('first'), NOW, 'alice');
      expect(await registry.getCard(v.versionId)).toEqual({
        ...card('first'),
        updatedAt: NOW,
        updatedBy: 'alice',
      });
      await registry.putCard(v.versionId, { ...card('second'), riskTier: null }, NOW + 1, 'bob');
      expect(await registry.getCard(v.versionId)).toEqual({
        ...card('second'),
        riskTier: null,
        updatedAt: NOW + 1,
        updatedBy: 'bob',
      });
    });
  });

  describe('pinned files', () => {
    it('inserts 2,000 files quickly and lists them by folder, wildcards in paths taken literally', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('files') });
      const special = [
        'a%b/x.txt',
        'a_b/y.txt',
        'aXb/z.txt',
        'a%b',
        'a%bc/w.txt',
        'dir/sub/deep.bin',
        'dir/top.bin',
      ];
      const pinned = [...files(2_000 - special.length), ...special.map((path) => file(path))];
      const started = performance.now();
      const v = await createVersion(registry, model, { files: pinned });
      const elapsed = performance.now() - started;
      // Registration must stay well under a second. Measured at ~20 ms on SQLite and
      // ~60 ms on PostgreSQL (two multi-row statements); the bound leaves room for a loaded machine.
      expect(elapsed).toBeLessThan(500);

      const all = await registry.listFiles(v.versionId, '');
      expect(all).toHaveLength(2_000);
      const paths = all.map((f) => f.path);
      expect(paths).toEqual([...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

      const list = async (prefix: string) =>
        (await registry.listFiles(v.versionId, prefix)).map((f) => f.path);
      expect(await list('a%b')).toEqual(['a%b', 'a%b/x.txt']);
      expect(await list('a_b')).toEqual(['a_b/y.txt']);
      expect(await list('dir')).toEqual(['dir/sub/deep.bin', 'dir/top.bin']);
      expect(await list('dir/')).toEqual(['dir/sub/deep.bin', 'dir/top.bin']);
      expect(await list('dir/sub')).toEqual(['dir/sub/deep.bin']);
      expect(await list('di')).toEqual([]);
      expect(await list('folder-0001')).toEqual(['folder-0001/file-0001.bin']);

      expect(await registry.getFile(v.versionId, 'a%b/x.txt')).toEqual(file('a%b/x.txt'));
      expect(await registry.getFile(v.versionId, 'a%b/missing')).toBeUndefined();
    });
  });
  describe('project filter', () => {
    // Searches only return what the caller may read: the service passes the readable projects.
    it('limits model and version searches to the given projects, with any filter', async () => {
      const stores = createSqlStores(database().db, database().helpers);
      for (const id of ['proj-a', 'proj-b', "proj-'c"]) await stores.tracking.ensureProject(id, id, NOW);
      const registry = await store();
      const byProject: Record<string, RegisteredModelRecord> = {};
      for (const projectId of ['proj-a', 'proj-b', "proj-'c"]) {
        byProject[projectId] = await createModel(registry, { name: `pf-${projectId}`, projectId });
        await createVersion(registry, byProject[projectId]);
      }
      const models = async (filter: string, projectIds?: string[]) =>
        (
          await registry.searchModels({
            filter: parseFilter(filter, REGISTERED_MODEL_SEARCH),
            orderBy: [],
            offset: 0,
            limit: 50,
            ...(projectIds === undefined ? {} : { projectIds }),
          })
        )
          .map((m) => m.name)
          .sort();
      const versions = async (filter: string, projectIds?: string[]) =>
        (
          await registry.searchVersions({
            filter: parseFilter(filter, MODEL_VERSION_SEARCH),
            orderBy: [],
            offset: 0,
            limit: 50,
            ...(projectIds === undefined ? {} : { projectIds }),
          })
        )
          .map((v) => v.name)
          .sort();
      const all = "name LIKE 'pf-%'";
      expect(await models(all)).toEqual(["pf-proj-'c", 'pf-proj-a', 'pf-proj-b']);
      expect(await models(all, ['proj-b'])).toEqual(['pf-proj-b']);
      expect(await models(all, ['proj-a', "proj-'c"])).toEqual(["pf-proj-'c", 'pf-proj-a']);
      expect(await models(all, [])).toEqual([]);
      expect(await models("name = 'pf-proj-a'", ['proj-b'])).toEqual([]);
      expect(await models('', ['proj-b'])).toContain('pf-proj-b');
      expect(await versions(all, ['proj-b'])).toEqual(['pf-proj-b']);
      expect(await versions("name = 'pf-proj-a' and version_number = 1", ['proj-b'])).toEqual([]);
      expect(await versions(all, [])).toEqual([]);
      expect(await versions(all, ["proj-' or 1=1 --"])).toEqual([]);
    });

    it('names the project of a version in one read', async () => {
      const registry = await store();
      const model = await createModel(registry, { name: unique('pf-one') });
      const version = await createVersion(registry, model);
      expect(await registry.projectOfVersion(version.versionId)).toBe('default');
      expect(await registry.projectOfVersion('missing')).toBeUndefined();
    });
  });
});

function file(path: string): PinnedFile {
  return { path, digest: DIGEST, sizeBytes: path.length };
}

function files(n: number): PinnedFile[] {
  return Array.from({ length: n }, (_, i) =>
    file(`folder-${String(i).padStart(4, '0')}/file-${String(i).padStart(4, '0')}.bin`),
  );
}

function card(text: string) {
  return {
    intendedUse: `${text} use`,
    outOfScopeUse: `${text} misuse`,
    limitations: `${text} limits`,
    ethicalConsiderations: `${text} ethics`,
    riskTier: 'high' as const,
    markdown: `# ${text}`,
  };
}
