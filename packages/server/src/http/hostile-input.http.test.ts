import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { describeEachDatabase } from '../testing/test-databases.js';
import { OWN, PermissionWorld, type Reply, type TestRequest } from '../testing/permission-world.js';

const ADMIN_TOKEN = 'hostile-input-admin-token-0123456789abcdef0123';
const V1 = '/api/v1';
const ML = '/api/2.0/mlflow';
const enc = encodeURIComponent;

/** What attackers and careless scripts send as names, ids and filter values. */
const HOSTILE = {
  'drop table': `'; drop table users; --`,
  'or 1=1': `" or 1=1 --`,
  'quoted tautology': `' OR '1'='1`,
  'stacked delete': `1; DELETE FROM api_tokens`,
  union: `x') UNION SELECT salt, secret_hash FROM api_tokens --`,
  'pg dollar quote': `$$; drop table audit_events; $$`,
  comment: `x /* */ --`,
  backslash: `x\\'; --`,
  placeholder: `$1 ? :name`,
  unicode: 'モデル 🚀 \u202e gnp.exe',
  nul: 'a\u0000b',
  '10 kB': 'x'.repeat(10_240),
};
const HOSTILE_ENTRIES = Object.entries(HOSTILE);

/** Clean refusals: a 4xx other than 401/403 (those would mean the check ran on the wrong thing) and no 5xx. */
function expectClean(reply: Reply, label: string): void {
  expect(reply.status, `${label} → ${reply.text.slice(0, 300)}`).toBeLessThan(500);
  expect([401, 403], `${label} → ${reply.text.slice(0, 300)}`).not.toContain(reply.status);
}

describeEachDatabase(
  'hostile input: injection through filters, names and ids; arbitrary credentials',
  ({ database }) => {
    let t: TestApp;
    let world: PermissionWorld;
    let experimentId: string;
    let runId: string;
    let modelName: string;
    let before: { users: number; tokens: number; seq: number };
    /** The status of every request sent: a refused one must leave no `ok` audit event. */
    const statusOf = new Map<string, number>();
    /** Users and tokens the free-text test was allowed to create. */
    const created = { users: 0, tokens: 0 };

    const db = () => t.app.cairn.database.db;
    const count = async (table: 'users' | 'api_tokens'): Promise<number> => {
      const row = await db()
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    };
    const lastSeq = async (): Promise<number> => {
      const row = await db()
        .selectFrom('audit_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      return Number(row?.seq ?? 0);
    };
    const send = (request: TestRequest) => world.send('admin', request);

    beforeAll(async () => {
      t = await createTestApp(database(), {
        env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
        loginThrottle: { maxFailures: 1_000_000 },
      });
      world = new PermissionWorld(t.app, ADMIN_TOKEN);
      world.observe = (reply) => statusOf.set(reply.requestId, reply.status);
      await world.populate();
      const fx = world.fixtures(OWN);
      ({ id: runId, experimentId } = await fx.run());
      ({ name: modelName } = await fx.model());
      await fx.promotion();
      before = { users: await count('users'), tokens: await count('api_tokens'), seq: await lastSeq() };
    });
    afterAll(async () => {
      await t?.close();
    });

    describe('filter strings', () => {
      /** Each search with a filter; `items` counts what came back. */
      const searches: Array<{
        name: string;
        request: (filter: string) => TestRequest;
        items: (body: any) => unknown[];
        /** A filter that matches the fixtures, proving an empty answer is not a broken search. */
        matches: string;
      }> = [
        {
          name: 'native runs',
          request: (filter) => ({
            method: 'POST',
            url: `${V1}/runs/search`,
            json: { experimentIds: [experimentId], filter },
          }),
          items: (body) => body.runs,
          matches: `params.p = '1'`,
        },
        {
          name: 'MLflow runs',
          request: (filter) => ({
            method: 'POST',
            url: `${ML}/runs/search`,
            json: { experiment_ids: [experimentId], filter },
          }),
          items: (body) => body.runs ?? [],
          matches: `tags.t = 'v'`,
        },
        {
          name: 'native experiments',
          request: (filter) => ({ method: 'GET', url: `${V1}/experiments?filter=${enc(filter)}` }),
          items: (body) => body.experiments,
          matches: `tags.t = 'v'`,
        },
        {
          name: 'MLflow experiments',
          request: (filter) => ({ method: 'POST', url: `${ML}/experiments/search`, json: { filter } }),
          items: (body) => body.experiments ?? [],
          matches: `name LIKE 'own-exp-%'`,
        },
        {
          name: 'native models',
          request: (filter) => ({ method: 'GET', url: `${V1}/models?filter=${enc(filter)}` }),
          items: (body) => body.models,
          matches: `tags.t = 'v'`,
        },
        {
          name: 'MLflow models',
          request: (filter) => ({
            method: 'GET',
            url: `${ML}/registered-models/search?filter=${enc(filter)}`,
          }),
          items: (body) => body.registered_models ?? [],
          matches: `name LIKE 'own-model-%'`,
        },
        {
          name: 'MLflow versions',
          request: (filter) => ({ method: 'GET', url: `${ML}/model-versions/search?filter=${enc(filter)}` }),
          items: (body) => body.model_versions ?? [],
          matches: `name LIKE 'own-model-%'`,
        },
        {
          name: 'native versions of a model',
          request: (filter) => ({
            method: 'GET',
            url: `${V1}/models/${enc(modelName)}/versions?filter=${enc(filter)}`,
          }),
          items: (body) => body.versions,
          matches: `tags.t = 'v'`,
        },
      ];
      /** Where each hostile value goes: alone, or as a quoted value that can only be compared, never run. */
      const templates: Array<(value: string) => string> = [
        (v) => v,
        (v) => `name = '${v}'`,
        (v) => `tags.t = '${v.replaceAll("'", "''")}'`,
        (v) => `tags.t = "${v}"`,
        (v) => `tags.\`${v}\` = 'v'`,
        (v) => `tags.t = 'v' ${v}`,
      ];

      it.each(searches)(
        '$name: the fixture filter matches something',
        async ({ request, items, matches }) => {
          const reply = await send(request(matches));
          expect(reply.status, reply.text).toBe(200);
          expect(items(reply.body).length).toBeGreaterThan(0);
        },
      );

      it.each(searches)(
        '$name: every hostile filter gets a clean 400 or an empty answer',
        async ({ request, items }) => {
          for (const [label, value] of HOSTILE_ENTRIES) {
            for (const [i, template] of templates.entries()) {
              const reply = await send(request(template(value)));
              const what = `${label} in template ${i}`;
              expectClean(reply, what);
              if (reply.status === 200) expect(items(reply.body), what).toEqual([]);
              else expect(reply.status, `${what} → ${reply.text.slice(0, 200)}`).toBe(400);
            }
          }
        },
      );

      it('audit query filters take hostile text as plain values', async () => {
        for (const [label, value] of HOSTILE_ENTRIES) {
          for (const field of ['actor', 'action', 'target', 'projectId', 'since', 'pageToken']) {
            const reply = await send({ method: 'GET', url: `${V1}/audit/events?${field}=${enc(value)}` });
            expectClean(reply, `${label} as ${field}`);
            if (reply.status === 200) expect(reply.body.events, `${label} as ${field}`).toEqual([]);
            else expect(reply.status, `${label} as ${field} → ${reply.text.slice(0, 200)}`).toBe(400);
          }
        }
      });

      it('promotion and history filters take hostile text as plain values', async () => {
        for (const [label, value] of HOSTILE_ENTRIES) {
          for (const url of [
            `${V1}/promotions?model=${enc(value)}`,
            `${V1}/promotions?project=${enc(value)}`,
            `${V1}/models/${enc(modelName)}/history?at=${enc(value)}`,
          ]) {
            const reply = await send({ method: 'GET', url });
            expectClean(reply, `${label}: ${url.slice(0, 80)}`);
            if (reply.status === 200 && 'promotions' in reply.body) expect(reply.body.promotions).toEqual([]);
          }
        }
      });
    });

    describe('names and ids', () => {
      it.each(HOSTILE_ENTRIES)(
        '%s as the name of an experiment, model, user and project',
        async (_label, value) => {
          const experiment = await send({
            method: 'POST',
            url: `${V1}/experiments`,
            json: { name: value, project: OWN },
          });
          expectClean(experiment, 'experiment');
          if (experiment.status === 201) {
            const back = await send({
              method: 'GET',
              url: `${V1}/experiments/${experiment.body.experimentId}`,
            });
            expect(back.body.name).toBe(value);
          }
          const model = await send({
            method: 'POST',
            url: `${V1}/models`,
            json: { name: value, project: OWN },
          });
          expectClean(model, 'model');
          if (model.status === 201) {
            const back = await send({ method: 'GET', url: `${ML}/registered-models/get?name=${enc(value)}` });
            expect(back.body.registered_model?.name).toBe(value);
          }
          for (const [url, json] of [
            [`${V1}/users`, { name: value }],
            [`${V1}/projects`, { id: value }],
            [`${V1}/tokens`, { user: value, name: 'x' }],
            [`${V1}/projects/${OWN}/members`, { user: value, role: 'viewer' }],
          ] as const) {
            const reply = await send({ method: 'POST', url, json });
            expect(reply.status, `${url} → ${reply.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
            expectClean(reply, url);
          }
        },
      );

      it.each(HOSTILE_ENTRIES)('%s as tag keys and values of a run', async (_label, value) => {
        for (const json of [
          { run_id: runId, key: value, value: 'v' },
          { run_id: runId, key: 'k', value },
        ]) {
          const reply = await send({ method: 'POST', url: `${ML}/runs/set-tag`, json });
          expectClean(reply, `set-tag ${JSON.stringify(json).slice(0, 60)}`);
          if (reply.status === 200) {
            const back = await send({ method: 'GET', url: `${V1}/runs/${runId}` });
            expect(back.body.data.tags[json.key]).toBe(json.value);
          }
        }
      });

      it.each(HOSTILE_ENTRIES)(
        '%s in every free-text field is stored as given or refused cleanly',
        async (_label, value) => {
          const fx = world.fixtures(OWN);
          const run = await fx.run();
          const model = enc((await fx.model()).name);
          const n = world.unique();
          const requests: TestRequest[] = [
            { method: 'PUT', url: `${V1}/experiments/${run.experimentId}/tags/k`, json: { value } },
            { method: 'PATCH', url: `${V1}/runs/${run.id}`, json: { runName: value } },
            { method: 'PUT', url: `${V1}/runs/${run.id}/params/k${n}`, json: { value } },
            {
              method: 'POST',
              url: `${V1}/runs/${run.id}/log-batch`,
              json: { metrics: [{ key: value, value: 1, step: 0 }] },
            },
            {
              method: 'POST',
              url: `${V1}/runs/${run.id}/inputs`,
              json: {
                datasets: [{ dataset: { name: value, digest: value, sourceType: 'local', source: value } }],
              },
            },
            { method: 'PATCH', url: `${V1}/models/${model}`, json: { description: value } },
            { method: 'PUT', url: `${V1}/models/${model}/tags/k`, json: { value } },
            { method: 'PATCH', url: `${V1}/models/${model}/versions/1`, json: { description: value } },
            { method: 'PUT', url: `${V1}/models/${model}/versions/1/tags/k`, json: { value } },
            {
              method: 'PATCH',
              url: `${V1}/models/${model}/versions/1/card`,
              json: { intendedUse: value, limitations: value },
            },
            { method: 'POST', url: `${V1}/projects`, json: { id: `p${n}`, name: value } },
            { method: 'POST', url: `${V1}/users`, json: { name: `u${n}`, displayName: value, email: value } },
            { method: 'POST', url: `${V1}/tokens`, json: { name: value } },
            { method: 'PUT', url: `${V1}/projects/${OWN}/policy`, json: { source: value, format: 'yaml' } },
            { method: 'PUT', url: `${V1}/projects/${OWN}/policy`, json: { document: {}, comment: value } },
            {
              method: 'POST',
              url: `${ML}/experiments/set-experiment-tag`,
              json: { experiment_id: run.experimentId, key: 'k', value },
            },
            {
              method: 'PATCH',
              url: `${ML}/registered-models/update`,
              json: { name: decodeURIComponent(model), description: value },
            },
            {
              method: 'PUT',
              url: `/api/2.0/mlflow-artifacts/artifacts/${run.experimentId}/${run.id}/artifacts/${enc(value)}`,
              text: 'x',
            },
          ];
          for (const request of requests) {
            const reply = await send(request);
            expectClean(reply, `${request.method} ${request.url.slice(0, 100)}`);
            if (reply.status === 201 && request.url === `${V1}/users`) created.users++;
            if (reply.status === 201 && request.url === `${V1}/tokens`) created.tokens++;
          }
          // Decisions carry free text too, each on a request of its own.
          for (const verb of ['reject', 'cancel', 'approve']) {
            const { id } = await world.fixtures(OWN).promotion();
            const reply = await send({
              method: 'POST',
              url: `${V1}/promotions/${id}/${verb}`,
              json: { comment: value },
            });
            expectClean(reply, `${verb} with a hostile comment`);
          }
          const asked = await send({
            method: 'POST',
            url: `${V1}/promotions`,
            json: {
              model: (await world.fixtures(OWN).model()).name,
              version: 1,
              alias: 'champion',
              reason: value,
            },
          });
          expectClean(asked, 'promotion with a hostile reason');
        },
      );

      it.each(HOSTILE_ENTRIES)('%s as an id in paths and query strings', async (_label, value) => {
        const id = enc(value);
        const requests: TestRequest[] = [
          { method: 'GET', url: `${V1}/runs/${id}` },
          { method: 'GET', url: `${V1}/experiments/${id}` },
          { method: 'GET', url: `${V1}/models/${id}/versions/1` },
          { method: 'GET', url: `${V1}/promotions/${id}` },
          { method: 'GET', url: `${V1}/projects/${id}` },
          { method: 'GET', url: `${V1}/projects/${id}/policy` },
          { method: 'GET', url: `${V1}/model-versions/resolve?ref=${id}` },
          { method: 'GET', url: `${ML}/runs/get?run_id=${id}` },
          { method: 'GET', url: `${ML}/experiments/get?experiment_id=${id}` },
          { method: 'GET', url: `${ML}/metrics/get-history?run_id=${runId}&metric_key=${id}` },
          {
            method: 'GET',
            url: `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${id}`,
          },
          { method: 'POST', url: `${V1}/users/${id}/disable` },
          { method: 'DELETE', url: `${V1}/tokens/${id}` },
          { method: 'DELETE', url: `${V1}/projects/${OWN}/members/${id}/viewer` },
          { method: 'POST', url: `${V1}/promotions/${id}/approve`, json: {} },
          { method: 'DELETE', url: `${V1}/runs/${id}` },
        ];
        for (const request of requests) {
          const reply = await send(request);
          expect(
            reply.status,
            `${request.method} ${request.url.slice(0, 120)} → ${reply.text.slice(0, 200)}`,
          ).toBeGreaterThanOrEqual(400);
          expectClean(reply, `${request.method} ${request.url.slice(0, 120)}`);
        }
        // An unknown node is a graph of that node alone (documented), so only a clean answer is asked of lineage.
        const lineage = await send({ method: 'GET', url: `${V1}/lineage/run/${id}/upstream` });
        expectClean(lineage, 'lineage');
        if (lineage.status === 200) expect(lineage.body.edges).toEqual([]);
      });
    });

    describe('credentials', () => {
      const whoami = async (authorization: string) =>
        t.app.inject({ method: 'GET', url: `${V1}/whoami`, headers: { authorization } });
      const basic = (user: string, password: string) =>
        `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      /** A real token with one character changed: the closest an attacker gets without the secret. */
      const mutated = (token: string, at: number, char: string): string =>
        token.slice(0, at % token.length) + char + token.slice((at % token.length) + 1);

      it('arbitrary bearer tokens never authenticate and never cause a 5xx', async () => {
        const real = [...world.tokens.values()];
        const headerText = fc
          .string({ unit: 'grapheme-ascii', maxLength: 200 })
          .filter((s) => /^[\x20-\x7e]*$/.test(s));
        const near = fc
          .tuple(fc.constantFrom(...real), fc.nat(), fc.constantFrom('A', 'z', '0', '_', '-', '9'))
          .map(([token, at, char]) => mutated(token, at, char))
          .filter((token) => !real.includes(token));
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              headerText,
              near,
              headerText.map((s) => `cairn_${s}`),
            ),
            async (token) => {
              const response = await whoami(`Bearer ${token}`);
              expect(response.statusCode, response.body).toBe(401);
            },
          ),
          { numRuns: 150 },
        );
      });

      it('arbitrary basic credentials, and real tokens under another user name, never authenticate', async () => {
        const users = ['viewer', 'editor', 'padmin', 'nobody', 'admin', 'maker'];
        const real = [...world.tokens.entries()];
        const userText = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
        const stolen = fc
          .tuple(fc.constantFrom(...users), fc.constantFrom(...real))
          .filter(([user, [owner]]) => user !== owner)
          .map(([user, [, token]]) => basic(user, token));
        const random = fc
          .tuple(userText, fc.string({ unit: 'grapheme-ascii', maxLength: 80 }))
          .map(([u, p]) => basic(u, p));
        const raw = fc
          .string({ unit: 'grapheme-ascii', maxLength: 120 })
          .filter((s) => /^[\x20-\x7e]*$/.test(s))
          .map((s) => `Basic ${s}`);
        await fc.assert(
          fc.asyncProperty(fc.oneof(stolen, random, raw), async (authorization) => {
            const response = await whoami(authorization);
            expect(response.statusCode, `${authorization.slice(0, 60)} → ${response.body}`).toBe(401);
          }),
          { numRuns: 150 },
        );
      });

      it('arbitrary filter strings never cause a 5xx', async () => {
        const filter = fc.oneof(
          fc.string({ maxLength: 120 }),
          fc
            .tuple(
              fc.constantFrom('name', 'tags.t', 'params.p', 'metrics.auc', 'attributes.status'),
              fc.constantFrom('=', '!=', 'LIKE', 'ILIKE', '>', 'IN'),
              fc.string({ maxLength: 40 }),
            )
            .map(([key, op, value]) => `${key} ${op} '${value}'`),
        );
        await fc.assert(
          fc.asyncProperty(filter, async (text) => {
            for (const request of [
              {
                method: 'POST',
                url: `${V1}/runs/search`,
                json: { experimentIds: [experimentId], filter: text },
              },
              { method: 'GET', url: `${V1}/experiments?filter=${enc(text)}` },
              { method: 'GET', url: `${ML}/registered-models/search?filter=${enc(text)}` },
              { method: 'GET', url: `${ML}/model-versions/search?filter=${enc(text)}` },
            ] satisfies TestRequest[]) {
              const reply = await send(request);
              expect(
                [200, 400],
                `${request.url.slice(0, 60)} ${JSON.stringify(text)} → ${reply.text.slice(0, 200)}`,
              ).toContain(reply.status);
            }
          }),
          { numRuns: 60 },
        );
      });
    });

    describe('afterwards', () => {
      it('users and tokens are as they were, and no refused request left an ok audit event', async () => {
        expect(await count('users')).toBe(before.users + created.users);
        expect(await count('api_tokens')).toBe(before.tokens + created.tokens);
        const events = await db()
          .selectFrom('audit_events')
          .select(['seq', 'action', 'outcome', 'request_id'])
          .where('seq', '>', before.seq)
          .where('outcome', '=', 'ok')
          .execute();
        expect(events.length).toBeGreaterThan(0);
        expect(events.filter((e) => !((statusOf.get(e.request_id ?? '') ?? 500) < 300))).toEqual([]);
      });

      it('the audit chain still verifies', async () => {
        const verified = await send({ method: 'GET', url: `${V1}/audit/verify` });
        expect(verified.status).toBe(200);
        expect(verified.body).toMatchObject({ ok: true });
        expect(verified.body.events).toBeGreaterThan(before.seq);
      });
    });
  },
);
