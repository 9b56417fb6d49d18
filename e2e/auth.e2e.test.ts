import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, isPostgresReachable } from '../packages/server/src/testing/test-databases.js';
import { envWithout, runCairn, startCairnServer, type CairnResult, type CairnServer } from './helpers.js';

// Authentication as an operator and a user meet it: the built CLI starts
// `cairn server --auth`, bootstraps the first admin, creates users and tokens
// and signs in with them. Needs `npm run build`.
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef0123456789abcdef';
const pgReachable = await isPostgresReachable();

/** The CLI with a clean environment: only what a test passes reaches it. */
const cairn = (args: string[], env: Record<string, string> = {}): Promise<CairnResult> =>
  runCairn(args, { env: envWithout(['CAIRN_TOKEN', 'CAIRN_ADMIN_TOKEN', 'CAIRN_URL'], env) });

/** `cairn server --auth …` with no CAIRN_ADMIN_TOKEN but the one a test passes. */
const startServer = (args: string[], env: Record<string, string> = {}): Promise<CairnServer> =>
  startCairnServer({ args: ['--auth', ...args], env: envWithout(['CAIRN_ADMIN_TOKEN'], env) });

describe('cairn server --auth with CAIRN_ADMIN_TOKEN', () => {
  let server: CairnServer;
  let dataDir: string;
  let aliceToken: string;
  let aliceTokenId: string;

  const as = (token: string, ...args: string[]): Promise<CairnResult> =>
    cairn([...args, '--url', server.url], { CAIRN_TOKEN: token });
  const ok = async (token: string, ...args: string[]): Promise<string> => {
    const result = await as(token, ...args);
    expect(result.code, `cairn ${args.join(' ')}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-auth-'));
    // Any address may be bound once auth is on.
    server = await startServer(['--host', '0.0.0.0', '--data-dir', dataDir], {
      CAIRN_ADMIN_TOKEN: ADMIN_TOKEN,
    });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a CLI without a token, and says to set CAIRN_TOKEN', async () => {
    const result = await cairn(['whoami', '--url', server.url]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('UNAUTHENTICATED');
    expect(result.stderr).toContain('CAIRN_TOKEN');
  });

  it('lets the bootstrap admin create a user and a token the user then signs in with', async () => {
    expect(JSON.parse(await ok(ADMIN_TOKEN, 'whoami', '--json'))).toMatchObject({
      user: 'admin',
      isAdmin: true,
    });
    expect(await ok(ADMIN_TOKEN, 'users', 'create', 'alice', '--email', 'alice@example.com')).toContain(
      'Created user alice',
    );
    expect(await ok(ADMIN_TOKEN, 'users', 'ls')).toMatch(/alice\s+-\s+active/);

    const created = await as(
      ADMIN_TOKEN,
      'tokens',
      'create',
      '--user',
      'alice',
      '--name',
      'e2e',
      '--expires-in-days',
      '30',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('will not be shown again');
    aliceToken = created.stdout.trim();
    expect(aliceToken).toMatch(/^cairn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    aliceTokenId = aliceToken.slice(6, 22);

    const me = JSON.parse(await ok(aliceToken, 'whoami', '--json'));
    expect(me).toMatchObject({ user: 'alice', isAdmin: false, authEnabled: true, tokenId: aliceTokenId });
    const listed = await ok(aliceToken, 'tokens', 'ls');
    expect(listed).toMatch(new RegExp(`${aliceTokenId}\\s+e2e\\s+alice\\s+active`));
    expect(listed).not.toContain(aliceToken);
  });

  it('manages projects and members, and refuses what a role does not allow', async () => {
    await ok(ADMIN_TOKEN, 'projects', 'create', 'churn', '--description', 'churn models');
    expect(await ok(aliceToken, 'projects', 'ls')).toContain('No projects');
    const denied = await as(aliceToken, 'projects', 'show', 'churn');
    expect(denied.code).toBe(5);
    expect(denied.stderr).toContain('PERMISSION_DENIED');
    expect(await ok(ADMIN_TOKEN, 'projects', 'grant', 'churn', 'alice', 'editor')).toContain(
      'alice is now editor',
    );
    const shown = await ok(aliceToken, 'projects', 'show', 'churn');
    expect(shown).toContain('churn models');
    expect(shown).toMatch(/alice\s+editor/);
    expect(JSON.parse(await ok(aliceToken, 'projects', 'members', 'churn', '--json')).members).toHaveLength(
      1,
    );
    expect((await as(aliceToken, 'users', 'ls')).code).toBe(5);
    expect((await as(aliceToken, 'projects', 'grant', 'churn', 'alice', 'owner')).code).toBe(2);
  });

  it('accepts the token as MLflow clients send it, bearer or basic', async () => {
    const bearer = await fetch(`${server.url}/api/2.0/mlflow/experiments/search?max_results=10`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    const basic = await fetch(`${server.url}/api/v1/whoami`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${aliceToken}`).toString('base64')}` },
    });
    expect(await basic.json()).toMatchObject({ user: 'alice' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('prints a token as JSON once, and a revoked token stops working', async () => {
    const json = JSON.parse(await ok(aliceToken, 'tokens', 'create', '--name', 'short-lived', '--json'));
    expect(Object.keys(json).sort()).toEqual(['expiresAt', 'id', 'name', 'token']);
    expect(await ok(json.token, 'tokens', 'revoke', json.id)).toContain(`Revoked token ${json.id}`);
    const after = await as(json.token, 'whoami');
    expect(after.code).toBe(4);
    expect(after.stderr).toContain('revoked');
    expect(after.stderr).not.toContain(json.token);
    expect(server.stderr()).not.toContain(json.token);
  });
});

describe('cairn admin bootstrap', () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-bootstrap-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a server with auth on, no users and no CAIRN_ADMIN_TOKEN refuses to start and says how', async () => {
    await expect(startServer(['--data-dir', fresh()])).rejects.toThrow(
      /CAIRN_ADMIN_TOKEN.*cairn admin bootstrap/s,
    );
  });

  it('creates the first admin in a data folder, prints the token once, and refuses a second time', async () => {
    const dataDir = fresh();
    const first = await cairn(['admin', 'bootstrap', '--data-dir', dataDir, '--name', 'root']);
    expect(first.code, first.stderr).toBe(0);
    const token = first.stdout.trim();
    expect(token).toMatch(/^cairn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(first.stderr).toContain('will not be shown again');
    const again = await cairn(['admin', 'bootstrap', '--data-dir', dataDir]);
    expect(again.code).toBe(8);
    expect(again.stderr).toContain('An admin already exists (root)');

    const server = await startServer(['--data-dir', dataDir]);
    try {
      const me = await cairn(['whoami', '--json', '--url', server.url], { CAIRN_TOKEN: token });
      expect(me.code, me.stderr).toBe(0);
      expect(JSON.parse(me.stdout)).toMatchObject({ user: 'root', isAdmin: true });
    } finally {
      await server.stop();
    }
  });

  it('needs to be told which store', async () => {
    const result = await cairn(['admin', 'bootstrap']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--data-dir DIR or --db-url URL');
  });

  it.skipIf(!pgReachable)('works on PostgreSQL through --db-url', async () => {
    const target = await createTestDatabaseUrl('postgres');
    try {
      const result = await cairn(['admin', 'bootstrap', '--db-url', target.url, '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        user: 'admin',
        token: expect.stringMatching(/^cairn_/),
      });
      expect((await cairn(['admin', 'bootstrap', '--db-url', target.url])).code).toBe(8);
    } finally {
      await target.drop();
    }
  });
});
