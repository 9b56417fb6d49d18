import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlobStore } from '../adapters/blob/open-blob-store.js';
import { createSqlStores, type MetadataStores } from '../adapters/sql/sql-stores.js';
import type { BlobStore } from '../modules/artifacts/index.js';
import { currentCaller, type AuditEvent } from '../modules/governance/index.js';
import { describeEachDatabase } from '../testing/test-databases.js';
import { createTestApp, type TestApp } from '../testing/test-app.js';

const ADMIN_TOKEN = 'http-admin-token-0123456789abcdef0123456789abcdef';
const DAY = 24 * 60 * 60 * 1000;
const AUTH_ENV = { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN, CAIRN_LOG_LEVEL: 'debug' };

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
interface Sent {
  method?: Method;
  url: string;
  authorization?: string;
  address?: string;
  payload?: unknown;
  requestId?: string;
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (token: string): string => `Bearer ${token}`;

describeEachDatabase('authentication over HTTP', ({ database }) => {
  let t: TestApp;
  let stores: MetadataStores;
  let now = Date.UTC(2026, 6, 1);
  const clock = { now: () => now };
  const logs: string[] = [];
  /** Every body the server answered except token creation, to show no secret ever leaves in one. */
  const bodies: string[] = [];
  const secrets: string[] = [ADMIN_TOKEN];
  let alice: { token: string; id: string };
  let bob: { token: string; id: string };
  let nextAddress = 1;
  const freshAddress = (): string => `10.9.${nextAddress >> 8}.${nextAddress++ & 255}`;

  async function send(app: TestApp['app'], sent: Sent) {
    const response = await app.inject({
      method: sent.method ?? 'GET',
      url: sent.url,
      remoteAddress: sent.address ?? '127.0.0.1',
      headers: {
        ...(sent.authorization === undefined ? {} : { authorization: sent.authorization }),
        ...(sent.requestId === undefined ? {} : { 'x-request-id': sent.requestId }),
        ...(sent.payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(sent.payload === undefined ? {} : { payload: JSON.stringify(sent.payload) }),
    });
    if (!(sent.method === 'POST' && sent.url === '/api/v1/tokens')) bodies.push(response.body);
    let body: any = response.body;
    try {
      body = response.body === '' ? undefined : JSON.parse(response.body);
    } catch {
      // plain text (/health)
    }
    return { status: response.statusCode, body, headers: response.headers };
  }
  const req = (sent: Sent) => send(t.app, sent);
  const asAdmin = (sent: Sent) => req({ ...sent, authorization: bearer(ADMIN_TOKEN) });

  async function newToken(
    user: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ token: string; id: string }> {
    const res = await asAdmin({ method: 'POST', url: '/api/v1/tokens', payload: { user, ...extra } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    secrets.push(res.body.token);
    return { token: res.body.token, id: res.body.id };
  }

  const auditEvents = async (): Promise<AuditEvent[]> =>
    stores.auditLog.query({ order: 'asc', limit: 100_000 });
  const lastSeq = async (): Promise<number> => (await stores.auditLog.head()).lastSeq;
  const eventsAfter = (seq: number) => stores.auditLog.query({ afterSeq: seq, order: 'asc', limit: 1000 });

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    t = await createTestApp(database(), { clock, env: AUTH_ENV, logger: { level: 'debug', stream } });
    stores = createSqlStores(database().db, database().helpers);
    for (const name of ['alice', 'bob', 'dora']) {
      expect((await asAdmin({ method: 'POST', url: '/api/v1/users', payload: { name } })).status).toBe(201);
    }
    alice = await newToken('alice');
    bob = await newToken('bob');
    const grant = { method: 'POST', url: '/api/v1/projects/default/members' } as const;
    expect((await asAdmin({ ...grant, payload: { user: 'alice', role: 'editor' } })).status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('refuses bad credentials with 401 and records only auth.failed', () => {
    const cases: Array<[string, () => Promise<string | undefined>, string]> = [
      ['no Authorization header', async () => undefined, 'missing'],
      ['Bearer with nothing after it', async () => 'Bearer', 'malformed'],
      ['Bearer and spaces', async () => 'Bearer    ', 'malformed'],
      ['short garbage', async () => 'Bearer hello', 'malformed'],
      ['long garbage', async () => `Bearer ${'z'.repeat(48)}`, 'unknown'],
      ['an unknown scheme', async () => `Token ${alice.token}`, 'malformed'],
      ['a wrong prefix', async () => `Bearer xairn_${alice.token.slice(6)}`, 'unknown'],
      [
        'the right id with a wrong secret',
        async () => `Bearer cairn_${alice.id}_${'A'.repeat(43)}`,
        'unknown',
      ],
      [
        'an expired token',
        async () => bearer((await newToken('alice', { expiresInDays: 1 / 24 })).token),
        'expired',
      ],
      ['a revoked token', async () => bearer(await revokedToken()), 'revoked'],
      ['a disabled user', async () => bearer(await disabledUsersToken()), 'disabled'],
      ['basic auth naming no such user', async () => basic('nobody', alice.token), 'wrong_user'],
      ['basic auth with another user’s token', async () => basic('alice', bob.token), 'wrong_user'],
      ['basic auth that is not base64', async () => 'Basic !!!not-base64!!!', 'malformed'],
      [
        'basic auth without a colon',
        async () => `Basic ${Buffer.from(alice.token).toString('base64')}`,
        'malformed',
      ],
      ['basic auth with a bad password', async () => basic('alice', 'short'), 'malformed'],
      ['an oversized header', async () => `Bearer ${'a'.repeat(8000)}`, 'malformed'],
    ];

    async function revokedToken(): Promise<string> {
      const { token, id } = await newToken('alice');
      expect((await asAdmin({ method: 'DELETE', url: `/api/v1/tokens/${id}` })).status).toBe(200);
      return token;
    }

    async function disabledUsersToken(): Promise<string> {
      const { token } = await newToken('dora');
      expect((await asAdmin({ method: 'POST', url: '/api/v1/users/dora/disable' })).status).toBe(200);
      return token;
    }

    it.each(cases)('%s', async (_name, credentials, reason) => {
      const authorization = await credentials();
      if (reason === 'expired') now += 2 * 60 * 60 * 1000;
      const address = freshAddress();
      const seq = await lastSeq();
      const native = await req({
        method: 'POST',
        url: '/api/v1/experiments',
        payload: { name: `never-${reason}` },
        address,
        ...(authorization === undefined ? {} : { authorization }),
      });
      expect(native.status).toBe(401);
      expect(native.body.error.code).toBe('UNAUTHENTICATED');
      expect(native.headers['www-authenticate']).toBe('Bearer realm="cairn", Basic realm="cairn"');
      const mlflow = await req({
        method: 'POST',
        url: '/api/2.0/mlflow/experiments/create',
        payload: { name: `never-${reason}` },
        address,
        ...(authorization === undefined ? {} : { authorization }),
      });
      expect(mlflow.status).toBe(401);
      expect(mlflow.body).toMatchObject({ error_code: 'UNAUTHENTICATED' });
      for (const body of [native.body.error.message, mlflow.body.message]) {
        expect(body).toMatch(/token|Authorization|disabled|user name/);
        const sentToken = authorization?.slice(7, 40).trim() ?? '';
        if (sentToken.length > 8) expect(body).not.toContain(sentToken);
      }
      const events = await eventsAfter(seq);
      expect(events.map((e) => [e.actor, e.action, e.outcome, e.target.kind, e.target.id])).toEqual([
        ['anonymous', 'auth.failed', 'denied', 'address', address],
        ['anonymous', 'auth.failed', 'denied', 'address', address],
      ]);
      expect(JSON.parse(events[0]!.details)).toMatchObject({ reason, address });
      expect(await stores.tracking.getExperimentByName(`never-${reason}`)).toBeUndefined();
    });
  });

  describe('throttles an address after five failures', () => {
    it('answers 429 with Retry-After, then lets it in again and a success resets the count', async () => {
      const address = freshAddress();
      const wrong = `Bearer cairn_${alice.id}_${'B'.repeat(43)}`;
      const seq = await lastSeq();
      for (let i = 0; i < 5; i++) {
        expect((await req({ url: '/api/v1/whoami', authorization: wrong, address })).status).toBe(401);
      }
      const blocked = await req({ url: '/api/v1/whoami', authorization: bearer(alice.token), address });
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('RESOURCE_EXHAUSTED');
      expect(blocked.headers['retry-after']).toBe('60');
      const mlflow = await req({ url: '/api/2.0/mlflow/experiments/search', authorization: wrong, address });
      expect(mlflow.status).toBe(429);
      expect(mlflow.body.error_code).toBe('REQUEST_LIMIT_EXCEEDED');
      // Another address is not affected.
      expect(
        (await req({ url: '/api/v1/whoami', authorization: bearer(alice.token), address: freshAddress() }))
          .status,
      ).toBe(200);
      // Blocked attempts are not recorded: five failures, five events.
      expect((await eventsAfter(seq)).filter((e) => e.action === 'auth.failed')).toHaveLength(5);

      now += 61_000;
      const back = await req({ url: '/api/v1/whoami', authorization: bearer(alice.token), address });
      expect(back.status).toBe(200);
      for (let i = 0; i < 4; i++) {
        expect((await req({ url: '/api/v1/whoami', authorization: wrong, address })).status).toBe(401);
      }
      expect((await req({ url: '/api/v1/whoami', authorization: bearer(alice.token), address })).status).toBe(
        200,
      );
    });
  });

  describe('accepts what clients send', () => {
    it('MLflow clients: MLFLOW_TRACKING_TOKEN as bearer, USERNAME/PASSWORD as basic', async () => {
      const viaBearer = await req({
        method: 'POST',
        url: '/api/2.0/mlflow/experiments/create',
        payload: { name: 'mlflow-bearer' },
        authorization: bearer(alice.token),
      });
      expect(viaBearer.status, JSON.stringify(viaBearer.body)).toBe(200);
      const viaBasic = await req({
        url: '/api/2.0/mlflow/experiments/get-by-name?experiment_name=mlflow-bearer',
        authorization: basic('alice', alice.token),
      });
      expect(viaBasic.status).toBe(200);
      expect(viaBasic.body.experiment.name).toBe('mlflow-bearer');
      const whoami = await req({ url: '/api/v1/whoami', authorization: basic('bob', bob.token) });
      expect(whoami.body).toMatchObject({ user: 'bob', isAdmin: false, authEnabled: true, tokenId: bob.id });
    });

    it('the bootstrap token as an admin, and the scheme in any case', async () => {
      const res = await req({ url: '/api/v1/whoami', authorization: `bearer ${ADMIN_TOKEN}` });
      expect(res.body).toMatchObject({ user: 'admin', isAdmin: true });
    });

    it('health probes without credentials; everything else needs them', async () => {
      for (const url of ['/healthz', '/readyz', '/health']) expect((await req({ url })).status).toBe(200);
      for (const url of [
        '/api/v1/openapi.json',
        '/api/v1/no-such-route',
        '/api/2.0/mlflow/experiments/search',
      ]) {
        expect((await req({ url, address: freshAddress() })).status).toBe(401);
      }
    });
  });

  describe('the caller of a request', () => {
    it('carries the request id and address into audit events, denied ones too', async () => {
      const seq = await lastSeq();
      const ok = await req({
        method: 'POST',
        url: '/api/v1/projects',
        payload: { id: 'audited' },
        authorization: bearer(ADMIN_TOKEN),
        requestId: 'req-create-project',
      });
      expect(ok.status).toBe(201);
      const denied = await req({
        method: 'POST',
        url: '/api/v1/users',
        payload: { name: 'eve' },
        authorization: bearer(alice.token),
        requestId: 'req-denied-user',
      });
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe('PERMISSION_DENIED');
      const events = await eventsAfter(seq);
      expect(events.map((e) => [e.actor, e.action, e.outcome, e.requestId])).toEqual([
        ['admin', 'projects.create', 'ok', 'req-create-project'],
        ['alice', 'users.create', 'denied', 'req-denied-user'],
      ]);
      expect((await asAdmin({ url: '/api/v1/users' })).body.users.map((u: any) => u.name)).not.toContain(
        'eve',
      );
    });

    it('is visible inside a streaming artifact upload', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-auth-blobs-'));
      const real = await openBlobStore(`file:${dir}`, { region: 'us-east-1', forcePathStyle: false });
      const seen: Array<string | undefined> = [];
      const blobs: BlobStore = {
        get location() {
          return real.location;
        },
        put: (source, options) => {
          seen.push(currentCaller()?.actor);
          async function* watched() {
            for await (const chunk of source) {
              seen.push(currentCaller()?.actor);
              yield chunk as Uint8Array;
            }
          }
          return real.put(watched(), options);
        },
        get: (digest) => real.get(digest),
        getRange: (digest, range) => real.getRange(digest, range),
        has: (digest) => real.has(digest),
        stat: (digest) => real.stat(digest),
        delete: (digest) => real.delete(digest),
        list: () => real.list(),
      };
      const streaming = await createTestApp(database(), { clock, env: AUTH_ENV, blobs });
      try {
        const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * 1024, i));
        const res = await streaming.app.inject({
          method: 'PUT',
          url: '/api/2.0/mlflow-artifacts/artifacts/auth-test/big.bin',
          headers: { authorization: bearer(ADMIN_TOKEN), 'content-type': 'application/octet-stream' },
          payload: Readable.from(chunks),
        });
        expect(res.statusCode, res.body).toBe(200);
        expect(seen.length).toBeGreaterThan(1);
        expect(new Set(seen)).toEqual(new Set(['admin']));
      } finally {
        await streaming.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('with auth off', () => {
    it('everyone is the local user and tokens, even bad ones, are ignored', async () => {
      const open = await createTestApp(database(), { clock });
      try {
        for (const authorization of [undefined, 'Bearer nonsense', bearer(alice.token)]) {
          const res = await send(open.app, {
            url: '/api/v1/whoami',
            ...(authorization === undefined ? {} : { authorization }),
          });
          expect(res.status).toBe(200);
          expect(res.body).toEqual({
            user: 'local',
            isAdmin: true,
            authEnabled: false,
            tokenId: null,
            roles: [],
          });
        }
      } finally {
        await open.close();
      }
    });
  });

  describe('secrets', () => {
    it('never appear in responses (but creation), audit events or debug logs', async () => {
      expect(logs.length).toBeGreaterThan(50);
      expect(logs.join('\n')).toMatch(/"level":20/);
      const stored = await stores.identity.listTokens(undefined);
      const hidden = [
        ...secrets,
        ...secrets.map((s) => s.slice(-43)),
        ...stored.flatMap((x) => [x.salt, x.secretHash]),
      ];
      const events = JSON.stringify(await auditEvents());
      const answered = bodies.join('\n');
      const logged = logs.join('\n');
      for (const secret of hidden) {
        expect(events.includes(secret), 'audit').toBe(false);
        expect(answered.includes(secret), 'responses').toBe(false);
        expect(logged.includes(secret), 'logs').toBe(false);
      }
      expect(stored.length).toBeGreaterThan(5);
    });
  });

  it('creates tokens that expire exactly when asked', async () => {
    const { id } = await newToken('alice', { expiresInDays: 2 });
    const listed = await asAdmin({ url: '/api/v1/tokens?user=alice' });
    expect(listed.body.tokens.find((x: any) => x.id === id).expiresAt).toBe(now + 2 * DAY);
  });

  it('stops a token, a user or a role the moment it is revoked, even one used a moment before', async () => {
    await asAdmin({ method: 'POST', url: '/api/v1/users', payload: { name: 'erin' } });
    await asAdmin({
      method: 'POST',
      url: '/api/v1/projects/default/members',
      payload: { user: 'erin', role: 'viewer' },
    });
    const first = await newToken('erin');
    const second = await newToken('erin');
    const asErin = (token: string) =>
      req({ url: '/api/v1/experiments/0', authorization: bearer(token), address: freshAddress() });
    // Each token is used, so the authenticator remembers it, before each change.
    expect((await asErin(first.token)).status).toBe(200);
    await asAdmin({ method: 'DELETE', url: '/api/v1/projects/default/members/erin/viewer' });
    expect((await asErin(first.token)).status).toBe(403);
    await asAdmin({ method: 'DELETE', url: `/api/v1/tokens/${first.id}` });
    expect((await asErin(first.token)).status).toBe(401);
    expect((await asErin(second.token)).status).toBe(403);
    await asAdmin({ method: 'POST', url: '/api/v1/users/erin/disable' });
    expect((await asErin(second.token)).status).toBe(401);
  });
});
