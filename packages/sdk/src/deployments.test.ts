import { describe, expect, it } from 'vitest';
import { Cairn, isCairnError, type CairnError, type DeploymentJson } from './index.js';

// The deployments resource against a stand-in fetch: which route each method
// calls, with what, and how answers and errors come back. What the server does
// with them is for the server's HTTP tests and the end-to-end tests.

const deployment: DeploymentJson = {
  name: 'churn-api',
  project: 'default',
  description: '',
  revision: 2,
  routes: [
    {
      ref: 'churn@champion',
      model: 'churn',
      version: 3,
      digest: `sha256:${'a'.repeat(64)}`,
      format: 'onnx',
      weight: 90,
    },
    {
      ref: 'churn@challenger',
      model: 'churn',
      version: 4,
      digest: `sha256:${'b'.repeat(64)}`,
      format: 'onnx',
      weight: 10,
    },
  ],
  shadows: [],
  follow: { model: 'churn', alias: 'champion' },
  settings: { maxBatchSize: 64, maxBatchWaitMs: 0, maxQueue: 1024, sampleRate: 1 },
  port: null,
  endpoints: {
    v2: 'http://cairn.test/v2/models/churn-api',
    predict: 'http://cairn.test/deployments/churn-api/predict',
    own: null,
  },
  status: { state: 'ready', servedRevision: 2, message: null },
  createdAt: 1,
  updatedAt: 2,
  createdBy: 'ana',
};

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

/** A client whose fetch records each request and answers with `answer(call)`. */
function clientAnswering(answer: (call: Call) => Response) {
  const calls: Call[] = [];
  const fake: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const call: Call = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return answer(call);
  };
  return { calls, cairn: new Cairn({ url: 'http://cairn.test', fetch: fake, retries: 0 }) };
}

const json = (body: unknown, init: ResponseInit = {}): Response =>
  new Response(JSON.stringify(body), {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  });

async function rejection(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('cairn.deployments', () => {
  it('creates, reads, changes and rolls back through /api/v1/deployments, unwrapping the deployment', async () => {
    const { calls, cairn } = clientAnswering(() => json({ deployment }));
    const input = {
      name: 'churn-api',
      model: 'churn@champion',
      canary: [{ model: 'churn@challenger', weight: 10 }],
      shadows: [{ model: 'churn/5', percent: 50 }],
      follow: true,
      settings: { sampleRate: 0.5 },
      port: 8081,
    };
    expect(await cairn.deployments.create(input)).toEqual(deployment);
    expect(await cairn.deployments.get('churn-api')).toEqual(deployment);
    expect(await cairn.deployments.update('churn-api', { canary: [] })).toEqual(deployment);
    expect(await cairn.deployments.rollback('churn-api')).toEqual(deployment);
    expect(await cairn.deployments.rollback('churn-api', { to: 1 })).toEqual(deployment);
    expect(calls.map((c) => [c.method, c.path, c.body])).toEqual([
      ['POST', '/api/v1/deployments', input],
      ['GET', '/api/v1/deployments/churn-api', undefined],
      ['PATCH', '/api/v1/deployments/churn-api', { canary: [] }],
      ['POST', '/api/v1/deployments/churn-api/rollback', {}],
      ['POST', '/api/v1/deployments/churn-api/rollback', { to: 1 }],
    ]);
  });

  it('lists one page or all of them, and revisions newest first', async () => {
    const { calls, cairn } = clientAnswering((call) => {
      if (call.path.endsWith('/revisions')) return json({ revisions: [] });
      return call.query['page_token'] === undefined
        ? json({ deployments: [deployment], nextPageToken: 'p2' })
        : json({ deployments: [{ ...deployment, name: 'b' }] });
    });
    expect(await cairn.deployments.list({ project: 'risk', maxResults: 1 })).toEqual({
      deployments: [deployment],
      nextPageToken: 'p2',
    });
    expect((await cairn.deployments.all({ project: 'risk' })).map((d) => d.name)).toEqual(['churn-api', 'b']);
    expect(await cairn.deployments.revisions('churn-api', { maxResults: 5 })).toEqual([]);
    expect(calls.map((c) => [c.path, c.query])).toEqual([
      ['/api/v1/deployments', { project: 'risk', max_results: '1' }],
      ['/api/v1/deployments', { project: 'risk' }],
      ['/api/v1/deployments', { project: 'risk', page_token: 'p2' }],
      ['/api/v1/deployments/churn-api/revisions', { max_results: '5' }],
    ]);
  });

  it('queries predictions and shadow summaries, times as epoch ms or ISO text', async () => {
    const { calls, cairn } = clientAnswering((call) =>
      call.path.endsWith('/shadow') ? json({ shadows: [] }) : json({ predictions: [], nextPageToken: 'n' }),
    );
    expect(
      await cairn.deployments.predictions('churn-api', {
        kind: 'shadow',
        since: new Date(Date.UTC(2026, 2, 3)),
        until: '2026-03-04',
        maxResults: 10,
        pageToken: 't',
      }),
    ).toEqual({ predictions: [], nextPageToken: 'n' });
    expect(await cairn.deployments.shadowSummary('churn-api', { since: 5 })).toEqual([]);
    expect(await cairn.deployments.shadowSummary('churn-api')).toEqual([]);
    expect(calls.map((c) => [c.path, c.query])).toEqual([
      [
        '/api/v1/deployments/churn-api/predictions',
        {
          kind: 'shadow',
          since: String(Date.UTC(2026, 2, 3)),
          until: '2026-03-04',
          max_results: '10',
          page_token: 't',
        },
      ],
      ['/api/v1/deployments/churn-api/shadow', { since: '5' }],
      ['/api/v1/deployments/churn-api/shadow', {}],
    ]);
  });

  it('predicts on the data plane, with a sticky route key when given, and sends feedback', async () => {
    const { calls, cairn } = clientAnswering((call) =>
      call.path.endsWith('/predict')
        ? json(
            { predictions: [[0.1, 0.9]], requestId: 'r-1', model: 'churn', version: 3 },
            { headers: { 'x-request-id': 'r-1' } },
          )
        : json({ accepted: 2 }),
    );
    expect(await cairn.deployments.predict('churn-api', [[1, 2]], { key: 'user-42' })).toEqual({
      predictions: [[0.1, 0.9]],
      requestId: 'r-1',
      model: 'churn',
      version: 3,
    });
    await cairn.deployments.predict('churn-api', [[1, 2]]);
    expect(
      await cairn.deployments.feedback('churn-api', [
        { requestId: 'r-1', truth: 1 },
        { requestId: 'r-2', truth: 'churned' },
      ]),
    ).toEqual({ accepted: 2 });
    expect(calls.map((c) => [c.method, c.path, c.body, c.headers['x-cairn-route-key']])).toEqual([
      ['POST', '/deployments/churn-api/predict', { instances: [[1, 2]] }, 'user-42'],
      ['POST', '/deployments/churn-api/predict', { instances: [[1, 2]] }, undefined],
      [
        'POST',
        '/deployments/churn-api/feedback',
        {
          items: [
            { requestId: 'r-1', truth: 1 },
            { requestId: 'r-2', truth: 'churned' },
          ],
        },
        undefined,
      ],
    ]);
  });

  it('takes the request id from the header when the body lacks it', async () => {
    const { cairn } = clientAnswering(() =>
      json({ predictions: [1], model: 'churn', version: 3 }, { headers: { 'x-request-id': 'from-header' } }),
    );
    expect((await cairn.deployments.predict('churn-api', [[1]])).requestId).toBe('from-header');
  });

  it('deletes, and encodes names into one path segment', async () => {
    const { calls, cairn } = clientAnswering(() => json({}));
    await cairn.deployments.delete('churn-api');
    await cairn.deployments.delete('a/b');
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'DELETE /api/v1/deployments/churn-api',
      'DELETE /api/v1/deployments/a%2Fb',
    ]);
  });

  it("rebuilds the server's errors as CairnError, code, field and request id kept", async () => {
    const { cairn } = clientAnswering(() =>
      json(
        {
          error: {
            code: 'INVALID_ARGUMENT',
            message: 'canary[0].weight must be a whole percent from 1 to 99',
            field: 'canary[0].weight',
            requestId: 'req-9',
          },
        },
        { status: 400 },
      ),
    );
    expect(
      await rejection(
        cairn.deployments.create({ name: 'x', model: 'churn/3', canary: [{ model: 'churn/4', weight: 0 }] }),
      ),
    ).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'canary[0].weight', requestId: 'req-9' });
    const missing = clientAnswering(() =>
      json({ error: { code: 'NOT_FOUND', message: 'deployment nope not found' } }, { status: 404 }),
    );
    expect(await rejection(missing.cairn.deployments.predict('nope', [[1]]))).toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
