import type { AuditCheckpoint as AuditCheckpointJson, AuditPruneResult } from '@cairn/contract';
import type { AuditService } from './audit.service.js';
import { runAsCaller, SYSTEM_CALLER } from './caller.js';

export interface AuditTimer {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  /** Hourly by default. */
  intervalMs?: number;
  /** The first run, shortly after start so it does not slow start-up. */
  firstRunMs?: number;
  onError: (error: unknown) => void;
}

/**
 * Runs `work` as the server itself on a timer that never keeps the process
 * alive and never lets a run overlap the next.
 */
export function startServerTimer(work: () => Promise<void>, options: ScheduleOptions): AuditTimer {
  const intervalMs = options.intervalMs ?? 3_600_000;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const run = async (): Promise<void> => {
    try {
      await runAsCaller(SYSTEM_CALLER, work);
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

export interface RetentionOptions extends ScheduleOptions {
  audit: Pick<AuditService, 'prune'>;
  retentionDays: number;
  onPruned?: (result: AuditPruneResult) => void;
}

/** Deletes audit events older than the configured retention, hourly. */
export function startRetention(options: RetentionOptions): AuditTimer {
  return startServerTimer(async () => {
    const result = await options.audit.prune({ olderThanDays: options.retentionDays, scheduled: true });
    if (result.deleted > 0) options.onPruned?.(result);
  }, options);
}

export interface CheckpointOptions extends ScheduleOptions {
  audit: Pick<AuditService, 'scheduledCheckpoint'>;
  onSigned?: (checkpoint: AuditCheckpointJson) => void;
}

/**
 * Signs the chain's head hourly when it has moved. Someone who can write the
 * database could otherwise rewrite every hash after the last checkpoint; with
 * one an hour, a forgery can only touch the last hour and is caught by the
 * next signature it fails to match.
 */
export function startCheckpoints(options: CheckpointOptions): AuditTimer {
  return startServerTimer(async () => {
    const checkpoint = await options.audit.scheduledCheckpoint();
    if (checkpoint !== undefined) options.onSigned?.(checkpoint);
  }, options);
}

/** Kept for callers of the first name. */
export type RetentionTimer = AuditTimer;
