/**
 * HTTP load for the serving figures: wrk (a C load generator, `apt-get
 * install wrk`) when it is installed, autocannon otherwise. wrk costs the
 * server's two shared cores a fraction of what autocannon in the bench's own
 * process does, and is what an outside reviewer would point at the server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

export interface LoadResult {
  perSecond: number;
  /** Answers other than 2xx. */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadOptions {
  url: string;
  /** A JSON body sent with POST. */
  body: string;
  connections: number;
  seconds: number;
}

export const LOAD_GENERATOR = ((): 'wrk' | 'autocannon' => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { status?: number }).status === 1 ? 'wrk' : 'autocannon';
  }
})();

export async function load(options: LoadOptions): Promise<LoadResult> {
  return LOAD_GENERATOR === 'wrk' ? wrk(options) : viaAutocannon(options);
}

async function viaAutocannon(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    connections: options.connections,
    duration: options.seconds,
    headers: { 'content-type': 'application/json' },
    body: options.body,
  });
  return {
    perSecond: result.requests.average,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

async function wrk(options: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-wrk-'));
  const script = path.join(dir, 'post.lua');
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.body = ${JSON.stringify(options.body)}`,
    ].join('\n'),
  );
  try {
    const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '-s', script];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', [...args, options.url], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}`))));
    });
    return parseWrk(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkDuration(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  return match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2]!]!;
}

function parseWrk(output: string): LoadResult {
  const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const p50Ms = wrkDuration(/^\s+50%\s+(\S+)/m.exec(output)?.[1]);
  const p99Ms = wrkDuration(/^\s+99%\s+(\S+)/m.exec(output)?.[1]);
  if (!Number.isFinite(perSecond)) throw new Error(`could not read wrk's output:\n${output}`);
  return { perSecond, non2xx, errors, p50Ms, p99Ms };
}
