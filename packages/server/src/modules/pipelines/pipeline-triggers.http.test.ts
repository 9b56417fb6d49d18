import { randomUUID } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { PipelineTriggerJson } from '@cairn/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsCaller, SYSTEM_CALLER } from '../governance/index.js';
import { startRun, waitEnded } from '../../testing/pipeline-world.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/v1';
const MINUTE = 60_000;

describeEachDatabase(
  'pipeline triggers: schedules and new dataset versions start runs, once each',
  ({ database }) => {
    let t: TestApp;
    let now = Date.UTC(2026, 10, 27, 12, 0, 30);
    const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
      call(t.app, method, API + url, body);
    const tick = () => runAsCaller(SYSTEM_CALLER, () => t.app.cairn.services.pipelineTriggers.tick());
    const unique = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;
    const definition = (name: string, input = 'dataset:DATA@latest') => ({
      name,
      steps: {
        count: {
          run: `wc -l < {{inputs.d}}/rows.csv > {{outputs.n}} # ${name}`,
          inputs: { d: input },
          outputs: ['n'],
        },
      },
    });

    async function addVersion(dataset: string, rows: number): Promise<number> {
      const begun = await api('POST', `/datasets/${dataset}/uploads`, {});
      await t.app.inject({
        method: 'PUT',
        url: `${API}/datasets/${dataset}/uploads/${begun.body.uploadId}/files?path=rows.csv&mode=644`,
        payload: Buffer.from(Array.from({ length: rows }, (_, i) => `${i}\n`).join('')),
        headers: { 'content-type': 'application/octet-stream' },
      });
      const committed = await api('POST', `/datasets/${dataset}/uploads/${begun.body.uploadId}/commit`, {
        message: 'm',
      });
      expect(committed.status, JSON.stringify(committed.body)).toBe(200);
      return committed.body.version.version as number;
    }

    beforeAll(async () => {
      t = await createTestApp(database(), { clock: { now: () => now } });
    });
    afterAll(async () => {
      await t.close();
    });

    it('fires a cron schedule once per due time, even with several sweeps at once, and not while paused', async () => {
      const name = unique('nightly');
      const created = await api('POST', '/pipeline-triggers', {
        name,
        definition: { name, steps: { a: { run: `echo ${name} > {{outputs.o}}`, outputs: ['o'] } } },
        schedule: { cron: '*/5 * * * *' },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(Value.Check(PipelineTriggerJson, created.body.trigger)).toBe(true);
      expect(created.body.trigger.nextAt).toBe(Date.UTC(2026, 10, 27, 12, 5));
      expect(await tick()).toEqual([]);

      now += 5 * MINUTE;
      const fired = (await Promise.all([tick(), tick(), tick()])).flat();
      expect(fired).toHaveLength(1);
      const run = await waitEnded(t.app, fired[0] as string);
      expect(run.status).toBe('succeeded');
      expect(run.trigger).toMatchObject({ kind: 'schedule', at: Date.UTC(2026, 10, 27, 12, 5) });
      expect((await api('GET', `/pipeline-triggers/${name}`)).body.trigger.nextAt).toBe(
        Date.UTC(2026, 10, 27, 12, 10),
      );

      expect((await api('PATCH', `/pipeline-triggers/${name}`, { enabled: false })).status).toBe(200);
      now += 10 * MINUTE;
      expect(await tick()).toEqual([]);
      const resumed = await api('PATCH', `/pipeline-triggers/${name}`, { enabled: true });
      expect(resumed.body.trigger.nextAt).toBeGreaterThan(now);
      expect((await api('DELETE', `/pipeline-triggers/${name}`)).status).toBe(200);
      expect((await api('GET', `/pipeline-triggers/${name}`)).status).toBe(404);
    });

    it('starts one run per new dataset version, pinned to that version, however many sweeps and triggers see it', async () => {
      const dataset = unique('events');
      expect((await api('POST', '/datasets', { name: dataset })).status).toBe(200);
      await addVersion(dataset, 3);
      const pipeline = unique('retrain');
      const body = (name: string) => ({
        name,
        definition: JSON.parse(JSON.stringify(definition(pipeline)).replace('DATA', dataset)),
        dataset: { name: dataset },
      });
      expect((await api('POST', '/pipeline-triggers', body(unique('on-new-data')))).status).toBe(201);
      // A second trigger of the same pipeline on the same dataset: still one run per version.
      expect((await api('POST', '/pipeline-triggers', body(unique('twin')))).status).toBe(201);
      expect(await tick()).toEqual([]);

      await addVersion(dataset, 5);
      const fired = (await Promise.all([tick(), tick()])).flat();
      expect(fired).toHaveLength(1);
      const run = await waitEnded(t.app, fired[0] as string);
      expect(run.status, JSON.stringify(run)).toBe('succeeded');
      expect(run.trigger).toMatchObject({ kind: 'dataset', dataset, versionId: expect.any(String) });
      const out = await t.app.inject({
        method: 'GET',
        url: `${API}/pipeline-runs/${run.id}/outputs/count/n`,
      });
      expect(out.body.trim()).toBe('5');
      expect(await tick()).toEqual([]);
    });

    it('fires on an alias move when it watches an alias', async () => {
      const dataset = unique('golden');
      await api('POST', '/datasets', { name: dataset });
      await addVersion(dataset, 1);
      await addVersion(dataset, 2);
      await call(t.app, 'PUT', `${API}/datasets/${dataset}/aliases/golden`, { version: 1 });
      const name = unique('on-golden');
      const created = await api('POST', '/pipeline-triggers', {
        name,
        definition: JSON.parse(JSON.stringify(definition(unique('p'), `dataset:${dataset}@golden`))),
        dataset: { name: dataset, alias: 'golden' },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(await tick()).toEqual([]);
      const moved = await call(t.app, 'PUT', `${API}/datasets/${dataset}/aliases/golden`, { version: 2 });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      const fired = await tick();
      expect(fired).toHaveLength(1);
      const run = await waitEnded(t.app, fired[0] as string);
      const out = await t.app.inject({
        method: 'GET',
        url: `${API}/pipeline-runs/${run.id}/outputs/count/n`,
      });
      expect(out.body.trim()).toBe('2');
    });

    it('fires only for versions added after a dataset trigger is resumed, not for those added while paused', async () => {
      const dataset = unique('paused');
      await api('POST', '/datasets', { name: dataset });
      await addVersion(dataset, 1);
      const name = unique('on-paused');
      await api('POST', '/pipeline-triggers', {
        name,
        definition: JSON.parse(JSON.stringify(definition(unique('p'))).replace('DATA', dataset)),
        dataset: { name: dataset },
      });
      await api('PATCH', `/pipeline-triggers/${name}`, { enabled: false });
      await addVersion(dataset, 2);
      expect(await tick()).toEqual([]);
      await api('PATCH', `/pipeline-triggers/${name}`, { enabled: true });
      expect(await tick()).toEqual([]);
      await addVersion(dataset, 3);
      expect(await tick()).toHaveLength(1);
    });

    it('handles dataset names of up to 256 characters in routes', async () => {
      const long = `d${'x'.repeat(200)}`;
      expect((await api('POST', '/datasets', { name: long })).status).toBe(200);
      expect((await api('GET', `/datasets/${long}`)).status).toBe(200);
    });

    it('starts a run on demand with fire', async () => {
      const name = unique('manual');
      await api('POST', '/pipeline-triggers', {
        name,
        definition: {
          name,
          params: { n: 2 },
          steps: { a: { run: 'echo {{params.n}} > {{outputs.o}}', outputs: ['o'] } },
        },
        params: { n: 7 },
        schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' },
      });
      const fired = await api('POST', `/pipeline-triggers/${name}/fire`);
      expect(fired.status, JSON.stringify(fired.body)).toBe(201);
      const run = await waitEnded(t.app, fired.body.run.id);
      expect(run.params).toEqual({ n: 7 });
      expect((await api('GET', '/pipeline-triggers')).body.triggers.some((tr: any) => tr.name === name)).toBe(
        true,
      );
    });

    describe('bad input', () => {
      const ok = () => ({ name: 'x', steps: { a: { run: 'true' } } });
      it.each([
        ['no schedule or dataset', { name: 'a', definition: ok() }, /either a schedule/],
        [
          'both',
          { name: 'b', definition: ok(), schedule: { cron: '* * * * *' }, dataset: { name: 'd' } },
          /either a schedule/,
        ],
        [
          'a six-field cron',
          { name: 'c', definition: ok(), schedule: { cron: '0 * * * * *' } },
          /five fields/,
        ],
        ['a bad cron', { name: 'd', definition: ok(), schedule: { cron: '99 * * * *' } }, /not valid/],
        [
          'a bad time zone',
          { name: 'e', definition: ok(), schedule: { cron: '0 3 * * *', timezone: 'Mars/Olympus' } },
          /timezone/,
        ],
        [
          'an unknown dataset',
          { name: 'f', definition: ok(), dataset: { name: 'no-such-dataset' } },
          /no-such-dataset/,
        ],
        ['a bad name', { name: '../x', definition: ok(), schedule: { cron: '* * * * *' } }, /name/],
        [
          'a bad definition',
          { name: 'g', definition: { name: 'x' }, schedule: { cron: '* * * * *' } },
          /problems/,
        ],
        [
          'an alias that is a version number',
          { name: 'h', definition: ok(), dataset: { name: 'd', alias: '1' } },
          /alias/,
        ],
      ])('refuses %s', async (_label, body, message) => {
        const answer = await api('POST', '/pipeline-triggers', body);
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.body.error.message).toMatch(message);
      });

      it('refuses a duplicate name and answers unknown triggers with 404', async () => {
        const body = { name: unique('dup'), definition: ok(), schedule: { cron: '* * * * *' } };
        expect((await api('POST', '/pipeline-triggers', body)).status).toBe(201);
        expect((await api('POST', '/pipeline-triggers', body)).status).toBe(409);
        expect((await api('GET', '/pipeline-triggers/nope')).status).toBe(404);
        expect((await api('POST', '/pipeline-triggers/nope/fire')).status).toBe(404);
        expect((await api('PATCH', `/pipeline-triggers/${body.name}`, { enabled: 'yes' })).status).toBe(400);
      });
    });

    it('is not fooled by a manual run in between', async () => {
      expect(
        (await startRun(t.app, { definition: { name: unique('m'), steps: { a: { run: 'true' } } } })).status,
      ).toBe(201);
    });
  },
);
