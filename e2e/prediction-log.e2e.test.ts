import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlpModel } from '../packages/server/src/testing/onnx-builder.js';
import {
  createTestDatabaseUrl,
  isPostgresReachable,
  type TestDatabaseUrl,
  type TestDialect,
} from '../packages/server/src/testing/test-databases.js';
import { envWithout, runCairn, startCairnServer, type CairnServer } from './helpers.js';

// The built server writes its prediction log from a worker thread with its own
// database connection; on SQLite and PostgreSQL, what it writes must read back
// whole, with ground truth joined. Needs `npm run build`.

const ROW = Array.from({ length: 20 }, (_, i) => i / 10);
const REQUIRE_PG = process.env['CAIRN_REQUIRE_PG'] === '1' || process.env['CAIRN_REQUIRE_PG'] === 'true';

for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
  describe(`prediction log written by the worker [${dialect}]`, () => {
    let server: CairnServer | undefined;
    let database: TestDatabaseUrl | undefined;
    let work: string;
    let skip = false;
    const env = envWithout(['CAIRN_URL', 'CAIRN_TOKEN']);
    const cairn = (...args: string[]) =>
      runCairn([...args, '--url', server!.url], { cwd: work, env, timeoutMs: 60_000 });

    beforeAll(async () => {
      if (dialect === 'postgres' && !REQUIRE_PG && !(await isPostgresReachable())) {
        skip = true;
        return;
      }
      work = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-log-'));
      database = await createTestDatabaseUrl(dialect);
      server = await startCairnServer({ dataDir: work, args: ['--db-url', database.url], env });
      writeFileSync(path.join(work, 'mlp.onnx'), mlpModel({ seed: 4 }).bytes());
      expect((await cairn('models', 'register', 'mlp', 'mlp.onnx')).code).toBe(0);
      expect((await cairn('deploy', 'create', 'logged', '--model', 'mlp/1')).code).toBe(0);
    });
    afterAll(async () => {
      await server?.stop();
      await database?.drop();
      if (work !== undefined) rmSync(work, { recursive: true, force: true });
    });

    it('logs every request with its tensors, and joins ground truth by request id', async (context) => {
      if (skip) context.skip();
      const url = server!.url;
      const body = JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 20], data: ROW }],
      });
      let ready = false;
      for (let i = 0; i < 300 && !ready; i++) {
        ready = (await fetch(`${url}/v2/models/logged/ready`)).ok;
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      const ids = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const res = await fetch(`${url}/v2/models/logged/infer`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': `log-${i}` },
            body,
          });
          expect(res.status).toBe(200);
          return res.headers.get('x-request-id');
        }),
      );
      expect(ids[7]).toBe('log-7');
      const truth = await fetch(`${url}/deployments/logged/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ requestId: 'log-7', truth: 1 }] }),
      });
      expect(truth.status).toBe(200);
      let rows: any[] = [];
      for (let i = 0; i < 100 && rows.length < 200; i++) {
        const page = await fetch(`${url}/api/v1/deployments/logged/predictions?kind=live&max_results=1000`);
        rows = ((await page.json()) as { predictions: any[] }).predictions;
        if (rows.length < 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows).toHaveLength(200);
      const seventh = rows.find((r) => r.requestId === 'log-7');
      expect(seventh).toMatchObject({ model: 'mlp', version: 1, status: 'ok', truth: 1 });
      expect(seventh.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32', shape: [1, 20] });
      expect(seventh.inputs[0].data[3]).toBeCloseTo(0.3, 6);
      expect(seventh.outputs[0]).toMatchObject({ name: 'probabilities', shape: [1, 2] });
    });
  });
}
