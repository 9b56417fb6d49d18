import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { CODE_VERSION_LIMITS, CodeVersionJson, ErrorResponse } from '@cairn/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/v1';
const NOW = 1_700_000_000_000;
const COMMIT = '9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B';
const PATCH = [
  'diff --git a/train.py b/train.py',
  'index 1111111..2222222 100644',
  '--- a/train.py',
  '+++ b/train.py',
  '@@ -1 +1 @@',
  '-lr = 0.1',
  '+lr = 0.01',
  '',
].join('\n');

const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

describeEachDatabase('run code versions /api/v1/runs/:runId/code', ({ database }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => NOW } });
  });
  afterAll(async () => {
    await t.close();
  });

  type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
  const api = (method: Method, path: string, payload?: unknown) => call(t.app, method, API + path, payload);

  async function newRun(): Promise<string> {
    const res = await api('POST', '/runs', { startTime: NOW });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.info.runId as string;
  }

  it('records a dirty source, answers it, serves the diff and sets the MLflow git tags', async () => {
    const runId = await newRun();
    const put = await api('PUT', `/runs/${runId}/code`, {
      commit: COMMIT,
      branch: 'feature/lr',
      remoteUrl: 'https://alice:ghp_secret@github.com/acme/churn.git',
      dirty: true,
      diff: base64(PATCH),
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const digest = `sha256:${createHash('sha256').update(PATCH).digest('hex')}`;
    expect(put.body.codeVersion).toEqual({
      runId,
      commit: COMMIT.toLowerCase(),
      branch: 'feature/lr',
      remoteUrl: 'https://github.com/acme/churn.git',
      dirty: true,
      diffDigest: digest,
      diffBytes: Buffer.byteLength(PATCH),
      createdAt: NOW,
    });

    const got = await api('GET', `/runs/${runId}/code`);
    expect(got.status).toBe(200);
    expect(Value.Check(CodeVersionJson, got.body.codeVersion)).toBe(true);
    expect(got.body).toEqual(put.body);

    const diff = await t.app.inject({ method: 'GET', url: `${API}/runs/${runId}/code/diff` });
    expect(diff.statusCode).toBe(200);
    expect(diff.headers['content-type']).toBe('application/octet-stream');
    expect(diff.headers['x-cairn-digest']).toBe(digest);
    expect(diff.rawPayload.equals(Buffer.from(PATCH))).toBe(true);

    const run = await api('GET', `/runs/${runId}`);
    expect(run.body.data.tags).toMatchObject({
      'mlflow.source.git.commit': COMMIT.toLowerCase(),
      'mlflow.source.git.branch': 'feature/lr',
      'mlflow.source.git.repoURL': 'https://github.com/acme/churn.git',
    });
    const upstream = await api('GET', `/lineage/run/${runId}/upstream`);
    expect(upstream.status).toBe(200);
    expect(upstream.body.nodes).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'code_version', id: COMMIT.toLowerCase() })]),
    );
  });

  it('replaces a recorded source: a clean tree has no diff, and stale branch and remote tags go', async () => {
    const runId = await newRun();
    await api('PUT', `/runs/${runId}/code`, {
      commit: COMMIT,
      branch: 'main',
      remoteUrl: 'git@github.com:acme/churn.git',
      dirty: true,
      diff: base64('x'),
    });
    const again = await api('PUT', `/runs/${runId}/code`, { commit: 'abcdef0', dirty: false });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.codeVersion).toMatchObject({
      commit: 'abcdef0',
      branch: null,
      remoteUrl: null,
      dirty: false,
      diffDigest: null,
      diffBytes: 0,
    });
    const tags = (await api('GET', `/runs/${runId}`)).body.data.tags as Record<string, string>;
    expect(tags['mlflow.source.git.commit']).toBe('abcdef0');
    expect(tags).not.toHaveProperty('mlflow.source.git.branch');
    expect(tags).not.toHaveProperty('mlflow.source.git.repoURL');
    const diff = await api('GET', `/runs/${runId}/code/diff`);
    expect(diff.status).toBe(404);
    expect(diff.body.error.message).toContain('clean checkout');
    // The edge follows the tag: the old commit is no longer upstream of the run.
    const ids = (await api('GET', `/lineage/run/${runId}/upstream`)).body.nodes.map(
      (n: { id: string }) => n.id,
    );
    expect(ids).toContain('abcdef0');
    expect(ids).not.toContain(COMMIT.toLowerCase());
  });

  it('keeps ssh users and scp-style remotes as given', async () => {
    const runId = await newRun();
    const ssh = await api('PUT', `/runs/${runId}/code`, {
      commit: COMMIT,
      remoteUrl: 'ssh://git@example.com:2222/acme/churn.git',
      dirty: false,
    });
    expect(ssh.body.codeVersion.remoteUrl).toBe('ssh://git@example.com:2222/acme/churn.git');
  });

  it('answers 404 for a run with no recorded source', async () => {
    const runId = await newRun();
    const got = await api('GET', `/runs/${runId}/code`);
    expect(got.status).toBe(404);
    expect(Value.Check(ErrorResponse, got.body)).toBe(true);
    expect((await api('GET', `/runs/${runId}/code/diff`)).status).toBe(404);
  });

  it('refuses a diff over the limit with PAYLOAD_TOO_LARGE', async () => {
    const runId = await newRun();
    const big = Buffer.alloc(CODE_VERSION_LIMITS.maxDiffBytes + 1, 0x61);
    const put = await api('PUT', `/runs/${runId}/code`, { commit: COMMIT, dirty: true, diff: base64(big) });
    expect(put.status).toBe(413);
    expect(put.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(put.body.error.message).toContain(String(CODE_VERSION_LIMITS.maxDiffBytes));
    expect((await api('GET', `/runs/${runId}/code`)).status).toBe(404);
  });

  describe('bad input', () => {
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ['a commit that is not hex', { commit: 'not-a-commit', dirty: false }, 400, 'INVALID_ARGUMENT'],
      ['a commit too short', { commit: 'abc12', dirty: false }, 400, 'INVALID_ARGUMENT'],
      ['a commit too long', { commit: 'a'.repeat(65), dirty: false }, 400, 'INVALID_ARGUMENT'],
      ['no commit', { dirty: false }, 400, 'INVALID_ARGUMENT'],
      ['no dirty flag', { commit: COMMIT }, 400, 'INVALID_ARGUMENT'],
      ['a dirty flag as text', { commit: COMMIT, dirty: 'yes' }, 400, 'INVALID_ARGUMENT'],
      [
        'a branch too long',
        { commit: COMMIT, dirty: false, branch: 'b'.repeat(1001) },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'a remote too long',
        { commit: COMMIT, dirty: false, remoteUrl: `https://x/${'r'.repeat(1000)}` },
        400,
        'INVALID_ARGUMENT',
      ],
      ['a branch with a newline', { commit: COMMIT, dirty: false, branch: 'a\nb' }, 400, 'INVALID_ARGUMENT'],
      [
        'a diff that is not base64',
        { commit: COMMIT, dirty: true, diff: 'not base64!' },
        400,
        'INVALID_ARGUMENT',
      ],
      ['a diff with bad padding', { commit: COMMIT, dirty: true, diff: 'abcde' }, 400, 'INVALID_ARGUMENT'],
      ['an unknown field', { commit: COMMIT, dirty: false, extra: 1 }, 400, 'INVALID_ARGUMENT'],
    ];
    it.each(cases)('refuses %s', async (_name, body, status, code) => {
      const runId = await newRun();
      const res = await api('PUT', `/runs/${runId}/code`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(Value.Check(ErrorResponse, res.body)).toBe(true);
      expect(res.body.error.code).toBe(code);
      expect((await api('GET', `/runs/${runId}/code`)).status).toBe(404);
    });

    it('answers 404 for an unknown run', async () => {
      const unknown = 'f'.repeat(32);
      const put = await api('PUT', `/runs/${unknown}/code`, { commit: COMMIT, dirty: false });
      expect(put.status).toBe(404);
      expect((await api('GET', `/runs/${unknown}/code`)).status).toBe(404);
      expect((await api('GET', `/runs/${unknown}/code/diff`)).status).toBe(404);
    });

    it('refuses to record a source on a deleted run', async () => {
      const runId = await newRun();
      expect((await api('DELETE', `/runs/${runId}`)).status).toBe(204);
      const put = await api('PUT', `/runs/${runId}/code`, { commit: COMMIT, dirty: false });
      expect(put.status).toBe(400);
    });
  });
});
