import type { DeploymentJson, DeploymentRevisionJson, PredictionJson, ShadowSummaryJson } from '@cairn/sdk';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../main.js';

// `cairn deploy …` in process, against a stand-in fetch: what each command
// sends, prints and exits with. The real server and models are the
// end-to-end tests' part.

const route = (version: number, weight: number, ref = `churn/${version}`) => ({
  ref,
  model: 'churn',
  version,
  digest: `sha256:${String(version).repeat(64)}`,
  format: 'onnx',
  weight,
});

const deployment: DeploymentJson = {
  name: 'churn-api',
  project: 'default',
  description: 'scores churn',
  revision: 3,
  routes: [route(3, 90, 'churn@champion'), route(4, 10, 'churn@challenger')],
  shadows: [
    {
      ref: 'churn/5',
      model: 'churn',
      version: 5,
      digest: `sha256:${'5'.repeat(64)}`,
      format: 'onnx',
      percent: 50,
    },
  ],
  follow: { model: 'churn', alias: 'champion' },
  settings: { maxBatchSize: 64, maxBatchWaitMs: 0, maxQueue: 1024, sampleRate: 1 },
  port: 8081,
  endpoints: {
    v2: 'http://127.0.0.1:9/v2/models/churn-api',
    predict: 'http://127.0.0.1:9/deployments/churn-api/predict',
    own: 'http://127.0.0.1:8081/deployments/churn-api/predict',
  },
  status: { state: 'ready', servedRevision: 3, message: null },
  createdAt: Date.UTC(2026, 2, 3),
  updatedAt: Date.UTC(2026, 2, 3),
  createdBy: 'ana',
};

const revision = (n: number, reason: string): DeploymentRevisionJson => ({
  revision: n,
  current: n === 3,
  reason,
  routes: n === 1 ? [route(3, 100)] : deployment.routes,
  shadows: [],
  follow: null,
  settings: deployment.settings,
  createdAt: Date.UTC(2026, 2, n),
  createdBy: 'ana',
});

const prediction: PredictionJson = {
  requestId: 'req-1',
  kind: 'live',
  revision: 3,
  model: 'churn',
  version: 4,
  protocol: 'predict',
  createdAt: Date.UTC(2026, 2, 3, 12),
  latencyMs: 1.25,
  status: 'ok',
  error: null,
  inputs: [[1, 2]],
  outputs: [[0.2, 0.8]],
  agreed: null,
  meanAbsDiff: null,
  truth: 1,
  truthAt: Date.UTC(2026, 2, 3, 13),
};

const shadow: ShadowSummaryJson = {
  model: 'churn',
  version: 5,
  requests: 200,
  errors: 1,
  compared: 199,
  agreementRate: 0.9749,
  meanAbsDiff: 0.01234,
  meanLatencyMs: 2.5,
};

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

let calls: Call[];
let stdout: string;
let stderr: string;
/** What the stand-in server answers; by default as the routes of issue #6 would. */
let answer: (call: Call) => Response;

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function defaultAnswer(call: Call): Response {
  const { method, path } = call;
  if (path === '/deployments/churn-api/predict') {
    return json({ predictions: [[0.2, 0.8]], requestId: 'req-1', model: 'churn', version: 4 });
  }
  if (path === '/deployments/churn-api/feedback') return json({ accepted: 1 });
  if (path === '/api/v1/deployments' && method === 'GET') return json({ deployments: [deployment] });
  if (path.endsWith('/revisions')) {
    return json({ revisions: [revision(3, 'canary churn@challenger 10%'), revision(1, 'created')] });
  }
  if (path.endsWith('/predictions')) return json({ predictions: [prediction] });
  if (path.endsWith('/shadow')) return json({ shadows: [shadow] });
  if (method === 'DELETE') return json({});
  return json({ deployment });
}

async function cairn(...args: string[]): Promise<number> {
  process.exitCode = undefined;
  await run(['node', 'cairn', ...args, '--url', 'http://127.0.0.1:9']);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return code;
}

beforeEach(() => {
  calls = [];
  stdout = '';
  stderr = '';
  answer = defaultAnswer;
  vi.stubGlobal('fetch', async (input: string | URL, init?: RequestInit) => {
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
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('cairn deploy create', () => {
  it('sends the flags as the create body and prints exactly the deployment with --json', async () => {
    const code = await cairn(
      'deploy',
      'create',
      'churn-api',
      '--model',
      'churn@champion',
      '--canary',
      'churn@challenger:10',
      '--shadow',
      'churn/5:50',
      '--shadow',
      'churn/6',
      '--follow',
      '--port',
      '8081',
      '--project',
      'risk',
      '--description',
      'scores churn',
      '--max-batch-size',
      '32',
      '--max-batch-wait-ms',
      '2',
      '--max-queue',
      '100',
      '--sample-rate',
      '0.5',
      '--json',
    );
    expect(code, stderr).toBe(0);
    expect(calls.map((c) => [c.method, c.path, c.body])).toEqual([
      [
        'POST',
        '/api/v1/deployments',
        {
          name: 'churn-api',
          model: 'churn@champion',
          project: 'risk',
          description: 'scores churn',
          canary: [{ model: 'churn@challenger', weight: 10 }],
          shadows: [
            { model: 'churn/5', percent: 50 },
            { model: 'churn/6', percent: 100 },
          ],
          follow: true,
          settings: { maxBatchSize: 32, maxBatchWaitMs: 2, maxQueue: 100, sampleRate: 0.5 },
          port: 8081,
        },
      ],
    ]);
    expect(JSON.parse(stdout)).toEqual(deployment);
  });

  it('prints a summary with each route, the shadows, follow, status and curl-able endpoints', async () => {
    expect(await cairn('deploy', 'create', 'churn-api', '--model', 'churn@champion')).toBe(0);
    expect(stdout).toContain('churn-api (project default)');
    expect(stdout).toMatch(/Revision: +3/);
    expect(stdout).toMatch(/Routes: +churn\/3 +90% +\(churn@champion\)/);
    expect(stdout).toMatch(/ +churn\/4 +10% +\(churn@challenger\)/);
    expect(stdout).toMatch(/Shadows: +churn\/5 +50% of requests copied/);
    expect(stdout).toMatch(/Follow: +churn@champion/);
    expect(stdout).toMatch(/Status: +ready/);
    expect(stdout).toContain('curl -s http://127.0.0.1:9/deployments/churn-api/predict');
    expect(stdout).toContain('http://127.0.0.1:8081/deployments/churn-api/predict');
  });
});

describe('cairn deploy: bad input is a usage error (exit 2) before any request', () => {
  it.each([
    [['create', 'churn-api', '--model', 'churn/3', '--canary', 'churn/4'], /needs a weight: REF:WEIGHT/],
    [['create', 'churn-api', '--model', 'churn/3', '--canary', 'churn/4:100'], /from 1 to 99/],
    [['create', 'churn-api', '--model', 'churn/3', '--canary', 'churn/4:0'], /from 1 to 99/],
    [['create', 'churn-api', '--model', 'churn/3', '--shadow', 'churn/4:101'], /from 1 to 100/],
    [
      ['create', 'churn-api', '--model', 'churn/3', '--max-queue', 'many'],
      /--max-queue must be a whole number/,
    ],
    [
      ['create', 'churn-api', '--model', 'churn/3', '--sample-rate', '2'],
      /--sample-rate must be a number from 0 to 1/,
    ],
    [['create', 'churn-api', '--model', 'churn/3', '--port', 'http'], /--port must be a whole number/],
    [['create', 'bad name', '--model', 'churn/3'], /not a deployment name/],
    [['create', 'churn-api'], /required option '--model <ref>' not specified/],
    [
      ['update', 'churn-api', '--canary', 'churn/4:10', '--no-canary'],
      /give --canary or --no-canary, not both/,
    ],
    [
      ['update', 'churn-api', '--no-canary', '--canary', 'churn/4:10'],
      /give --canary or --no-canary, not both/,
    ],
    [['update', 'churn-api', '--shadow', 'churn/5', '--no-shadow'], /give --shadow or --no-shadow, not both/],
    [['update', 'churn-api', '--follow', '--no-follow'], /give --follow or --no-follow, not both/],
    [['update', 'churn-api', '--no-follow', '--follow'], /give --follow or --no-follow, not both/],
    [['update', 'churn-api'], /nothing to change/],
    [['rollback', 'churn-api', '--to', 'last'], /--to must be a whole number/],
    [['predictions', 'churn-api', '--kind', 'dead'], /--kind must be live or shadow/],
    [['predictions', 'churn-api', '--since', 'yesterday'], /--since must be a time ago/],
    [['predictions', 'churn-api', '--limit', '0'], /--limit must be a whole number/],
    [['shadow', 'churn-api', '--since', 'noon'], /--since must be a time ago/],
    [['predict', 'churn-api', '--instances', '[1, 2'], /--instances must be JSON/],
    [['predict', 'churn-api', '--instances', '{"rows": []}'], /--instances must be a JSON array/],
    [['predict', 'churn-api', '--instances', '@/no/such/file.json'], /cannot read \/no\/such\/file\.json/],
    [['feedback', 'churn-api', '--request-id', 'req-1', '--truth', 'churned'], /--truth must be JSON/],
    [['feedback', 'churn-api', '--truth', '1'], /required option '--request-id <id>' not specified/],
  ])('cairn deploy %j', async (args, message) => {
    expect(await cairn('deploy', ...args)).toBe(2);
    expect(stderr).toMatch(message);
    expect(calls).toEqual([]);
  });
});

describe('cairn deploy: the other commands', () => {
  it('updates with only what the flags mention; --no-canary sends an empty list', async () => {
    expect(
      await cairn('deploy', 'update', 'churn-api', '--model', 'churn@challenger', '--no-canary', '--json'),
    ).toBe(0);
    expect(calls[0]).toMatchObject({
      method: 'PATCH',
      path: '/api/v1/deployments/churn-api',
      body: { model: 'churn@challenger', canary: [] },
    });
    expect(JSON.parse(stdout)).toEqual(deployment);
  });

  it('rolls back to the revision before, or to --to', async () => {
    expect(await cairn('deploy', 'rollback', 'churn-api')).toBe(0);
    expect(await cairn('deploy', 'rollback', 'churn-api', '--to', '1', '--json')).toBe(0);
    expect(calls.map((c) => [c.path, c.body])).toEqual([
      ['/api/v1/deployments/churn-api/rollback', {}],
      ['/api/v1/deployments/churn-api/rollback', { to: 1 }],
    ]);
    expect(stdout).toContain('Rolled churn-api back as revision 3.');
  });

  it('lists deployments as a table: routes with weights, status, port', async () => {
    expect(await cairn('deploy', 'list', '--project', 'risk')).toBe(0);
    expect(calls[0]?.query).toEqual({ project: 'risk' });
    const [header, row] = stdout.trim().split('\n');
    expect(header).toMatch(/^NAME +REVISION +ROUTES +STATUS +PORT$/);
    expect(row).toMatch(/^churn-api +3 +churn\/3 90%, churn\/4 10% +ready +8081$/);
  });

  it('lists revisions newest first, marking the current one', async () => {
    expect(await cairn('deploy', 'revisions', 'churn-api')).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^REV +CURRENT +REASON +ROUTES +WHEN +BY$/);
    expect(lines[1]).toMatch(
      /^ *3 +\* +canary churn@challenger 10% +churn\/3 90%, churn\/4 10% +2026-03-03 00:00:00 +ana$/,
    );
    expect(lines[2]).toMatch(/^ *1 +created +churn\/3 100% +2026-03-01/);
  });

  it('prints --json as the arrays themselves', async () => {
    expect(await cairn('deploy', 'list', '--json')).toBe(0);
    expect(JSON.parse(stdout)).toEqual([deployment]);
    stdout = '';
    expect(await cairn('deploy', 'predictions', 'churn-api', '--json')).toBe(0);
    expect(JSON.parse(stdout)).toEqual([prediction]);
    stdout = '';
    expect(await cairn('deploy', 'shadow', 'churn-api', '--json')).toBe(0);
    expect(JSON.parse(stdout)).toEqual([shadow]);
    stdout = '';
    expect(await cairn('deploy', 'revisions', 'churn-api', '--json')).toBe(0);
    expect(JSON.parse(stdout)).toHaveLength(2);
  });

  it('pages through predictions up to --limit, with filters as epoch ms', async () => {
    answer = (call) =>
      json({
        predictions: [prediction, prediction],
        ...(call.query['page_token'] === 'p2' ? {} : { nextPageToken: 'p2' }),
      });
    expect(
      await cairn(
        'deploy',
        'predictions',
        'churn-api',
        '--kind',
        'live',
        '--since',
        '2026-03-03',
        '--until',
        '1772539200000',
        '--limit',
        '3',
      ),
    ).toBe(0);
    expect(calls.map((c) => c.query)).toEqual([
      { kind: 'live', since: String(Date.UTC(2026, 2, 3)), until: '1772539200000', max_results: '3' },
      {
        kind: 'live',
        since: String(Date.UTC(2026, 2, 3)),
        until: '1772539200000',
        max_results: '1',
        page_token: 'p2',
      },
    ]);
    expect(stdout).toMatch(/^WHEN +REQUEST +KIND +VERSION +LATENCY +STATUS +OUTPUTS +AGREED +TRUTH$/m);
    expect(stdout).toMatch(/req-1 +live +churn\/4 \(rev 3\) +1\.25 ms +ok +\[\[0\.2,0\.8\]\] +- +1$/m);
  });

  it('shows how each shadow compares: agreement as a percent, mean difference, latency', async () => {
    expect(await cairn('deploy', 'shadow', 'churn-api', '--since', '2h')).toBe(0);
    expect(Number(calls[0]?.query['since'])).toBeGreaterThan(Date.now() - 2 * 3_600_000 - 60_000);
    expect(stdout).toMatch(/SHADOW +REQUESTS +ERRORS +COMPARED +AGREEMENT +MEAN DIFF +MEAN LATENCY/);
    expect(stdout).toMatch(/churn\/5 +200 +1 +199 +97\.5% +0\.01234 +2\.5 ms/);
  });

  it('predicts with a sticky key, and records feedback', async () => {
    expect(
      await cairn(
        'deploy',
        'predict',
        'churn-api',
        '--instances',
        '{"instances": [[1, 2]]}',
        '--key',
        'user-42',
      ),
    ).toBe(0);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      path: '/deployments/churn-api/predict',
      body: { instances: [[1, 2]] },
      headers: { 'x-cairn-route-key': 'user-42' },
    });
    expect(stdout).toContain('churn/4 answered (request id req-1):\n  [0.2,0.8]');
    expect(stdout).toContain('cairn deploy feedback churn-api --request-id req-1 --truth JSON');
    stdout = '';
    expect(
      await cairn(
        'deploy',
        'feedback',
        'churn-api',
        '--request-id',
        'req-1',
        '--truth',
        '"churned"',
        '--json',
      ),
    ).toBe(0);
    expect(calls[1]).toMatchObject({
      path: '/deployments/churn-api/feedback',
      body: { items: [{ requestId: 'req-1', truth: 'churned' }] },
    });
    expect(JSON.parse(stdout)).toEqual({ accepted: 1 });
  });

  it('deletes', async () => {
    expect(await cairn('deploy', 'delete', 'churn-api')).toBe(0);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['DELETE /api/v1/deployments/churn-api']);
    expect(stdout).toContain('Deleted deployment churn-api');
  });

  it.each([
    ['NOT_FOUND', 404, 6, /Not found \(NOT_FOUND\)\n {2}deployment nope not found\n {2}request id: r-7/],
    ['INVALID_ARGUMENT', 400, 3, /Invalid input/],
    ['ALREADY_EXISTS', 409, 7, /Already exists/],
    ['FAILED_PRECONDITION', 412, 8, /Not possible in the current state/],
    ['PERMISSION_DENIED', 403, 5, /Permission denied/],
  ])('maps a server %s to its exit code', async (code, status, exit, message) => {
    answer = () => json({ error: { code, message: 'deployment nope not found', requestId: 'r-7' } }, status);
    expect(await cairn('deploy', 'get', 'nope')).toBe(exit);
    expect(stderr).toMatch(message);
  });
});

describe('cairn deploy --help', () => {
  it.each([
    'create',
    'list',
    'get',
    'update',
    'rollback',
    'revisions',
    'delete',
    'predictions',
    'shadow',
    'predict',
    'feedback',
  ])('explains %s with examples', async (sub) => {
    expect(await cairn('deploy', sub, '--help')).toBe(0);
    expect(stdout).toContain(`Usage: cairn deploy ${sub}`);
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('cairn deploy ');
  });

  it('lists every subcommand', async () => {
    expect(await cairn('deploy', '--help')).toBe(0);
    for (const sub of [
      'create',
      'list',
      'get',
      'update',
      'rollback',
      'revisions',
      'delete',
      'predictions',
      'shadow',
      'predict',
      'feedback',
    ]) {
      expect(stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    }
  });
});
