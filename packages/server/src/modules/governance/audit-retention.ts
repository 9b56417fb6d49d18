import type { AuditPruneResult } from '@cairn/contract';
import type { AuditService } from './audit.service.js';
import { runAsCaller, SYSTEM_CALLER } from './caller.js';

export interface RetentionOptions {
  audit: Pick<AuditService, 'prune'>;
  retentionDays: number;
  /** Hourly by default. */
  intervalMs?: number;
  /** The first run, shortly after start so it does not slow start-up. */
  firstRunMs?: number;
  onPruned?: (result: AuditPruneResult) => void;
  onError: (error: unknown) => void;
}

export interface RetentionTimer {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Deletes audit events older than the configured retention on a timer, as
 * the server itself. The timer never keeps the process alive, and a run
 * never overlaps the next.
 */
export function startRetention(options: RetentionOptions): RetentionTimer {
  const intervalMs = options.intervalMs ?? 3_600_000;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const run = async (): Promise<void> => {
    try {
      const result = await runAsCaller(SYSTEM_CALLER, () =>
        options.audit.prune({ olderThanDays: options.retentionDays, scheduled: true }),
      );
      if (result.deleted > 0) options.onPruned?.(result);
    } catch (error) {
      options.onError(error);
    }
  };
  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(() => {
        running = undefined;
        schedule(intervalMs);
      });
    }, delay);
    timer.unref();
  };
  schedule(options.firstRunMs ?? 60_000);

  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
