import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mlpModel } from '../testing/onnx-builder.js';
import { arbitraryInferBody, registerVersion, waitServed } from '../testing/serving-world.js';
import { describeEachDatabase } from '../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../testing/test-app.js';
import { inferenceFastPath } from './inference-fast-path.js';

const ROW = Array.from({ length: 20 }, (_, i) => (i - 10) / 7);
const V2 = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 20], data: ROW }] };

interface Sent {
  method?: string;
  url: string;
  body?: string;
  headers?: Record<string, string>;
}
interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request over a real connection, with exactly the headers given (plus Host and the body's length). */
function send(port: number, request: Sent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: request.method ?? 'POST',
        path: request.url,
        headers: request.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

/** Request ids differ per request: compare bodies without them. */
const comparable = (body: string): unknown => {
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    if (typeof value === 'object' && value !== null) {
      delete value.requestId;
      const error = value.error as Record<string, unknown> | undefined;
      if (typeof error === 'object' && error !== null) delete error.requestId;
    }
    return value;
  } catch {
    return body;
  }
};

describeEachDatabase('the inference fast path', ({ database }) => {
  let t: TestApp;
  let apiPort: number;
  /** A server that offers every request to the fast path and answers 599 when it declines. */
  let probe: http.Server;
  let probePort: number;

  beforeAll(async () => {
    t = await createTestApp(database());
    await registerVersion(t.app, { model: 'mlp', files: { 'model.onnx': mlpModel({ seed: 1 }).bytes() } });
    expect(
      (await call(t.app, 'POST', '/api/v1/deployments', { name: 'fp', model: 'mlp/1', port: null })).status,
    ).toBe(201);
    await waitServed(t.app, 'fp', 1);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    apiPort = (t.app.server.address() as AddressInfo).port;
    const fastPath = inferenceFastPath({
      inference: t.app.cairn.services.inference,
      maxBodyBytes: t.app.cairn.config.bodyLimitBytes,
      authEnabled: false,
      closing: () => false,
      onInternalError: () => undefined,
    });
    probe = http.createServer((req, res) => {
      if (!fastPath(req, res)) res.writeHead(599).end();
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    probePort = (probe.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => probe.close(resolve));
    await t.close();
  });

  const taken: Array<[string, Sent]> = [
    ['a v2 request', { url: '/v2/models/fp/infer', ...json(V2) }],
    [
      'a v2 request with an id and output filter',
      { url: '/v2/models/fp/infer', ...json({ ...V2, id: 'x-1', outputs: [{ name: 'probabilities' }] }) },
    ],
    ['a named version', { url: '/v2/models/fp/versions/1/infer', ...json(V2) }],
    ['a version not served', { url: '/v2/models/fp/versions/9/infer', ...json(V2) }],
    ['a query string', { url: '/v2/models/fp/infer?x=1', ...json(V2) }],
    ['a predict request', { url: '/deployments/fp/predict', ...json({ instances: [ROW] }) }],
    ['predict rows by name', { url: '/deployments/fp/predict', ...json({ instances: [{ input: ROW }] }) }],
    ['an unknown deployment (v2)', { url: '/v2/models/nobody/infer', ...json(V2) }],
    [
      'an unknown deployment (predict)',
      { url: '/deployments/nobody/predict', ...json({ instances: [ROW] }) },
    ],
    ['malformed JSON', { url: '/v2/models/fp/infer', ...json('{"inputs": [') }],
    ['an empty body', { url: '/v2/models/fp/infer', ...json('') }],
    ['malformed JSON (predict)', { url: '/deployments/fp/predict', ...json('{') }],
    [
      'a wrong input name',
      { url: '/v2/models/fp/infer', ...json({ inputs: [{ ...V2.inputs[0], name: 'x' }] }) },
    ],
    [
      'a wrong datatype',
      { url: '/v2/models/fp/infer', ...json({ inputs: [{ ...V2.inputs[0], datatype: 'INT8' }] }) },
    ],
    [
      'a wrong shape',
      { url: '/v2/models/fp/infer', ...json({ inputs: [{ ...V2.inputs[0], shape: [1, 19] }] }) },
    ],
    [
      'non-numeric data',
      {
        url: '/v2/models/fp/infer',
        ...json({ inputs: [{ ...V2.inputs[0], data: ['a', ...ROW.slice(1)] }] }),
      },
    ],
    ['a JSON scalar', { url: '/deployments/fp/predict', ...json('7') }],
    [
      'prototype keys',
      { url: '/v2/models/fp/infer', ...json('{"__proto__": {"inputs": 1}, "constructor": {}}') },
    ],
    [
      'a charset parameter',
      { url: '/v2/models/fp/infer', ...json(V2, { 'content-type': 'application/json; charset=utf-8' }) },
    ],
    ['a client request id', { url: '/v2/models/fp/infer', ...json(V2, { 'x-request-id': 'client-42' }) }],
    [
      'a sticky route key',
      { url: '/deployments/fp/predict', ...json({ instances: [ROW] }, { 'x-cairn-route-key': 'u1' }) },
    ],
  ];

  it.each(taken)('answers %s as the Fastify route does', async (_what, request) => {
    const fast = await send(probePort, request);
    expect(fast.status, fast.body).not.toBe(599);
    const routed = await t.app.inject({
      method: 'POST',
      url: request.url,
      headers: request.headers ?? {},
      ...(request.body === undefined ? {} : { payload: request.body }),
    });
    expect(fast.status, fast.body).toBe(routed.statusCode);
    expect(comparable(fast.body)).toEqual(comparable(routed.body));
    expect(fast.headers['content-type']).toBe(routed.headers['content-type']);
    expect(fast.headers['x-request-id']).toEqual(expect.any(String));
    if (request.headers?.['x-request-id'] !== undefined)
      expect(fast.headers['x-request-id']).toBe('client-42');
    // And the real listener, which puts the fast path in front of the app, answers alike.
    const real = await send(apiPort, request);
    expect(real.status).toBe(routed.statusCode);
    expect(comparable(real.body)).toEqual(comparable(routed.body));
  });

  const declined: Array<[string, (limit: number) => Sent]> = [
    ['a GET', () => ({ method: 'GET', url: '/v2/models/fp/infer' })],
    ['another route', () => ({ url: '/api/v1/deployments', ...json({}) })],
    ['no content type', () => ({ url: '/v2/models/fp/infer', body: JSON.stringify(V2) })],
    ['a text body', () => ({ url: '/v2/models/fp/infer', ...json(V2, { 'content-type': 'text/plain' }) })],
    [
      'a chunked body',
      () => ({ url: '/v2/models/fp/infer', ...json(V2, { 'transfer-encoding': 'chunked' }) }),
    ],
    ['an escaped name', () => ({ url: '/v2/models/f%70/infer', ...json(V2) })],
    [
      'a body over the limit',
      (limit) => ({ url: '/v2/models/fp/infer', ...json({ pad: 'x'.repeat(limit + 10) }) }),
    ],
  ];

  it.each(declined)('leaves %s to the app, which answers it', async (_what, build) => {
    const request = build(t.app.cairn.config.bodyLimitBytes);
    expect((await send(probePort, request)).status).toBe(599);
    const real = await send(apiPort, request);
    expect(real.status).toBeLessThan(500);
  });

  it('gives any body the same answer as the Fastify route (property)', async () => {
    const body = arbitraryInferBody(ROW);
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('/v2/models/fp/infer', '/deployments/fp/predict'),
        async (value, url) => {
          const request = { url, ...json(JSON.stringify(value) ?? 'null') };
          const fast = await send(probePort, request);
          const routed = await t.app.inject({
            method: 'POST',
            url,
            headers: request.headers,
            payload: request.body,
          });
          expect(fast.status).toBe(routed.statusCode);
          expect([200, 400]).toContain(fast.status);
          expect(comparable(fast.body)).toEqual(comparable(routed.body));
        },
      ),
      { numRuns: 100 },
    );
  });
});
