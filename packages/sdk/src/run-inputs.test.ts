import { afterAll, beforeAll, expect, it } from 'vitest';
// Test-only: the server's per-dialect database helper, so this suite runs on SQLite and PostgreSQL.
import { createTestApp, describeEachDatabase, type TestApp } from '../../server/src/testing/index.js';
import { Cairn, isCairnError, parseDatasetVersionRef } from './index.js';

describeEachDatabase('@cairn/sdk run inputs from dataset versions', ({ database }) => {
  let t: TestApp;
  let url: string;
  let cairn: Cairn;

  const api = async (method: string, path: string, body?: unknown, raw?: string): Promise<any> => {
    const response = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { 'content-type': raw === undefined ? 'application/json' : 'application/octet-stream' },
      ...(raw !== undefined ? { body: raw } : body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    expect(response.status, text).toBeLessThan(300);
    return text === '' ? undefined : JSON.parse(text);
  };

  /** A dataset with one version of one file, through the HTTP API. */
  async function datasetVersion(name: string, content: string): Promise<void> {
    await api('POST', '/datasets', { name });
    const upload = await api('POST', `/datasets/${name}/uploads`, {});
    await api('PUT', `/datasets/${name}/uploads/${upload.uploadId}/files?path=data.csv`, undefined, content);
    await api('POST', `/datasets/${name}/uploads/${upload.uploadId}/commit`, { message: 'first' });
  }

  beforeAll(async () => {
    t = await createTestApp(database());
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    cairn = new Cairn({ url });
    await datasetVersion('iris', 'a,b\n1,2\n');
  });
  afterAll(async () => {
    await t.close();
  });

  it('logs a dataset version as an input and links the run to it in lineage', async () => {
    const run = await cairn.startRun({ experiment: 'sdk-inputs', captureCode: false });
    const version = await run.logDatasetInput('iris@1', { context: 'training' });
    expect(version).toMatchObject({ dataset: 'iris', version: 1 });
    await run.end();

    const logged = await cairn.runs.get(run.runId);
    expect(logged.inputs.datasetInputs).toEqual([
      {
        dataset: expect.objectContaining({
          name: 'iris',
          digest: version.digest,
          sourceType: 'cairn',
          source: 'cairn:iris@1',
        }),
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      },
    ]);
    const graph = await api('GET', `/lineage/run/${run.runId}/upstream`);
    const labels = graph.nodes.map((n: { kind: string; label: string }) => `${n.kind}:${n.label}`);
    expect(labels).toContain('dataset_version:iris@v1');
    const noCode = await cairn.runs.codeVersion(run.runId).catch((e: unknown) => e);
    expect(isCairnError(noCode) && noCode.code).toBe('NOT_FOUND');
  });

  it('resolves latest and the object form, and fails for an unknown version', async () => {
    const run = await cairn.startRun({ experiment: 'sdk-inputs', captureCode: false });
    expect((await run.logDatasetInput('iris')).version).toBe(1);
    expect((await run.logDatasetInput({ dataset: 'iris', version: 1 })).version).toBe(1);
    const missing = await run.logDatasetInput('iris@7').catch((e: unknown) => e);
    expect(isCairnError(missing) && missing.code).toBe('NOT_FOUND');
    await run.end();
  });

  it('parses dataset version references', () => {
    expect(parseDatasetVersionRef('churn@3')).toEqual({ dataset: 'churn', version: '3' });
    expect(parseDatasetVersionRef('churn')).toEqual({ dataset: 'churn', version: 'latest' });
    expect(parseDatasetVersionRef({ dataset: 'churn', version: 2 })).toEqual({
      dataset: 'churn',
      version: '2',
    });
    expect(() => parseDatasetVersionRef('churn@')).toThrow(/NAME@VERSION/);
  });
});
