import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWithout, runCairn, startCairnServer, type CairnResult, type CairnServer } from './helpers.js';

// Experiments in projects as a team meets them: the built CLI against
// `cairn server --auth`, an admin setting up a project and an editor, and an
// MLflow client's plain HTTP calls. Needs `npm run build`.
const ADMIN_TOKEN = 'e2e-projects-admin-token-0123456789abcdef0123';

describe('experiments in projects, through the CLI and the MLflow API', () => {
  let url: string;
  let server: CairnServer;
  let dataDir: string;
  let bobToken: string;

  async function cairn(token: string, ...args: string[]): Promise<CairnResult> {
    return runCairn([...args, '--url', url], {
      env: envWithout(['CAIRN_TOKEN', 'CAIRN_ADMIN_TOKEN', 'CAIRN_URL'], { CAIRN_TOKEN: token }),
    });
  }
  const ok = async (token: string, ...args: string[]): Promise<string> => {
    const result = await cairn(token, ...args);
    expect(result.code, `cairn ${args.join(' ')}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const mlflow = async (token: string, route: string, body: unknown) => {
    const response = await fetch(`${url}/api/2.0/mlflow/${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-projects-'));
    server = await startCairnServer({
      args: ['--auth'],
      env: { ...process.env, CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
      dataDir,
    });
    url = server.url;
    await ok(ADMIN_TOKEN, 'projects', 'create', 'fraud');
    await ok(ADMIN_TOKEN, 'users', 'create', 'bob');
    await ok(ADMIN_TOKEN, 'projects', 'grant', 'fraud', 'bob', 'editor');
    bobToken = (await ok(ADMIN_TOKEN, 'tokens', 'create', '--user', 'bob', '--name', 'laptop')).trim();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an editor creates an experiment in their project and sees only that project', async () => {
    const created = JSON.parse(
      await ok(bobToken, 'experiments', 'create', 'churn', '--project', 'fraud', '--json'),
    );
    expect(created).toMatchObject({ name: 'churn', project: 'fraud' });
    const listed = JSON.parse(await ok(bobToken, 'experiments', 'ls', '--json'));
    expect(JSON.stringify(listed)).toContain('churn');
    expect(JSON.stringify(listed)).not.toContain('"Default"');
  });

  it('refuses an experiment in a project where the editor has no role (exit code 5)', async () => {
    const result = await cairn(bobToken, 'experiments', 'create', 'stray');
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('PERMISSION_DENIED');
    expect(result.stderr).toContain("project 'default'");
  });

  it('MLflow clients name the project with the tag cairn.project; runs belong to the signed-in user', async () => {
    const experiment = await mlflow(bobToken, 'experiments/create', {
      name: 'mlflow-churn',
      tags: [{ key: 'cairn.project', value: 'fraud' }],
    });
    expect(experiment.status).toBe(200);
    const runCreated = await mlflow(bobToken, 'runs/create', {
      experiment_id: experiment.body.experiment_id,
      user_id: 'someone-else',
    });
    expect(runCreated.body.run.info.user_id).toBe('bob');
    const elsewhere = await mlflow(bobToken, 'runs/search', { experiment_ids: ['0'] });
    expect([elsewhere.status, elsewhere.body.error_code]).toEqual([403, 'PERMISSION_DENIED']);
  });
});
