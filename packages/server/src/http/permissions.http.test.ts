import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { describeEachDatabase } from '../testing/test-databases.js';
import {
  CALLERS,
  OTHER,
  OWN,
  PermissionWorld,
  type CallerName,
  type ProjectName,
  type Reply,
  type TestRequest,
} from '../testing/permission-world.js';
import { allows, ROUTE_RULES, type BuildContext, type RouteRule } from '../testing/route-permissions.js';
import { secretsIn } from '../testing/secret-scan.js';

const ADMIN_TOKEN = 'permission-sweep-admin-token-0123456789abcdef';
const MLFLOW = /^\/(api|ajax-api)\/2\.0\/mlflow/;

/** Every route the table promises, `/ajax-api/…` copies included: what the app must register, no more, no less. */
const SWEPT: Array<{ method: string; url: string; rule: RouteRule }> = Object.entries(ROUTE_RULES).flatMap(
  ([key, rule]) => {
    const [method = '', url = ''] = key.split(' ');
    const copies = url.startsWith('/api/2.0/') ? [url, url.replace('/api/', '/ajax-api/')] : [url];
    return copies.map((copy) => ({ method, url: copy, rule }));
  },
);

/** MLflow routes answer in MLflow's shape; v2 routes as OIP does (`error` is the message), with Cairn's code beside it. */
const errorCode = (reply: Reply, url: string): unknown =>
  MLFLOW.test(url)
    ? reply.body?.error_code
    : /^\/v2(\/|$)/.test(url)
      ? reply.body?.code
      : reply.body?.error?.code;

describeEachDatabase('every route × every caller × own/other project', ({ database }) => {
  let t: TestApp;
  let world: PermissionWorld;
  /** Every answer of the sweep, and the token text an answer may hold (a token just created). */
  const answers: Array<{ reply: Reply; mayHold?: string }> = [];
  const forbidden: Array<{ requestId: string; who: CallerName; route: string }> = [];

  const db = () => t.app.cairn.database.db;
  const lastSeq = async (): Promise<number> => {
    const row = await db()
      .selectFrom('audit_events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  };
  const eventsAfter = (seq: number) =>
    db()
      .selectFrom('audit_events')
      .select(['seq', 'actor', 'action', 'outcome', 'request_id'])
      .where('seq', '>', seq)
      .execute();

  beforeAll(async () => {
    t = await createTestApp(database(), {
      env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
      // Thousands of refused calls come from one address; the throttle has its own tests.
      loginThrottle: { maxFailures: 1_000_000 },
    });
    world = new PermissionWorld(t.app, ADMIN_TOKEN);
    await world.populate();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('has a permission decision for every route the app registers, and none for routes it does not', () => {
    const registered = new Set(
      t.app.cairn.routes
        .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS')
        .map((r) => `${r.method} ${r.url}`),
    );
    const promised = new Set(SWEPT.map((r) => `${r.method} ${r.url}`));
    expect(
      [...registered].filter((r) => !promised.has(r)),
      'routes with no entry in the permission table',
    ).toEqual([]);
    expect(
      [...promised].filter((r) => !registered.has(r)),
      'table entries for routes that do not exist',
    ).toEqual([]);
  });

  /** Rewrites a request built for `/api/…` to the route under test (its `/ajax-api/…` copy). */
  const onRoute = (request: TestRequest, url: string): TestRequest =>
    url.startsWith('/ajax-api/')
      ? { ...request, url: request.url.replace(/^\/api\//, '/ajax-api/') }
      : request;

  async function expectDenied(route: { method: string; url: string; rule: RouteRule }, ctx: BuildContext) {
    const request = onRoute(await route.rule.build(ctx), route.url);
    await expectRefused(ctx.who, request, `${ctx.who} in ${ctx.fx.project}`);
  }

  /** 401 without a token, else 403 PERMISSION_DENIED; a `denied` event of the caller and no other change. */
  async function expectRefused(who: CallerName, request: TestRequest, context: string): Promise<Reply> {
    const before = await lastSeq();
    const reply = await world.send(who, request);
    answers.push({ reply });
    const label = `${context}: ${request.method} ${request.url} → ${reply.text.slice(0, 300)}`;
    const anonymous = who === 'anonymous';
    expect(reply.status, label).toBe(anonymous ? 401 : 403);
    expect(errorCode(reply, request.url), label).toBe(anonymous ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED');
    const events = await eventsAfter(before);
    // Every change writes an audit event in its transaction: only `denied` ones mean nothing changed.
    expect(
      events.filter((e) => e.outcome !== 'denied'),
      label,
    ).toEqual([]);
    if (!anonymous) {
      expect(
        events.some((e) => e.request_id === reply.requestId && e.actor === who),
        `${label}: no denied event`,
      ).toBe(true);
      forbidden.push({ requestId: reply.requestId, who, route: `${request.method} ${request.url}` });
    }
    return reply;
  }

  async function expectAllowed(route: { method: string; url: string; rule: RouteRule }, ctx: BuildContext) {
    const { rule } = route;
    const request = onRoute(await rule.build(ctx), route.url);
    const reply = await world.send(ctx.who, request);
    const created = request.url.endsWith('/api/v1/tokens') && request.method === 'POST';
    answers.push({ reply, ...(created && reply.status === 201 ? { mayHold: reply.body.token } : {}) });
    const label = `${ctx.who} in ${ctx.fx.project}: ${request.method} ${request.url} → ${reply.text.slice(0, 300)}`;
    expect(reply.status, label).toBe(rule.ok);
    if (rule.items !== undefined) {
      const keys = rule.items(reply.body);
      const unreadable = keys.filter((key) => {
        const project = world.projectOf.get(key);
        return project !== undefined && !allows('read', ctx.who, project);
      });
      expect(unreadable, `${label}: items of projects ${ctx.who} may not read`).toEqual([]);
      if (rule.shows !== undefined) {
        const own = await rule.shows(ctx.fx);
        expect(keys.includes(own), `${label}: shows ${own}`).toBe(allows('read', ctx.who, ctx.fx.project));
      }
    }
    rule.inspect?.(reply, ctx);
  }

  for (const route of SWEPT) {
    it(`${route.method} ${route.url} needs ${route.rule.need}`, async () => {
      const { rule } = route;
      const projects: ProjectName[] = rule.scoped === false ? [OWN] : [OWN, OTHER];
      const shared = new Map(projects.map((p) => [p, world.fixtures(p)]));
      const calls = projects.flatMap((project) =>
        CALLERS.map((who) => ({ project, who, allowed: allows(rule.need, who, project) })),
      );
      const context = (call: (typeof calls)[number], fresh: boolean): BuildContext => ({
        fx: fresh ? world.fixtures(call.project) : (shared.get(call.project) as BuildContext['fx']),
        who: call.who,
        n: world.unique(),
        world,
      });
      // Refusals first, on fixtures an allowed call has not used up yet.
      for (const call of calls.filter((c) => !c.allowed)) await expectDenied(route, context(call, false));
      for (const call of calls.filter((c) => c.allowed)) {
        await expectAllowed(route, context(call, rule.consumes === true));
      }
    });
  }

  /**
   * Requests that name things in two projects, or someone else's things: the
   * sweep's one-resource requests cannot reach these refusals.
   */
  const crossings: Array<[string, CallerName, () => Promise<TestRequest>]> = [
    [
      'registering a version of an own model from a run of the other project',
      'editor',
      async () => ({
        method: 'POST',
        url: `/api/v1/models/${(await world.fixtures(OWN).model()).name}/versions`,
        json: { source: `runs:/${(await world.fixtures(OTHER).run()).id}/model` },
      }),
    ],
    [
      'the same through MLflow, naming the run',
      'editor',
      async () => {
        const run = await world.fixtures(OTHER).run();
        return {
          method: 'POST',
          url: '/api/2.0/mlflow/model-versions/create',
          json: {
            name: (await world.fixtures(OWN).model()).name,
            source: `runs:/${run.id}/model`,
            run_id: run.id,
          },
        };
      },
    ],
    [
      'the same from the other project’s artifact folder',
      'editor',
      async () => {
        const run = await world.fixtures(OTHER).run();
        return {
          method: 'POST',
          url: `/api/v1/models/${(await world.fixtures(OWN).model()).name}/versions`,
          json: { source: `mlflow-artifacts:/${run.experimentId}/${run.id}/artifacts/model` },
        };
      },
    ],
    [
      'uploading under an own experiment into a run of the other project',
      'editor',
      async () => {
        const mine = await world.fixtures(OWN).run();
        const theirs = await world.fixtures(OTHER).run();
        return {
          method: 'PUT',
          url: `/api/2.0/mlflow-artifacts/artifacts/${mine.experimentId}/${theirs.id}/artifacts/x.txt`,
          text: 'x',
        };
      },
    ],
    [
      'searching runs of both projects at once',
      'viewer',
      async () => ({
        method: 'POST',
        url: '/api/v1/runs/search',
        json: {
          experimentIds: [
            (await world.fixtures(OWN).experiment()).id,
            (await world.fixtures(OTHER).experiment()).id,
          ],
        },
      }),
    ],
    [
      'creating a token for another user',
      'editor',
      async () => ({ method: 'POST', url: '/api/v1/tokens', json: { user: 'viewer' } }),
    ],
    [
      'listing another user’s tokens',
      'editor',
      async () => ({ method: 'GET', url: '/api/v1/tokens?user=viewer' }),
    ],
    [
      'revoking another user’s token',
      'padmin',
      async () => {
        const created = await world.must('admin', {
          method: 'POST',
          url: '/api/v1/tokens',
          json: { user: 'viewer', name: 'x' },
        });
        return { method: 'DELETE', url: `/api/v1/tokens/${created.id}` };
      },
    ],
    [
      'reading the whole audit trail without administering a project',
      'approver',
      async () => ({ method: 'GET', url: '/api/v1/audit/events' }),
    ],
    [
      'listing promotions of the other project by name',
      'viewer',
      async () => ({ method: 'GET', url: `/api/v1/promotions?project=${OTHER}` }),
    ],
    [
      'moving a protected alias directly',
      'editor',
      async () => ({
        method: 'PUT',
        url: `/api/v1/models/${(await world.fixtures(OWN).model()).name}/aliases/champion`,
        json: { version: 1 },
      }),
    ],
    [
      'moving a protected alias directly through MLflow, even as the server admin',
      'admin',
      async () => ({
        method: 'POST',
        url: '/api/2.0/mlflow/registered-models/alias',
        json: { name: (await world.fixtures(OWN).model()).name, alias: 'champion', version: '1' },
      }),
    ],
    [
      'moving a version to a protected stage through MLflow',
      'padmin',
      async () => ({
        method: 'POST',
        url: '/api/2.0/mlflow/model-versions/transition-stage',
        json: { name: (await world.fixtures(OWN).model()).name, version: '1', stage: 'Production' },
      }),
    ],
    [
      'approving one’s own promotion request',
      'padmin',
      async () => {
        const { name } = await world.fixtures(OWN).model();
        const asked = await world.must('padmin', {
          method: 'POST',
          url: '/api/v1/promotions',
          json: { model: name, version: 1, alias: 'champion' },
        });
        return { method: 'POST', url: `/api/v1/promotions/${asked.id}/approve`, json: {} };
      },
    ],
  ];

  it.each(crossings)('refuses %s (%s)', async (label, who, build) => {
    await expectRefused(who, await build(), label);
  });

  it('shows a project admin the audit events of their project only', async () => {
    const page = await world.must('padmin', { method: 'GET', url: '/api/v1/audit/events?limit=1000' });
    expect(page.events.length).toBeGreaterThan(0);
    expect(page.events.filter((e: { projectId: string | null }) => e.projectId !== OWN)).toEqual([]);
  });

  it('every 403 of the sweep is in the audit trail as a denied event of its caller, found through the API', async () => {
    expect(forbidden.length).toBeGreaterThan(SWEPT.length);
    const denied = new Map<string, string>();
    let pageToken: string | undefined;
    do {
      const query = `outcome=denied&limit=1000${pageToken === undefined ? '' : `&pageToken=${pageToken}`}`;
      const page = await world.must('admin', { method: 'GET', url: `/api/v1/audit/events?${query}` });
      for (const event of page.events) if (event.requestId !== null) denied.set(event.requestId, event.actor);
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
    const missing = forbidden.filter((f) => denied.get(f.requestId) !== f.who);
    expect(missing).toEqual([]);
  });

  it('no token, token secret, salt or hash appears in any answer or audit event', async () => {
    const stored = await db().selectFrom('api_tokens').select(['salt', 'secret_hash']).execute();
    const secrets = [
      ...world.tokens.values(),
      ...answers.flatMap((a) => (a.mayHold === undefined ? [] : [a.mayHold])),
      ...stored.flatMap((row) => [row.salt, row.secret_hash]),
    ];
    const leaks = answers.flatMap(({ reply, mayHold }) =>
      secretsIn(reply.text, secrets)
        .filter((found) => mayHold === undefined || !mayHold.includes(found))
        .map((found) => `${reply.requestId}: ${found.slice(0, 12)}…`),
    );
    expect(leaks).toEqual([]);
    const exported = await world.send('admin', { method: 'GET', url: '/api/v1/audit/export' });
    expect(exported.status).toBe(200);
    expect(exported.text.split('\n').length).toBeGreaterThan(forbidden.length);
    expect(secretsIn(exported.text, secrets).map((s) => s.slice(0, 12))).toEqual([]);
  });
});
