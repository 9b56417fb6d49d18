import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import type { Services } from '../../app.js';
import { createSqlStores, createSqlTransactor, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase, openTestDatabase } from '../../testing/test-databases.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';
import {
  Authenticator,
  bootstrapAdmin,
  deniedAttemptOf,
  ensureFirstAdmin,
  runAsCaller,
  type Caller,
} from './index.js';

const ADMIN_TOKEN = 'bootstrap-admin-token-0123456789abcdef0123456789';
const DAY = 24 * 60 * 60 * 1000;

const codeOf = async (work: () => Promise<unknown>): Promise<string> => {
  try {
    await work();
  } catch (error) {
    if (isCairnError(error)) return `${error.code}${error.field === undefined ? '' : `:${error.field}`}`;
    throw error;
  }
  return 'ok';
};

describeEachDatabase('identity services', ({ database, dialect }) => {
  let t: TestApp;
  let s: Services;
  let stores: MetadataStores;
  let authenticator: Authenticator;
  let now = Date.UTC(2026, 5, 1);
  const clock = { now: () => now };
  const callers = new Map<string, Caller>();

  /** Everything identity and audit hold, to show a refused call wrote nothing. */
  const snapshot = async () => ({
    users: await stores.identity.listUsers(),
    tokens: await stores.identity.listTokens(undefined),
    projects: await stores.identity.listProjects('all'),
    bindings: await Promise.all(
      (await stores.identity.listProjects('all')).map((p) => stores.identity.listBindings(p.projectId)),
    ),
    audit: (await stores.auditLog.head()).lastSeq,
  });

  const as = <T = unknown>(name: string, work: () => Promise<T>): Promise<T> => {
    const caller = callers.get(name);
    if (caller === undefined) throw new Error(`no caller ${name}`);
    return runAsCaller(caller, work);
  };

  /** Signs in the way a request does, so callers carry their current roles. */
  const signIn = async (name: string, token: string): Promise<void> => {
    callers.set(name, await authenticator.authenticate(`Bearer ${token}`));
  };

  const newUser = async (name: string, extra: { isAdmin?: boolean } = {}): Promise<string> => {
    await as('admin', () => s.users.create({ name, ...extra }));
    const { token } = await as('admin', () => s.tokens.create({ user: name, name: 'test' }));
    await signIn(name, token);
    return token;
  };

  const eventsAfter = async (seq: number) =>
    stores.auditLog.query({ afterSeq: seq, order: 'asc', limit: 100 });

  beforeAll(async () => {
    t = await createTestApp(database(), {
      clock,
      env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    s = t.app.cairn.services;
    stores = createSqlStores(database().db, database().helpers);
    authenticator = new Authenticator({ identity: stores.identity, clock });
    await signIn('admin', ADMIN_TOKEN);
    await newUser('alice');
    await newUser('bob');
  });
  afterAll(async () => {
    await t.close();
  });

  describe('bootstrap', () => {
    it('made CAIRN_ADMIN_TOKEN the token of user admin, recorded as the system without the secret', async () => {
      const admin = await stores.identity.getUserByName('admin');
      expect(admin).toMatchObject({ isAdmin: true, createdBy: 'system', disabledAt: null });
      const events = await stores.auditLog.query({
        actor: 'system',
        action: 'users.',
        order: 'asc',
        limit: 10,
      });
      events.push(
        ...(await stores.auditLog.query({ actor: 'system', action: 'tokens.', order: 'asc', limit: 10 })),
      );
      expect(events.map((e) => e.action)).toEqual(['users.create', 'tokens.create']);
      const token = (await stores.identity.listTokens(admin?.userId))[0];
      const text = JSON.stringify(events);
      for (const secret of [ADMIN_TOKEN, token?.salt, token?.secretHash]) expect(text).not.toContain(secret);
      expect(JSON.parse(events[1]?.details ?? '{}')).toEqual({
        tokenId: token?.tokenId,
        name: 'bootstrap',
        user: 'admin',
        expiresAt: null,
      });
    });

    it('ignores the token once users exist', async () => {
      const before = await snapshot();
      const deps = { identity: stores.identity, transactor: createSqlTransactor(database(), clock), clock };
      expect(await ensureFirstAdmin(deps, { adminToken: 'another-token-0123456789abcdef0123456789' })).toBe(
        'exists',
      );
      expect(await ensureFirstAdmin(deps, { adminToken: undefined })).toBe('exists');
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a second bootstrap while an admin exists', async () => {
      const before = await snapshot();
      const deps = { identity: stores.identity, transactor: createSqlTransactor(database(), clock), clock };
      expect(await codeOf(() => bootstrapAdmin(deps, { name: 'root' }))).toBe('FAILED_PRECONDITION');
      expect(await snapshot()).toEqual(before);
    });

    it('on an empty store: refuses to start without a token, creates the admin with one', async () => {
      const empty = await openTestDatabase(dialect);
      try {
        const emptyStores = createSqlStores(empty.db, empty.helpers);
        const deps = { identity: emptyStores.identity, transactor: createSqlTransactor(empty, clock), clock };
        expect(await codeOf(() => ensureFirstAdmin(deps, { adminToken: undefined }))).toBe(
          'FAILED_PRECONDITION',
        );
        expect(await codeOf(() => ensureFirstAdmin(deps, { adminToken: `${'x'.repeat(40)} y` }))).toBe(
          'INVALID_ARGUMENT',
        );
        expect(await emptyStores.identity.countUsers()).toBe(0);
        const created = await bootstrapAdmin(deps, { name: 'ops' });
        expect(created.token).toMatch(/^cairn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
        const caller = await new Authenticator({ identity: emptyStores.identity, clock }).authenticate(
          `Bearer ${created.token}`,
        );
        expect(caller).toMatchObject({ actor: 'ops', isAdmin: true, tokenId: created.tokenId });
        expect(await codeOf(() => bootstrapAdmin(deps, { name: 'ops2' }))).toBe('FAILED_PRECONDITION');
      } finally {
        await empty.drop();
      }
    });
  });

  describe('users', () => {
    it('are created, listed, disabled and enabled by admins only, each change audited', async () => {
      const seq = (await stores.auditLog.head()).lastSeq;
      const carol = await as('admin', () =>
        s.users.create({ name: 'carol', displayName: 'Carol C', email: 'carol@example.com' }),
      );
      expect(carol).toMatchObject({ name: 'carol', isAdmin: false, disabledAt: null, createdBy: 'admin' });
      expect((await as('admin', () => s.users.list())).map((u) => u.name)).toContain('carol');
      now += 1000;
      expect((await as('admin', () => s.users.disable('carol'))).disabledAt).toBe(now);
      expect((await as('admin', () => s.users.disable('carol'))).disabledAt).toBe(now);
      expect((await as('admin', () => s.users.enable('carol'))).disabledAt).toBeNull();
      const events = await eventsAfter(seq);
      expect(events.map((e) => [e.actor, e.action, e.target.id])).toEqual([
        ['admin', 'users.create', 'carol'],
        ['admin', 'users.disable', 'carol'],
        ['admin', 'users.enable', 'carol'],
      ]);
    });

    it.each([
      ['create', () => s.users.create({ name: 'mallory' })],
      ['list', () => s.users.list()],
      ['disable', () => s.users.disable('bob')],
      ['enable', () => s.users.enable('bob')],
    ] as const)('refuse %s to a non-admin, carrying the attempt for the audit trail', async (_verb, work) => {
      const before = await snapshot();
      let thrown: unknown;
      await as<unknown>('alice', work).catch((error: unknown) => {
        thrown = error;
      });
      expect(isCairnError(thrown) && thrown.code).toBe('PERMISSION_DENIED');
      expect(deniedAttemptOf(thrown)).toMatchObject({ outcome: 'denied', target: { kind: 'user' } });
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      [{ name: '' }, 'INVALID_ARGUMENT:name'],
      [{ name: 'Alice' }, 'INVALID_ARGUMENT:name'],
      [{ name: '-dash' }, 'INVALID_ARGUMENT:name'],
      [{ name: 'a'.repeat(65) }, 'INVALID_ARGUMENT:name'],
      [{ name: "x' or 1=1 --" }, 'INVALID_ARGUMENT:name'],
      [{ name: 'system' }, 'INVALID_ARGUMENT:name'],
      [{ name: 'local' }, 'INVALID_ARGUMENT:name'],
      [{ name: 'ok', email: 'not-an-email' }, 'INVALID_ARGUMENT:email'],
      [{ name: 'ok', displayName: 'bell\u0007' }, 'INVALID_ARGUMENT:displayName'],
      [{ name: 'alice' }, 'ALREADY_EXISTS:name'],
    ])('refuse %j with %s and write nothing', async (input, expected) => {
      const before = await snapshot();
      expect(await codeOf(() => as('admin', () => s.users.create(input)))).toBe(expected);
      expect(await snapshot()).toEqual(before);
    });

    it('never disable the last enabled admin', async () => {
      const before = await snapshot();
      expect(await codeOf(() => as('admin', () => s.users.disable('admin')))).toBe('FAILED_PRECONDITION');
      expect(await codeOf(() => as('admin', () => s.users.disable('nobody')))).toBe('NOT_FOUND:name');
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('tokens', () => {
    it('are created with an expiry, listed without secrets and revoked by their owner', async () => {
      const created = await as('alice', () => s.tokens.create({ name: 'laptop', expiresInDays: 30 }));
      expect(created.token).toMatch(new RegExp(`^cairn_${created.info.tokenId}_`));
      expect(created.info).toMatchObject({ name: 'laptop', user: 'alice', expiresAt: now + 30 * DAY });
      const listed = await as('alice', () => s.tokens.list());
      expect(listed.map((x) => x.user)).toEqual(['alice', 'alice']);
      expect(JSON.stringify(listed)).not.toMatch(/salt|hash|secret/i);
      expect(JSON.stringify(listed)).not.toContain(created.token.slice(-43));
      const revoked = await as('alice', () => s.tokens.revoke(created.info.tokenId));
      expect(revoked.revokedAt).toBe(now);
      expect(await codeOf(() => authenticator.authenticate(`Bearer ${created.token}`))).toBe(
        'UNAUTHENTICATED',
      );
    });

    it('take an ISO expiry date, and refuse bad ones with nothing written', async () => {
      const at = new Date(now + 2 * DAY).toISOString();
      const created = await as('alice', () => s.tokens.create({ expiresAt: at }));
      expect(created.info).toMatchObject({ name: 'default', expiresAt: now + 2 * DAY });
      const before = await snapshot();
      for (const [input, expected] of [
        [{ expiresInDays: 0 }, 'INVALID_ARGUMENT:expiresInDays'],
        [{ expiresInDays: -1 }, 'INVALID_ARGUMENT:expiresInDays'],
        [{ expiresInDays: 3651 }, 'INVALID_ARGUMENT:expiresInDays'],
        [{ expiresInDays: Number.NaN }, 'INVALID_ARGUMENT:expiresInDays'],
        [{ expiresAt: 'tomorrow' }, 'INVALID_ARGUMENT:expiresAt'],
        [{ expiresAt: new Date(now - DAY).toISOString() }, 'INVALID_ARGUMENT:expiresAt'],
        [{ expiresAt: at, expiresInDays: 1 }, 'INVALID_ARGUMENT:expiresAt'],
        [{ name: '' }, 'INVALID_ARGUMENT:name'],
        [{ name: 'x'.repeat(101) }, 'INVALID_ARGUMENT:name'],
        [{ user: 'Bad Name' }, 'INVALID_ARGUMENT:user'],
      ] as const) {
        expect(await codeOf(() => as('alice', () => s.tokens.create(input))), JSON.stringify(input)).toBe(
          expected,
        );
      }
      expect(await snapshot()).toEqual(before);
    });

    it("are another user's business only for admins", async () => {
      const bobs = await as('admin', () => s.tokens.create({ user: 'bob', name: 'by-admin' }));
      expect(bobs.info.user).toBe('bob');
      expect((await as('admin', () => s.tokens.list({ user: 'bob' }))).map((x) => x.name)).toContain(
        'by-admin',
      );
      const before = await snapshot();
      expect(await codeOf(() => as('alice', () => s.tokens.create({ user: 'bob' })))).toBe(
        'PERMISSION_DENIED',
      );
      expect(await codeOf(() => as('alice', () => s.tokens.list({ user: 'bob' })))).toBe('PERMISSION_DENIED');
      expect(await codeOf(() => as('alice', () => s.tokens.revoke(bobs.info.tokenId)))).toBe(
        'PERMISSION_DENIED',
      );
      expect(await codeOf(() => as('alice', () => s.tokens.revoke('0123456789abcdef')))).toBe('NOT_FOUND:id');
      expect(await codeOf(() => as('admin', () => s.tokens.create({ user: 'nobody' })))).toBe(
        'NOT_FOUND:user',
      );
      expect(await snapshot()).toEqual(before);
      await as('admin', () => s.tokens.revoke(bobs.info.tokenId));
    });
  });

  describe('projects', () => {
    it('are created by admins; members are managed by project admins; lists show only readable ones', async () => {
      const seq = (await stores.auditLog.head()).lastSeq;
      await as('admin', () => s.projects.create({ id: 'fraud', description: 'fraud models' }));
      await as('admin', () => s.projects.create({ id: 'churn' }));
      await as('admin', () => s.projects.grant({ projectId: 'fraud', user: 'alice', role: 'admin' }));
      await signIn('alice', (await as('admin', () => s.tokens.create({ user: 'alice' }))).token);
      await as('alice', () => s.projects.grant({ projectId: 'fraud', user: 'bob', role: 'viewer' }));
      await as('alice', () => s.projects.grant({ projectId: 'fraud', user: 'bob', role: 'editor' }));
      await as('alice', () => s.projects.revoke({ projectId: 'fraud', user: 'bob', role: 'editor' }));
      const members = await as('alice', () => s.projects.members('fraud'));
      expect(members.map((m) => [m.userName, m.role])).toEqual([
        ['alice', 'admin'],
        ['bob', 'viewer'],
      ]);
      expect((await as('alice', () => s.projects.list())).map((p) => p.projectId)).toEqual(['fraud']);
      expect((await as('admin', () => s.projects.list())).map((p) => p.projectId)).toEqual([
        'churn',
        'default',
        'fraud',
      ]);
      const events = await eventsAfter(seq);
      expect(events.map((e) => [e.actor, e.action, e.projectId])).toEqual([
        ['admin', 'projects.create', 'fraud'],
        ['admin', 'projects.create', 'churn'],
        ['admin', 'projects.grant', 'fraud'],
        ['admin', 'tokens.create', null],
        ['alice', 'projects.grant', 'fraud'],
        ['alice', 'projects.grant', 'fraud'],
        ['alice', 'projects.revoke', 'fraud'],
      ]);
    });

    it.each([
      ['a non-admin creating a project', 'bob', () => s.projects.create({ id: 'mine' }), 'PERMISSION_DENIED'],
      [
        'a viewer granting',
        'bob',
        () => s.projects.grant({ projectId: 'fraud', user: 'bob', role: 'admin' }),
        'PERMISSION_DENIED',
      ],
      ['an outsider reading', 'bob', () => s.projects.get('churn'), 'PERMISSION_DENIED'],
      ['an outsider listing members', 'bob', () => s.projects.members('churn'), 'PERMISSION_DENIED'],
      [
        'a project admin elsewhere',
        'alice',
        () => s.projects.grant({ projectId: 'churn', user: 'alice', role: 'admin' }),
        'PERMISSION_DENIED',
      ],
      ['a bad project id', 'admin', () => s.projects.create({ id: 'Fraud Models' }), 'INVALID_ARGUMENT:id'],
      ['a long project id', 'admin', () => s.projects.create({ id: 'p'.repeat(64) }), 'INVALID_ARGUMENT:id'],
      [
        'an injection as id',
        'admin',
        () => s.projects.create({ id: "x'; drop table users; --" }),
        'INVALID_ARGUMENT:id',
      ],
      ['an existing project', 'admin', () => s.projects.create({ id: 'fraud' }), 'ALREADY_EXISTS:id'],
      ['a missing project', 'admin', () => s.projects.get('nope'), 'NOT_FOUND:id'],
      [
        'an unknown role',
        'admin',
        () => s.projects.grant({ projectId: 'fraud', user: 'bob', role: 'owner' }),
        'INVALID_ARGUMENT:role',
      ],
      [
        'an unknown user',
        'admin',
        () => s.projects.grant({ projectId: 'fraud', user: 'nobody', role: 'viewer' }),
        'NOT_FOUND:user',
      ],
      [
        'a role held already',
        'admin',
        () => s.projects.grant({ projectId: 'fraud', user: 'bob', role: 'viewer' }),
        'ALREADY_EXISTS:role',
      ],
      [
        'a role not held',
        'admin',
        () => s.projects.revoke({ projectId: 'fraud', user: 'bob', role: 'approver' }),
        'NOT_FOUND:role',
      ],
    ] as const)('refuse %s and write nothing', async (_what, who, work, expected) => {
      const before = await snapshot();
      expect(await codeOf(() => as<unknown>(who, work))).toBe(expected);
      expect(await snapshot()).toEqual(before);
    });
  });
});
