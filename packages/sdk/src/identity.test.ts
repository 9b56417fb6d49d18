import { afterAll, beforeAll, expect, it } from 'vitest';
// Test-only: the server's per-dialect database helper, so this suite runs on SQLite and PostgreSQL.
import { createTestApp, describeEachDatabase, type TestApp } from '../../server/src/testing/index.js';
import { Cairn, isCairnError, type CairnError } from './index.js';

const ADMIN_TOKEN = 'sdk-admin-token-0123456789abcdef0123456789abcdef';

async function rejection(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describeEachDatabase('@cairn/sdk users, tokens, projects against a server with auth on', ({ database }) => {
  let t: TestApp;
  let url: string;
  let admin: Cairn;
  const savedToken = process.env['CAIRN_TOKEN'];

  beforeAll(async () => {
    t = await createTestApp(database(), { env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN } });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    admin = new Cairn({ url, token: ADMIN_TOKEN, retries: 0 });
  });
  afterAll(async () => {
    if (savedToken === undefined) delete process.env['CAIRN_TOKEN'];
    else process.env['CAIRN_TOKEN'] = savedToken;
    await t.close();
  });

  it('is refused without a token, with a message that says what to send', async () => {
    delete process.env['CAIRN_TOKEN'];
    const error = await rejection(new Cairn({ url, retries: 0 }).whoami());
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toContain('CAIRN_TOKEN');
  });

  it('manages users, tokens and members; reads CAIRN_TOKEN when no token is given', async () => {
    expect(await admin.whoami()).toMatchObject({ user: 'admin', isAdmin: true, authEnabled: true });
    const user = await admin.users.create({ name: 'sam', displayName: 'Sam' });
    expect(user).toMatchObject({ name: 'sam', disabled: false });
    expect((await admin.users.list()).map((u) => u.name)).toEqual(['admin', 'sam']);

    const expiresAt = new Date(Date.now() + 3 * 24 * 60 * 60 * 1000);
    const created = await admin.tokens.create({ user: 'sam', name: 'notebook', expiresAt });
    expect(created).toMatchObject({ user: 'sam', name: 'notebook', expiresAt: expiresAt.getTime() });
    process.env['CAIRN_TOKEN'] = created.token;
    const sam = new Cairn({ url, retries: 0 });
    expect(await sam.whoami()).toMatchObject({ user: 'sam', isAdmin: false, tokenId: created.id });
    expect((await sam.tokens.list()).map((x) => x.id)).toEqual([created.id]);

    const project = await admin.projects.create({ id: 'sdk-proj', description: 'via the SDK' });
    expect(project.id).toBe('sdk-proj');
    expect(await sam.projects.list()).toEqual([]);
    expect((await rejection(sam.projects.get('sdk-proj'))).code).toBe('PERMISSION_DENIED');
    await admin.projects.grant('sdk-proj', 'sam', 'viewer');
    expect((await sam.projects.list()).map((p) => p.id)).toEqual(['sdk-proj']);
    expect(await sam.projects.members('sdk-proj')).toMatchObject([{ user: 'sam', role: 'viewer' }]);
    await admin.projects.revoke('sdk-proj', 'sam', 'viewer');
    expect(await sam.projects.members('sdk-proj').catch((e: CairnError) => e.code)).toBe('PERMISSION_DENIED');

    expect((await admin.users.disable('sam')).disabled).toBe(true);
    expect((await rejection(sam.whoami())).code).toBe('UNAUTHENTICATED');
    await admin.users.enable('sam');
    expect((await sam.tokens.revoke(created.id)).revokedAt).not.toBeNull();
    expect((await rejection(sam.whoami())).message).toContain('revoked');
  });
});
