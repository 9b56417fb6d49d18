import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlStores, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';
import {
  AuditEventList,
  AuditPublicKey,
  AuditVerifyResult,
  type AuditCheckpoint,
  type AuditPruneResult,
} from '@cairn/contract';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  runAsCaller,
  startCheckpoints,
  startRetention,
  SYSTEM_CALLER,
  verifyAuditExport,
  verifyCheckpoint,
} from './index.js';

const ADMIN_TOKEN = 'audit-admin-token-0123456789abcdef0123456789abcdef';
const DAY = 24 * 60 * 60 * 1000;
const START = Date.UTC(2026, 0, 10);

type Method = 'GET' | 'POST';

describeEachDatabase('audit trail over HTTP', ({ database }) => {
  let t: TestApp;
  let stores: MetadataStores;
  let now = START;
  const clock = { now: () => now };
  const tokens: Record<string, string> = { admin: ADMIN_TOKEN };

  async function send(who: string | undefined, method: Method, url: string, payload?: unknown) {
    const token = who === undefined ? undefined : tokens[who];
    const response = await t.app.inject({
      method,
      url,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    let body: any = response.body;
    try {
      body = JSON.parse(response.body);
    } catch {
      // JSON Lines
    }
    return { status: response.statusCode, body, text: response.body, headers: response.headers };
  }
  const ok = async (who: string, method: Method, url: string, payload?: unknown) => {
    const res = await send(who, method, url, payload);
    expect(res.status, res.text).toBeLessThan(300);
    return res.body;
  };
  const head = () => stores.auditLog.head();
  const allEvents = async () =>
    (await ok('admin', 'GET', '/api/v1/audit/events?order=asc&limit=1000')).events as any[];

  beforeAll(async () => {
    t = await createTestApp(database(), {
      clock,
      env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    stores = createSqlStores(database().db, database().helpers);
    // Real activity, a minute apart: projects, users, tokens, memberships, a refused call.
    for (const id of ['proj-a', 'proj-b']) {
      now += 60_000;
      await ok('admin', 'POST', '/api/v1/projects', { id });
    }
    for (const [name, project, role] of [
      ['alice', 'proj-a', 'admin'],
      ['bob', 'proj-a', 'viewer'],
      ['carol', 'proj-b', 'admin'],
    ] as const) {
      now += 60_000;
      await ok('admin', 'POST', '/api/v1/users', { name });
      tokens[name] = (await ok('admin', 'POST', '/api/v1/tokens', { user: name })).token;
      await ok('admin', 'POST', `/api/v1/projects/${project}/members`, { user: name, role });
    }
    now += 60_000;
    await ok('admin', 'POST', '/api/2.0/mlflow/experiments/create', { name: 'churn' });
    now += 60_000;
    // A refusal: a viewer may not list users.
    expect((await send('bob', 'GET', '/api/v1/users')).status).toBe(403);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('query', () => {
    it('shows a Cairn admin every event, newest first, paged without gaps or repeats', async () => {
      const all = await allEvents();
      const { lastSeq } = await head();
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
      for (const order of ['desc', 'asc'] as const) {
        const seen: number[] = [];
        let token: string | undefined;
        do {
          const page = await ok(
            'admin',
            'GET',
            `/api/v1/audit/events?limit=4&order=${order}${token === undefined ? '' : `&pageToken=${token}`}`,
          );
          expect(page.events.length).toBeLessThanOrEqual(4);
          seen.push(...page.events.map((e: any) => e.seq));
          token = page.nextPageToken;
        } while (token !== undefined);
        const expected = all.map((e) => e.seq);
        expect(seen).toEqual(order === 'asc' ? expected : [...expected].reverse());
      }
      expect(all.find((e) => e.action === 'projects.create')).toMatchObject({
        actor: 'admin',
        projectId: 'proj-a',
        target: { kind: 'project', id: 'proj-a' },
        details: expect.any(Object),
      });
    });

    const filters: Array<[string, (e: any) => boolean]> = [
      ['target=project:proj-a', (e) => e.target.kind === 'project' && e.target.id === 'proj-a'],
      ['target=user', (e) => e.target.kind === 'user'],
      ['actor=admin', (e) => e.actor === 'admin'],
      ['action=projects.grant', (e) => e.action === 'projects.grant'],
      ['action=projects.', (e) => e.action.startsWith('projects.')],
      ['outcome=ok', (e) => e.outcome === 'ok'],
      ['outcome=denied', (e) => e.outcome === 'denied'],
      ['projectId=proj-b', (e) => e.projectId === 'proj-b'],
      [`since=${START + 3 * 60_000}`, (e) => e.time >= START + 3 * 60_000],
      [`until=${new Date(START + 3 * 60_000).toISOString()}`, (e) => e.time < START + 3 * 60_000],
      [
        `since=${new Date(START + 2 * 60_000).toISOString()}&until=${START + 4 * 60_000}&action=users.`,
        (e) => e.time >= START + 2 * 60_000 && e.time < START + 4 * 60_000 && e.action.startsWith('users.'),
      ],
    ];
    it.each(filters)('filters by %s', async (query, keep) => {
      const all = await allEvents();
      const expected = all.filter(keep).map((e) => e.seq);
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(all.length);
      const page = await ok('admin', 'GET', `/api/v1/audit/events?order=asc&limit=1000&${query}`);
      expect(page.events.map((e: any) => e.seq)).toEqual(expected);
    });

    it('shows a project admin the events of their projects only, and refuses other projects', async () => {
      for (const [who, project] of [
        ['alice', 'proj-a'],
        ['carol', 'proj-b'],
      ] as const) {
        const all = await allEvents();
        const page = await ok(who, 'GET', '/api/v1/audit/events?order=asc&limit=1000');
        expect(page.events.map((e: any) => e.seq)).toEqual(
          all.filter((e) => e.projectId === project).map((e) => e.seq),
        );
        const other = project === 'proj-a' ? 'proj-b' : 'proj-a';
        const refused = await send(who, 'GET', `/api/v1/audit/events?projectId=${other}`);
        expect(refused.status).toBe(403);
        expect(refused.body.error.code).toBe('PERMISSION_DENIED');
      }
    });

    it('refuses a viewer and everyone else outright, and records the refusal', async () => {
      const before = (await head()).lastSeq;
      for (const url of ['/api/v1/audit/events', '/api/v1/audit/verify', '/api/v1/audit/export']) {
        const res = await send('bob', 'GET', url);
        expect(res.status, url).toBe(403);
        expect(res.body.error.code).toBe('PERMISSION_DENIED');
        expect(res.body.error.message).toMatch(/^bob may not .*only a Cairn admin/);
      }
      expect((await send('alice', 'GET', '/api/v1/audit/verify')).status).toBe(403);
      expect((await send(undefined, 'GET', '/api/v1/audit/events')).status).toBe(401);
      const denied = await ok('admin', 'GET', `/api/v1/audit/events?outcome=denied&actor=bob&order=asc`);
      const mine = denied.events.filter((e: any) => e.seq > before);
      expect(mine.map((e: any) => e.action)).toEqual(['audit.query', 'audit.verify', 'audit.export']);
      expect(mine.map((e: any) => [e.target.kind, e.details.needed])).toEqual([
        ['audit', 'server admin or project admin'],
        ['audit', 'server admin'],
        ['audit', 'server admin'],
      ]);
    });

    const bad: Array<[string, string]> = [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['outcome=maybe', 'outcome'],
      ['order=sideways', 'order'],
      ['since=yesterday', 'since'],
      ['until=2026-13', 'until'],
      ['pageToken=not-a-token', 'pageToken'],
      [`pageToken=${Buffer.from('{"o":"asc","s":3}').toString('base64url')}`, 'pageToken'],
      ['target=', 'target'],
      [`actor=${'x'.repeat(300)}`, 'actor'],
      ['colour=red', 'colour'],
    ];
    it.each(bad)('refuses %s with 400 and writes nothing', async (query, field) => {
      const before = await head();
      const res = await send('admin', 'GET', `/api/v1/audit/events?${query}`);
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
      expect(res.body.error.message).toContain(field);
      expect(await head()).toEqual(before);
    });

    it('treats filter text as data, never as SQL', async () => {
      const before = await head();
      for (const query of [
        `actor=${encodeURIComponent("admin' OR '1'='1")}`,
        `target=${encodeURIComponent("project:proj-a' OR 1=1 --")}`,
        `action=${encodeURIComponent("projects.'); DELETE FROM audit_events; --.")}`,
        `action=${encodeURIComponent('%.')}`,
        `projectId=${encodeURIComponent("x' OR project_id IS NULL --")}`,
      ]) {
        expect((await ok('admin', 'GET', `/api/v1/audit/events?${query}`)).events).toEqual([]);
      }
      expect(await head()).toEqual(before);
      expect(await ok('admin', 'GET', '/api/v1/audit/verify')).toMatchObject({ ok: true });
    });
  });

  describe('the API surface', () => {
    it('describes every audit route in /api/v1/openapi.json and answers in the contract shapes', async () => {
      const spec = await ok('admin', 'GET', '/api/v1/openapi.json');
      const operations = Object.values(spec.paths as Record<string, Record<string, { operationId?: string }>>)
        .flatMap((methods) => Object.values(methods).map((op) => op.operationId))
        .filter((id): id is string => id !== undefined);
      expect(operations).toEqual(
        expect.arrayContaining([
          'listAuditEvents',
          'verifyAuditChain',
          'createAuditCheckpoint',
          'exportAudit',
          'getAuditPublicKey',
          'pruneAudit',
        ]),
      );
      expect(spec.paths['/api/v1/audit/export'].get.responses['200'].content).toHaveProperty([
        'application/x-ndjson',
      ]);
      const shapes: Array<[TSchema, unknown]> = [
        [AuditEventList, await ok('admin', 'GET', '/api/v1/audit/events?limit=5')],
        [AuditVerifyResult, await ok('admin', 'GET', '/api/v1/audit/verify')],
        [AuditPublicKey, await ok('admin', 'GET', '/api/v1/audit/public-key')],
      ];
      for (const [schema, body] of shapes) expect([...Value.Errors(schema, body)]).toEqual([]);
    });
  });

  describe('verify, checkpoints and the public key', () => {
    it('verifies the whole chain and counts the signed checkpoints it matched', async () => {
      const key = await ok('bob', 'GET', '/api/v1/audit/public-key');
      expect(key).toMatchObject({ algorithm: 'Ed25519', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
      const before = await ok('admin', 'GET', '/api/v1/audit/verify');
      expect(before).toMatchObject({ ok: true, firstSeq: 1, checkpoints: 0 });
      expect(before.events).toBe(before.lastSeq);

      const refused = await send('alice', 'POST', '/api/v1/audit/checkpoints');
      expect(refused.status).toBe(403);
      const checkpoint = (await send('admin', 'POST', '/api/v1/audit/checkpoints')).body;
      expect(checkpoint).toMatchObject({
        seq: (await head()).lastSeq - 1,
        keyId: key.keyId,
        publicKey: key.publicKey,
      });
      expect(verifyCheckpoint(checkpoint, key.publicKey)).toBe(true);
      expect(verifyCheckpoint({ ...checkpoint, seq: checkpoint.seq + 1 }, key.publicKey)).toBe(false);
      const stored = await stores.auditLog.listCheckpoints();
      expect(stored).toEqual([
        {
          seq: checkpoint.seq,
          hash: checkpoint.hash,
          time: now,
          keyId: key.keyId,
          signature: checkpoint.signature,
        },
      ]);
      const [recorded] = (await ok('admin', 'GET', '/api/v1/audit/events?action=audit.checkpoint')).events;
      expect(recorded).toMatchObject({
        actor: 'admin',
        details: { seq: checkpoint.seq, hash: checkpoint.hash },
      });

      expect(await ok('admin', 'GET', '/api/v1/audit/verify')).toMatchObject({ ok: true, checkpoints: 1 });
    });
  });

  describe('export', () => {
    const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
    const offline = (content: string[], publicKeyPem?: string) =>
      verifyAuditExport({
        open: async function* () {
          yield* content;
        },
        publicKeyPem,
      });

    it('streams JSON Lines ending with a signed checkpoint that verifies offline', async () => {
      const key = await ok('admin', 'GET', '/api/v1/audit/public-key');
      const res = await send('admin', 'GET', '/api/v1/audit/export');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const exported = lines(res.text);
      const { lastSeq } = await head();
      const trailer = JSON.parse(exported[exported.length - 1]!);
      expect(trailer.checkpoint).toMatchObject({ seq: lastSeq, keyId: key.keyId, publicKey: key.publicKey });
      const events = exported.slice(0, -1).map((l) => JSON.parse(l));
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
      expect(events[events.length - 1]).toMatchObject({ action: 'audit.export', actor: 'admin' });

      expect(await offline(exported, key.publicKey)).toMatchObject({
        ok: true,
        events: lastSeq,
        checkpoints: 1,
        keyPinned: true,
      });
      expect(await offline(exported)).toMatchObject({ ok: true, keyId: key.keyId, keyPinned: false });

      // Each tampering of the file is named, at the right event.
      const at = 5;
      const edit = (i: number, change: (e: any) => unknown) =>
        exported.map((l, n) => (n === i ? JSON.stringify(change(JSON.parse(l))) : l));
      const cases: Array<[string, string[], { seq: number; kind: string }]> = [
        [
          'an actor changed',
          edit(at - 1, (e) => ({ ...e, actor: 'mallory' })),
          { seq: at, kind: 'modified' },
        ],
        [
          'details changed',
          edit(at - 1, (e) => ({ ...e, details: { ...e.details, x: 1 } })),
          { seq: at, kind: 'modified' },
        ],
        ['a line deleted', exported.filter((_, n) => n !== at - 1), { seq: at, kind: 'deleted' }],
        [
          'two lines swapped',
          exported.map((l, n) => (n === at - 1 ? exported[at]! : n === at ? exported[at - 1]! : l)),
          { seq: at, kind: 'reordered' },
        ],
        ['the checkpoint line cut off', exported.slice(0, -1), { seq: lastSeq + 1, kind: 'deleted' }],
        [
          'the last events cut off',
          [...exported.slice(0, -3), exported[exported.length - 1]!],
          { seq: lastSeq - 1, kind: 'deleted' },
        ],
        [
          'a line that is not an event',
          [...exported.slice(0, at), '{"hello":1}', ...exported.slice(at)],
          { seq: at + 1, kind: 'modified' },
        ],
        [
          'the checkpoint moved to another seq',
          edit(exported.length - 1, (c) => ({ checkpoint: { ...c.checkpoint, seq: lastSeq - 1 } })),
          { seq: lastSeq - 1, kind: 'signature' },
        ],
      ];
      for (const [what, content, problem] of cases) {
        const result = await offline(content, key.publicKey);
        expect(result.ok, what).toBe(false);
        expect(result.problem, what).toMatchObject(problem);
      }

      // Another server's key is refused even though the file is intact.
      const other = generateKeyPairSync('ed25519')
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString();
      const wrongKey = await offline(exported, other);
      expect(wrongKey.problem).toMatchObject({ seq: lastSeq, kind: 'signature' });
      expect(wrongKey.problem!.message).toMatch(/names key .* but the public key given is/);
      // A forged signature with the file's own key is refused too.
      const forged = edit(exported.length - 1, (c) => ({
        checkpoint: { ...c.checkpoint, signature: Buffer.alloc(64, 1).toString('base64') },
      }));
      expect((await offline(forged)).problem).toMatchObject({ seq: lastSeq, kind: 'signature' });
    });

    it('exports from a seq on, and refuses a seq past the end', async () => {
      const res = await send('admin', 'GET', '/api/v1/audit/export?fromSeq=5');
      const exported = lines(res.text);
      expect(JSON.parse(exported[0]!).seq).toBe(5);
      expect(await offline(exported)).toMatchObject({ ok: true, firstSeq: 5 });
      for (const query of ['fromSeq=0', 'fromSeq=abc', `fromSeq=${(await head()).lastSeq + 10}`]) {
        const refused = await send('admin', 'GET', `/api/v1/audit/export?${query}`);
        expect(refused.status, query).toBe(400);
        expect(refused.body.error.code).toBe('INVALID_ARGUMENT');
      }
    });
  });

  describe('retention', () => {
    it('refuses to prune younger than the minimum, or with a bad age, and deletes nothing', async () => {
      const before = await head();
      const count = (await allEvents()).length;
      for (const [payload, status, code] of [
        [{ olderThanDays: 179 }, 412, 'FAILED_PRECONDITION'],
        [{ olderThanDays: 0 }, 412, 'FAILED_PRECONDITION'],
        [{ olderThanDays: -1 }, 400, 'INVALID_ARGUMENT'],
        [{ olderThanDays: '200' }, 400, 'INVALID_ARGUMENT'],
        [{}, 400, 'INVALID_ARGUMENT'],
      ] as const) {
        const res = await send('admin', 'POST', '/api/v1/audit/prune', payload);
        expect(res.status, JSON.stringify(payload)).toBe(status);
        expect(res.body.error.code).toBe(code);
      }
      expect(await head()).toEqual(before);
      expect((await send('alice', 'POST', '/api/v1/audit/prune', { olderThanDays: 400 })).status).toBe(403);
      // Only alice's refusal was added; nothing was deleted.
      const after = await allEvents();
      expect(after.length).toBe(count + 1);
      expect(after[after.length - 1]).toMatchObject({
        actor: 'alice',
        action: 'audit.prune',
        outcome: 'denied',
      });
      expect((await head()).firstSeq).toBe(before.firstSeq);
    });

    it('deletes what is older, re-anchors the chain, records it, and the rest still verifies', async () => {
      const oldEvents = (await allEvents()).length;
      now += 200 * DAY;
      await ok('admin', 'POST', '/api/v1/projects', { id: 'proj-later' });
      const pruned = await ok('admin', 'POST', '/api/v1/audit/prune', { olderThanDays: 190 });
      expect(pruned).toMatchObject({ deleted: oldEvents, firstSeq: oldEvents + 1, before: now - 190 * DAY });
      const kept = await allEvents();
      expect(kept[0]).toMatchObject({ seq: oldEvents + 1, action: 'projects.create' });
      expect(kept[kept.length - 1]).toMatchObject({
        action: 'audit.pruned',
        details: { deleted: oldEvents, olderThanDays: 190, firstSeq: oldEvents + 1, scheduled: false },
      });
      expect(await ok('admin', 'GET', '/api/v1/audit/verify')).toMatchObject({
        ok: true,
        firstSeq: oldEvents + 1,
      });
      const exported = (await send('admin', 'GET', '/api/v1/audit/export')).text.split('\n').filter(Boolean);
      expect(
        await verifyAuditExport({
          open: async function* () {
            yield* exported;
          },
        }),
      ).toMatchObject({ ok: true, firstSeq: oldEvents + 1 });
    });

    it('prunes on a timer as the system, and records nothing when nothing is old enough', async () => {
      const { audit } = t.app.cairn.services;
      const before = await head();
      const idle = await runAsCaller(SYSTEM_CALLER, () =>
        audit.prune({ olderThanDays: 190, scheduled: true }),
      );
      expect(idle.deleted).toBe(0);
      expect(await head()).toEqual(before);

      now += 200 * DAY;
      const pruned = await new Promise<AuditPruneResult>((resolve, reject) => {
        const timer = startRetention({
          audit,
          retentionDays: 190,
          firstRunMs: 0,
          onPruned: (result) => void timer.stop().then(() => resolve(result)),
          onError: reject,
        });
      });
      expect(pruned.deleted).toBe(before.lastSeq - before.firstSeq + 1);
      const [event] = (await ok('admin', 'GET', '/api/v1/audit/events?action=audit.pruned&limit=1')).events;
      expect(event).toMatchObject({ actor: 'system', details: { scheduled: true, deleted: pruned.deleted } });
      expect(await ok('admin', 'GET', '/api/v1/audit/verify')).toMatchObject({ ok: true, events: 1 });
    });

    it('signs the head on a timer as the system when it moved, and not again until it moves', async () => {
      const { audit } = t.app.cairn.services;
      await ok('admin', 'POST', '/api/v1/experiments', { name: `moved-${Date.now()}` });
      const signed = await new Promise<AuditCheckpoint | undefined>((resolve, reject) => {
        const timer = startCheckpoints({
          audit,
          firstRunMs: 0,
          onSigned: (checkpoint) => void timer.stop().then(() => resolve(checkpoint)),
          onError: reject,
        });
      });
      const key = (await ok('admin', 'GET', '/api/v1/audit/public-key')).publicKey as string;
      expect(signed).toBeDefined();
      expect(verifyCheckpoint(signed!, key)).toBe(true);
      // Its own audit.checkpoint event is all that happened since: nothing new to sign.
      expect(await runAsCaller(SYSTEM_CALLER, () => audit.scheduledCheckpoint())).toBeUndefined();
      const [event] = (await ok('admin', 'GET', '/api/v1/audit/events?action=audit.checkpoint&limit=1'))
        .events;
      expect(event).toMatchObject({ actor: 'system', target: { id: String(signed!.seq) } });
      expect(await ok('admin', 'GET', '/api/v1/audit/verify')).toMatchObject({ ok: true });
    });
  });
});
