import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CairnError } from '@cairn/contract';
import {
  answerInfer,
  answerPredict,
  ROUTE_KEY_HEADER,
  type InferenceService,
} from '../modules/serving/index.js';
import { nativeStatus, toCairnError } from './error-mapping.js';
import { requestIdOf } from './request-id.js';

export interface InferenceFastPathOptions {
  inference: InferenceService;
  /** Only this deployment answers (a deployment's own port); every deployment when absent. */
  only?: string;
  maxBodyBytes: number;
  /** With auth on, requests take the full route (authentication, throttling, denied-attempt audit). */
  authEnabled: boolean;
  /** While the server closes, requests go to Fastify, which answers 503 and closes the connection. */
  closing: () => boolean;
  onInternalError: (error: unknown, requestId: string) => void;
}

/** Takes the request and answers it (true), or leaves it untouched for the full app (false). */
export type FastPath = (request: IncomingMessage, response: ServerResponse) => boolean;

const INFER_PATH = /^\/v2\/models\/([A-Za-z0-9._-]+)(?:\/versions\/([A-Za-z0-9._-]+))?\/infer$/;
const PREDICT_PATH = /^\/deployments\/([A-Za-z0-9._-]+)\/predict$/;

/**
 * The hot routes of the data plane — v2 infer and predict — answered on
 * node:http directly, beside the Fastify app that serves everything else.
 * Fastify's per-request hooks, child logger, reply pipeline and a second
 * write per response cost about as much as the model run and the route
 * together (a CPU profile at 64 clients: ~35 % of the serving thread), and
 * a data plane answering thousands of one-row requests a second pays them
 * on every one. It takes only the plain case — JSON with a Content-Length
 * within the limit, auth off, a name without escapes — and leaves anything
 * else (and every error Fastify would answer first: 413, 415, a
 * malformed URL) to the Fastify routes, which share the same answer
 * functions, so both paths answer alike.
 */
export function inferenceFastPath(options: InferenceFastPathOptions): FastPath {
  const { inference, only, maxBodyBytes } = options;
  return (request, response) => {
    if (options.authEnabled || request.method !== 'POST' || options.closing()) return false;
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const infer = INFER_PATH.exec(path);
    const predict = infer === null ? PREDICT_PATH.exec(path) : null;
    const match = infer ?? predict;
    if (match === null || !takesBody(request, maxBodyBytes)) return false;
    const protocol = infer !== null ? 'v2' : 'predict';
    const requestId = requestIdOf(request.headers);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const name = match[1]!;
      const key = request.headers[ROUTE_KEY_HEADER];
      const call = {
        name,
        key: typeof key === 'string' && key !== '' ? key : undefined,
        requestId,
        body: undefined as unknown,
      };
      answer(() => {
        if (only !== undefined && name !== only) {
          throw new CairnError('NOT_FOUND', `this port serves deployment ${only}, not ${name}`);
        }
        call.body = parseJson(chunks);
        return protocol === 'v2'
          ? answerInfer(inference, { ...call, version: match[2] })
          : answerPredict(inference, call);
      }).then(
        (text) => send(response, { status: 200, requestId, text }),
        (error: unknown) => sendFailure(response, { error, requestId, protocol, options }),
      );
    });
    return true;
  };
}

function takesBody(request: IncomingMessage, maxBodyBytes: number): boolean {
  const type = request.headers['content-type'];
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) return false;
  const length = Number(request.headers['content-length']);
  return (
    Number.isInteger(length) && length <= maxBodyBytes && request.headers['transfer-encoding'] === undefined
  );
}

function parseJson(chunks: Buffer[]): unknown {
  const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Runs `work`, turning a synchronous throw into a rejection. */
async function answer(work: () => Promise<string>): Promise<string> {
  return work();
}

function send(
  response: ServerResponse,
  reply: { status: number; requestId: string; text: string; retry?: boolean },
): void {
  if (response.destroyed) return;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(reply.text),
    'x-request-id': reply.requestId,
  };
  if (reply.retry === true) headers['retry-after'] = '1';
  response.writeHead(reply.status, headers);
  response.end(reply.text);
}

/** Errors in the shapes the Fastify error handler gives: OIP's `{error, code}` on /v2, Cairn's elsewhere. */
function sendFailure(
  response: ServerResponse,
  input: { error: unknown; requestId: string; protocol: 'v2' | 'predict'; options: InferenceFastPathOptions },
): void {
  const { requestId } = input;
  const error = toCairnError(input.error);
  if (error.code === 'INTERNAL' || error.code === 'DATA_LOSS')
    input.options.onInternalError(input.error, requestId);
  const body =
    input.protocol === 'v2'
      ? { error: error.message, code: error.code }
      : {
          error: {
            code: error.code,
            message: error.message,
            ...(error.field === undefined ? {} : { field: error.field }),
            requestId,
          },
        };
  send(response, {
    status: nativeStatus(error),
    requestId,
    text: JSON.stringify(body),
    retry: error.code === 'UNAVAILABLE',
  });
}

/**
 * Fastify's `serverFactory`: a node:http server that offers each request to
 * the fast path first. `inject()` bypasses it (tests of the Fastify routes);
 * real connections take it.
 */
export function serverWithFastPath(fastPath: FastPath) {
  return (handler: (request: IncomingMessage, response: ServerResponse) => void): Server =>
    createServer((request, response) => {
      if (!fastPath(request, response)) handler(request, response);
    });
}
