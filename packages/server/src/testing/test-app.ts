import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOverrides } from '../app.js';
import type { MetadataDatabase } from '../adapters/sql/database.js';
import { loadConfig } from '../config/load-config.js';

export interface TestApp {
  app: FastifyInstance;
  dataDir: string;
  close(): Promise<void>;
}

/** A real app on the given database, blobs in a fresh temp folder, logging off. */
export async function createTestApp(
  database: MetadataDatabase,
  overrides: AppOverrides & { env?: Record<string, string> } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-app-'));
  const { env = {}, ...appOverrides } = overrides;
  // Scheduled audit checkpoints are off unless a test asks: a timer firing mid-test would add events.
  const config = loadConfig({
    cwd: dataDir,
    env: { CAIRN_AUDIT_CHECKPOINT_MINUTES: '0', ...env },
    flags: { dataDir },
  });
  const app = await buildApp(config, { database, logger: false, ...appOverrides });
  return {
    app,
    dataDir,
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `app.inject` for JSON APIs: body in, parsed JSON + status out. */
export async function call(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const response = await app.inject({
    method,
    url,
    ...(payload === undefined
      ? {}
      : { payload: payload as object, headers: { 'content-type': 'application/json' } }),
  });
  let body: unknown = response.body;
  try {
    body = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    // leave as text
  }
  return { status: response.statusCode, body, headers: response.headers };
}
