import type { Clock } from '../../kernel/clock.js';

export interface LoginThrottleOptions {
  clock: Clock;
  /** Failures within `windowMs` that start a block. */
  maxFailures?: number;
  windowMs?: number;
  /** The first block; each further one doubles, up to `maxBlockMs`. */
  firstBlockMs?: number;
  maxBlockMs?: number;
  /** Addresses remembered at most; the least recently failing are forgotten first. */
  maxEntries?: number;
}

interface Entry {
  /** Times of failures still inside the window, oldest first. */
  failures: number[];
  blockedUntil: number;
  blocks: number;
}

const MINUTE = 60_000;

/**
 * Slows down guessing: after `maxFailures` failed logins from one address in
 * `windowMs`, that address is refused outright for a while. A failure soon
 * after a block (within `windowMs` of its end) blocks again at once, twice as
 * long (up to `maxBlockMs`). A success forgets the address.
 * In memory per process: each replica counts on its own, which bounds an
 * attacker to N replicas × the allowance, and restarts forget.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly firstBlockMs: number;
  private readonly maxBlockMs: number;
  private readonly maxEntries: number;

  constructor(options: LoginThrottleOptions) {
    this.clock = options.clock;
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 10 * MINUTE;
    this.firstBlockMs = options.firstBlockMs ?? MINUTE;
    this.maxBlockMs = options.maxBlockMs ?? 15 * MINUTE;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Milliseconds until `address` may try again, or 0 when it may try now. */
  retryAfterMs(address: string): number {
    const entry = this.entries.get(address);
    if (entry === undefined) return 0;
    return Math.max(0, entry.blockedUntil - this.clock.now());
  }

  /** Counts a failure; returns how long the address is now blocked (0 when it is not). */
  recordFailure(address: string): number {
    const now = this.clock.now();
    const entry = this.entries.get(address) ?? { failures: [], blockedUntil: 0, blocks: 0 };
    // A whole window of quiet after its last block: the address starts again from the first block length.
    if (this.isCold(entry, now)) {
      entry.blocks = 0;
      entry.failures = [];
    }
    if (entry.blocks > 0) {
      // Failing again soon after a block ended: blocked again at once, twice as long.
      this.block(entry, now);
    } else {
      entry.failures.push(now);
      if (entry.failures.length >= this.maxFailures) {
        entry.failures = [];
        this.block(entry, now);
      }
    }
    // Re-inserting moves the address to the end, so eviction takes the least recently failing.
    this.entries.delete(address);
    this.entries.set(address, entry);
    this.evict(now);
    return Math.max(0, entry.blockedUntil - now);
  }

  recordSuccess(address: string): void {
    this.entries.delete(address);
  }

  get size(): number {
    return this.entries.size;
  }

  private block(entry: Entry, now: number): void {
    entry.blocks += 1;
    entry.blockedUntil = now + Math.min(this.maxBlockMs, this.firstBlockMs * 2 ** (entry.blocks - 1));
  }

  /** Nothing worth remembering: no failure inside the window, and no block that ended inside it. */
  private isCold(entry: Entry, now: number): boolean {
    const since = now - this.windowMs;
    let drop = 0;
    while (drop < entry.failures.length && (entry.failures[drop] as number) <= since) drop += 1;
    if (drop > 0) entry.failures.splice(0, drop);
    return entry.failures.length === 0 && entry.blockedUntil <= since;
  }

  private evict(now: number): void {
    if (this.entries.size <= this.maxEntries) return;
    for (const [address, entry] of this.entries) {
      if (this.isCold(entry, now)) this.entries.delete(address);
    }
    // Still full of live entries (many addresses failing at once): forget the least recent ones.
    for (const address of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(address);
    }
  }
}
