import type { AuditDraft } from '../governance/index.js';
import type { MetricPoint } from './entities.js';

export interface MetricWrite {
  runId: string;
  metrics: MetricPoint[];
  /**
   * The call's audit event, stamped with its caller and time when the call
   * arrived: the group commits later, in whichever caller's async context
   * happened to start the drain.
   */
  audit?: AuditDraft | undefined;
}

interface Pending extends MetricWrite {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for metric-only writes. A lone call is written at once; calls
 * that arrive while a write is in flight wait for it and then go together in
 * the next transaction. Eight clients calling `log-metric` thus cost one
 * transaction per round instead of eight — on PostgreSQL, where every
 * statement is a round trip, that is most of the cost. Each caller still
 * hears back only after its points are committed, with its own audit event
 * in the same transaction.
 */
export class MetricWriteQueue {
  private pending: Pending[] = [];
  private draining = false;

  constructor(
    private readonly commit: (writes: MetricWrite[]) => Promise<void>,
    private readonly maxPointsPerCommit = 20_000,
  ) {}

  write(runId: string, metrics: MetricPoint[], audit?: AuditDraft): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ runId, metrics, audit, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const group = this.takeGroup();
        try {
          await this.commit(group.map(({ runId, metrics, audit }) => ({ runId, metrics, audit })));
          for (const item of group) item.resolve();
        } catch (error) {
          for (const item of group) item.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private takeGroup(): Pending[] {
    let points = 0;
    let count = 0;
    while (count < this.pending.length) {
      const size = (this.pending[count] as Pending).metrics.length;
      if (count > 0 && points + size > this.maxPointsPerCommit) break;
      points += size;
      count++;
    }
    return this.pending.splice(0, count);
  }
}
