import { errorFromResponse, isRetryableStatus, networkError } from './errors.js';
import type { CairnError } from '@cairn/contract';
import { isNodeStream, sendNodeStream } from './node-stream-request.js';

/** What fetch takes as a body (a stream, bytes, text…). */
export type RequestBody = NonNullable<RequestInit['body']>;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface TransportRequest {
  method: HttpMethod;
  /** Path below the server URL, starting with `/` (segments already encoded). */
  path: string;
  query?: Record<string, QueryValue>;
  /** A JSON body. */
  json?: unknown;
  /** A raw body, made afresh for every attempt (a stream can be read only once). */
  body?: () => RequestBody;
  headers?: Record<string, string>;
  /** Overrides the client's per-attempt timeout (uploads of large files need longer). */
  timeoutMs?: number;
}

/**
 * What the resources talk to. `send` resolves with a 2xx response or rejects
 * with a CairnError; swap it in tests or to add tracing.
 */
export interface Transport {
  readonly url: string;
  send(request: TransportRequest): Promise<Response>;
}

export interface HttpTransportOptions {
  url: string;
  token?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  retries?: number;
  /** First back-off delay; doubles per retry, with jitter. */
  retryDelayMs?: number;
}

const MAX_DELAY_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds or an HTTP date, as `Retry-After` may carry. */
function retryAfterMs(response: Response | undefined): number | undefined {
  const value = response?.headers.get('retry-after');
  if (value === null || value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * fetch with a bearer token, a timeout per attempt, and retries with
 * exponential back-off and full jitter on network errors, 429 and 5xx. Other
 * 4xx are the caller's mistake and are never retried.
 */
export class HttpTransport implements Transport {
  readonly url: string;
  private readonly fetch: typeof fetch;
  /** A fetch given by the caller (tests, tracing) sees every request, streams included. */
  private readonly customFetch: boolean;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;

  constructor(options: HttpTransportOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.customFetch = options.fetch !== undefined;
    this.token = options.token === '' ? undefined : options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = Math.max(0, Math.floor(options.retries ?? 3));
    this.retryDelayMs = options.retryDelayMs ?? 250;
  }

  async send(request: TransportRequest): Promise<Response> {
    const url = this.url + request.path + queryString(request.query);
    const what = `${request.method} ${request.path}`;
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      let response: Response | undefined;
      let failure: CairnError;
      try {
        response = await this.attempt(url, request, timeoutMs);
        if (response.ok) return response;
        failure = await errorFromResponse(response, what);
        if (!isRetryableStatus(response.status)) throw failure;
      } catch (error) {
        if (response !== undefined) throw error;
        failure = networkError(error, this.url, timeoutMs);
      }
      if (attempt >= this.retries) throw failure;
      const backoff = Math.min(MAX_DELAY_MS, this.retryDelayMs * 2 ** attempt) * Math.random();
      await sleep(Math.min(MAX_DELAY_MS, Math.max(backoff, retryAfterMs(response) ?? 0)));
    }
  }

  /** Node streams go through node:http (no copies); everything else through fetch. */
  private attempt(url: string, request: TransportRequest, timeoutMs: number): Promise<Response> {
    const init = this.init(request, timeoutMs);
    if (this.customFetch || !isNodeStream(init.body)) return this.fetch(url, init);
    return sendNodeStream(url, {
      method: request.method,
      headers: init.headers as Record<string, string>,
      body: init.body,
      timeoutMs,
    });
  }

  private init(request: TransportRequest, timeoutMs: number): RequestInit {
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    const init: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    };
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(request.json);
    } else if (request.body !== undefined) {
      headers['content-type'] ??= 'application/octet-stream';
      init.body = request.body();
      init.duplex = 'half';
    }
    return init;
  }
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      params.append(name, String(value));
    } else {
      for (const item of value) params.append(name, item);
    }
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** `/a/b` path segments, each encoded (so a `/` inside a key stays inside it). */
export function pathOf(...segments: string[]): string {
  return segments.map((s) => `/${encodeURIComponent(s)}`).join('');
}

/** A `/`-separated artifact path with each segment encoded, the separators kept. */
export function artifactPathOf(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

export async function readJson<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
