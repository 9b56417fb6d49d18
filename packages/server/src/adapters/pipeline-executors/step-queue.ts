import type { RedisOptions } from 'ioredis';

/** The BullMQ queue pipeline steps travel on; `cairn worker`s take them from it. */
export const STEP_QUEUE = 'cairn-steps';

/** One job per attempt: a second submit of the same attempt is a no-op in BullMQ. */
export function stepJobId(stepRunId: string, attempt: number): string {
  return `${stepRunId}.a${attempt}`;
}

/** The channel a server asks workers on to stop an attempt they are running. */
export function cancelChannel(prefix: string): string {
  return `${prefix}:${STEP_QUEUE}:cancel`;
}

/** What a worker reports when it takes a job (as the job's progress). */
export interface TakenBy {
  worker: string;
  pid: number | null;
}

/** BullMQ connection options from a redis:// URL; retries forever, so a Redis restart is ridden out. */
export function redisConnection(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's blocking connections need this; commands wait for a reconnect instead of failing.
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}
