import type { MetricPoint } from './entities.js';

export interface MetricWrite {
  runId: string;
  metrics: MetricPoint[];
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
 * hears back only after its points are committed.
 */
export class MetricWriteQueue {
  private pending: Pending[] = [];
  private draining = false;

  constructor(
    private readonly commit: (writes: MetricWrite[]) => Promise<void>,
    private readonly maxPointsPerCommit = 20_000,
  ) {}

  write(runId: string, metrics: MetricPoint[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ runId, metrics, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const group = this.takeGroup();
        try {
          await this.commit(group.map(({ runId, metrics }) => ({ runId, metrics })));
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
