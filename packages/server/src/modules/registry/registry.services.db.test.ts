import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import type { Services } from '../../app.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';

const readAll = async (stream: Readable): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
};

const codeOf = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
  } catch (error) {
    if (isCairnError(error)) return `${error.code}:${error.field ?? ''}`;
    throw error;
  }
  return 'ok';
};

describeEachDatabase('registry services', ({ database }) => {
  let t: TestApp;
  let s: Services;
  let now = Date.UTC(2026, 2, 1);
  let runId: string;
  let runRoot: string;

  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => now } });
    s = t.app.cairn.services;
    const run = await s.tracking.createRun({ experimentId: '0' });
    runId = run.info.runId;
    runRoot = `0/${runId}/artifacts`;
    for (const [file, text] of [
      ['model/weights.bin', 'weights v1'],
      ['model/config/params.json', '{"depth": 3}'],
      ['other/notes.txt', 'not part of the model'],
    ] as const) {
      await s.artifacts.upload(`${runRoot}/${file}`, Readable.from([Buffer.from(text)]));
    }
    await s.models.createModel({
      name: 'churn',
      description: 'predicts churn',
      tags: [{ key: 'team', value: 'risk' }],
    });
  });
  afterAll(async () => {
    await t.close();
  });

  describe('registration pins files', () => {
    it('records every file with its digest, and the run', async () => {
      const v = await s.versions.createVersion({ name: 'churn', source: `runs:/${runId}/model` });
      expect(v).toMatchObject({
        version: 1,
        status: 'READY',
        stage: 'None',
        runId,
        fileCount: 2,
        format: 'opaque',
      });
      expect(v.sizeBytes).toBe('weights v1'.length + '{"depth": 3}'.length);
      expect(v.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const files = await s.versions.listFiles('churn', 1);
      expect(files.map((f) => f.path)).toEqual(['config/params.json', 'weights.bin']);
    });

    it('keeps serving the registered bytes after the run artifact changes', async () => {
      await s.artifacts.upload(
        `${runRoot}/model/weights.bin`,
        Readable.from([Buffer.from('weights v2 (retrained)')]),
      );
      const { stream } = await s.versions.openFile({ name: 'churn', version: 1, path: 'weights.bin' });
      expect(await readAll(stream)).toBe('weights v1');
      const pinned = await s.artifacts.download(
        `_registry/${(await s.versions.getVersion('churn', 1)).versionId}/weights.bin`,
      );
      expect(await readAll(pinned.stream)).toBe('weights v1');
    });

    it('refuses writes to the pinned tree', async () => {
      const version = await s.versions.getVersion('churn', 1);
      expect(
        await codeOf(s.artifacts.upload(`_registry/${version.versionId}/weights.bin`, Readable.from([]))),
      ).toBe('PERMISSION_DENIED:path');
      expect(await codeOf(s.artifacts.delete(`_registry/${version.versionId}`))).toBe(
        'PERMISSION_DENIED:path',
      );
    });

    it('gives the same manifest digest to the same files, and a new one when they change', async () => {
      const v1 = await s.versions.getVersion('churn', 1);
      const v2 = await s.versions.createVersion({
        name: 'churn',
        source: `mlflow-artifacts:/${runRoot}/model`,
      });
      expect(v2.version).toBe(2);
      expect(v2.digest).not.toBe(v1.digest);
      const copy = await s.versions.createVersion({ name: 'churn', source: 'models:/churn/1' });
      expect(copy.digest).toBe(v1.digest);
      expect(copy.version).toBe(3);
    });

    it('registers a single file', async () => {
      const v = await s.versions.createVersion({ name: 'churn', source: `runs:/${runId}/other/notes.txt` });
      expect(v.fileCount).toBe(1);
      expect((await s.versions.listFiles('churn', v.version)).map((f) => f.path)).toEqual(['notes.txt']);
    });

    it.each([
      ['a run that does not exist', { source: `runs:/${'f'.repeat(32)}/model` }, 'NOT_FOUND:run_id'],
      ['a path with no files', { source: 'runs:/RUN/nothing-here' }, 'NOT_FOUND:source'],
      ['an unknown model', { name: 'nope', source: 'runs:/RUN/model' }, 'NOT_FOUND:name'],
      ['a foreign URI', { source: 's3://bucket/model' }, 'INVALID_ARGUMENT:source'],
      [
        'a run id that contradicts the source',
        { source: 'runs:/RUN/model', runId: 'a'.repeat(32) },
        'INVALID_ARGUMENT:run_id',
      ],
      ['an unknown format', { source: 'runs:/RUN/model', format: 'pickle' }, 'INVALID_ARGUMENT:format'],
    ])('refuses %s and writes nothing', async (_why, input, expected) => {
      const before = await s.versions.searchVersions({ filter: "name = 'churn'" });
      const source = input.source.replace('RUN', runId);
      const code = await codeOf(s.versions.createVersion({ name: 'churn', ...input, source }));
      expect(code).toBe(expected);
      const after = await s.versions.searchVersions({ filter: "name = 'churn'" });
      expect(after.items.length).toBe(before.items.length);
    });

    it('never reuses a number, even after a failed or deleted version', async () => {
      const last = await s.versions.createVersion({ name: 'churn', source: `runs:/${runId}/model` });
      await s.versions.deleteVersion('churn', last.version);
      const next = await s.versions.createVersion({ name: 'churn', source: `runs:/${runId}/model` });
      expect(next.version).toBe(last.version + 1);
    });
  });

  describe('aliases and stages keep their history', () => {
    it('answers which version an alias pointed at, and from when to when', async () => {
      now = Date.UTC(2026, 2, 2);
      await s.models.setAlias({ name: 'churn', alias: 'champion', version: 1 });
      now = Date.UTC(2026, 2, 5);
      await s.models.setAlias({ name: 'churn', alias: 'champion', version: 2 });
      now = Date.UTC(2026, 2, 9);
      await s.models.deleteAlias({ name: 'churn', alias: 'champion' });

      const onThirdMarch = await s.models.labelHistory({
        name: 'churn',
        kind: 'alias',
        label: 'champion',
        at: '2026-03-03',
      });
      expect(onThirdMarch).toMatchObject([
        { version: 1, startedAt: Date.UTC(2026, 2, 2), endedAt: Date.UTC(2026, 2, 5) },
      ]);
      const all = await s.models.labelHistory({ name: 'churn', label: 'champion' });
      expect(all.map((e) => [e.version, e.endedAt])).toEqual([
        [2, Date.UTC(2026, 2, 9)],
        [1, Date.UTC(2026, 2, 5)],
      ]);
      expect(
        await s.models.labelHistory({ name: 'churn', label: 'champion', at: Date.UTC(2026, 2, 10) }),
      ).toEqual([]);
    });

    it('resolves name@alias, name/N and name', async () => {
      await s.models.setAlias({ name: 'churn', alias: 'challenger', version: 2 });
      expect((await s.versions.resolve('churn@challenger')).version).toBe(2);
      expect((await s.versions.resolve('models:/churn@challenger')).version).toBe(2);
      expect((await s.versions.resolve('churn/1')).version).toBe(1);
      const newest = await s.versions.resolve('churn');
      const all = await s.versions.searchVersions({ filter: "name = 'churn'" });
      expect(newest.version).toBe(Math.max(...all.items.map((v) => v.version)));
      expect(await codeOf(s.versions.resolve('churn@ghost'))).toBe('NOT_FOUND:alias');
      expect(await codeOf(s.versions.resolve('ghost@champion'))).toBe('NOT_FOUND:name');
    });

    it('moves stages, archiving the previous Production version when asked', async () => {
      now = Date.UTC(2026, 3, 1);
      await s.versions.transitionStage({ name: 'churn', version: 1, stage: 'production' });
      now = Date.UTC(2026, 3, 2);
      await s.versions.transitionStage({
        name: 'churn',
        version: 2,
        stage: 'Production',
        archiveExistingVersions: true,
      });
      expect((await s.versions.getVersion('churn', 1)).stage).toBe('Archived');
      expect((await s.versions.getVersion('churn', 2)).stage).toBe('Production');
      const latest = await s.models.latestVersions('churn', ['Production']);
      expect(latest.map((v) => v.version)).toEqual([2]);
      const history = await s.models.labelHistory({ name: 'churn', kind: 'stage' });
      // Both moves of the archive happen at the same instant; their order within it is not defined.
      const rows = history.map((e) => `${e.label} ${e.version} ${e.endedAt ?? 'open'}`);
      expect(rows.slice(0, 2).sort()).toEqual(['Archived 1 open', 'Production 2 open']);
      expect(rows[2]).toBe(`Production 1 ${Date.UTC(2026, 3, 2)}`);
      expect(
        await codeOf(
          s.versions.transitionStage({
            name: 'churn',
            version: 1,
            stage: 'Archived',
            archiveExistingVersions: true,
          }),
        ),
      ).toBe('INVALID_ARGUMENT:archive_existing_versions');
      expect(await codeOf(s.versions.transitionStage({ name: 'churn', version: 1, stage: 'Prod' }))).toBe(
        'INVALID_ARGUMENT:stage',
      );
    });

    it('removes aliases with their version and closes their interval', async () => {
      const v = await s.versions.createVersion({ name: 'churn', source: `runs:/${runId}/model` });
      await s.models.setAlias({ name: 'churn', alias: 'doomed', version: v.version });
      now += 1000;
      await s.versions.deleteVersion('churn', v.version);
      expect((await s.models.getModel('churn')).aliases['doomed']).toBeUndefined();
      const [entry] = await s.models.labelHistory({ name: 'churn', label: 'doomed' });
      expect(entry?.endedAt).toBe(now);
    });
  });

  describe('model cards', () => {
    it('starts empty, merges edits and refuses unknown tiers and fields', async () => {
      const empty = await s.cards.getCard('churn', 1);
      expect(empty.fields).toMatchObject({ intendedUse: '', riskTier: null });
      expect(empty.generated.sourceRun?.runId).toBe(runId);
      await s.cards.updateCard({
        name: 'churn',
        version: 1,
        patch: { intended_use: 'Retention offers.', risk_tier: 'high' },
      });
      const card = await s.cards.updateCard({
        name: 'churn',
        version: 1,
        patch: { limitations: 'EU only.' },
      });
      expect(card.fields).toMatchObject({
        intendedUse: 'Retention offers.',
        limitations: 'EU only.',
        riskTier: 'high',
      });
      expect(
        await codeOf(s.cards.updateCard({ name: 'churn', version: 1, patch: { risk_tier: 'extreme' } })),
      ).toBe('INVALID_ARGUMENT:card.risk_tier');
      expect(await codeOf(s.cards.updateCard({ name: 'churn', version: 1, patch: { owner: 'x' } }))).toBe(
        'INVALID_ARGUMENT:card.owner',
      );
      expect((await s.cards.getCard('churn', 1)).fields.riskTier).toBe('high');
    });
  });
});
