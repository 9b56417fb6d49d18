export interface BackoffPolicy {
  /** The wait before the first restart, in milliseconds. */
  initialMs: number;
  /** The longest wait; each restart doubles the last one up to this. */
  maxMs: number;
  /** A process that stayed ready this long counts as healthy: the next wait starts from `initialMs` again. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = {
  initialMs: 100,
  maxMs: 30_000,
  resetAfterMs: 60_000,
};

/** Exponential waits between restarts of a process that keeps failing. */
export class RestartBackoff {
  readonly #policy: BackoffPolicy;
  #attempt = 0;

  constructor(policy: BackoffPolicy) {
    this.#policy = policy;
  }

  /**
   * The wait before the next start. `readyForMs` is how long the process
   * that just ended had been ready (undefined when it never was).
   */
  next(readyForMs: number | undefined): number {
    if (readyForMs !== undefined && readyForMs >= this.#policy.resetAfterMs) this.#attempt = 0;
    const delay = Math.min(this.#policy.initialMs * 2 ** this.#attempt, this.#policy.maxMs);
    this.#attempt = Math.min(this.#attempt + 1, 52);
    return delay;
  }
}
