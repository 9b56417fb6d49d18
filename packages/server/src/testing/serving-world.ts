import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { expect } from 'vitest';
import { call } from './test-app.js';

const API = '/api/v1';
const enc = encodeURIComponent;

/** Registers a model version from files (an ONNX model, a command model folder) through the API. */
export async function registerVersion(
  app: FastifyInstance,
  input: { model: string; files: Record<string, Uint8Array | string> },
): Promise<{ version: number; digest: string; versionId: string; format: string }> {
  const exists = await call(app, 'GET', `${API}/models/${enc(input.model)}`);
  if (exists.status === 404) {
    const created = await call(app, 'POST', `${API}/models`, { name: input.model });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  const id = randomUUID();
  let source = '';
  for (const [path, bytes] of Object.entries(input.files)) {
    const up = await app.inject({
      method: 'PUT',
      url: `${API}/model-uploads/${id}/${path.split('/').map(enc).join('/')}`,
      payload: Buffer.from(bytes),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(up.statusCode, up.body).toBe(201);
    source = (up.json() as { source: string }).source;
  }
  const version = await call(app, 'POST', `${API}/models/${enc(input.model)}/versions`, { source });
  expect(version.status, JSON.stringify(version.body)).toBe(201);
  return version.body;
}

export async function setAlias(
  app: FastifyInstance,
  input: { model: string; alias: string; version: number },
) {
  const res = await call(app, 'PUT', `${API}/models/${enc(input.model)}/aliases/${enc(input.alias)}`, {
    version: input.version,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Polls until `check` returns a value other than undefined (or fails after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the deployment serves `revision` (its current one when not given); answers the deployment. */
export async function waitServed(app: FastifyInstance, name: string, revision?: number): Promise<any> {
  return eventually(async () => {
    const res = await call(app, 'GET', `${API}/deployments/${enc(name)}`);
    const deployment = res.body?.deployment;
    if (deployment === undefined) return undefined;
    return deployment.status.servedRevision === (revision ?? deployment.revision) ? deployment : undefined;
  });
}

/** Waits until the deployment's current revision failed to load; answers the deployment. */
export async function waitFailed(app: FastifyInstance, name: string): Promise<any> {
  return eventually(async () => {
    const res = await call(app, 'GET', `${API}/deployments/${enc(name)}`);
    return res.body?.deployment?.status.state === 'failed' ? res.body.deployment : undefined;
  });
}

/**
 * Any JSON, or v2-shaped bodies whose tensors are right or wrong in every
 * field (for a model with one `input` of [-1, 20]): what the data plane must
 * answer with a 200 or a 400, never a 5xx.
 */
export function arbitraryInferBody(row: readonly number[]): fc.Arbitrary<unknown> {
  const tensor = fc.record({
    name: fc.oneof(fc.constant('input'), fc.string()),
    datatype: fc.oneof(fc.constantFrom('FP32', 'FP64', 'INT64', 'BOOL', 'BYTES', 'FP16'), fc.string()),
    shape: fc.oneof(fc.constant([1, 20]), fc.array(fc.integer({ min: -2, max: 30 }), { maxLength: 4 })),
    data: fc.oneof(fc.constant([...row]), fc.array(fc.jsonValue(), { maxLength: 30 })),
  });
  return fc.oneof(
    fc.jsonValue(),
    fc.record({ inputs: fc.array(tensor, { maxLength: 3 }), id: fc.jsonValue() }),
  );
}
