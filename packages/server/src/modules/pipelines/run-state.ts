import type { StepRunStatus, StepSpec } from '@cairn/contract';
import {
  DONE_STEP_STATUSES,
  FINISHED_STEP_STATUSES,
  stepRunLabel,
  type PipelineRunRecord,
  type StepRunRecord,
} from './entities.js';

const BROKEN: ReadonlySet<StepRunStatus> = new Set(['failed', 'skipped', 'cancelled']);
const IN_FLIGHT: ReadonlySet<StepRunStatus> = new Set(['queued', 'running']);

/** A step's rows: one, or one per `foreach` item (a single placeholder row until the list is known). */
export class StepGroup {
  readonly rows: StepRunRecord[] = [];

  constructor(readonly spec: StepSpec) {}

  /** A `foreach` step whose items are not yet known: only its placeholder row exists, still pending. */
  get unexpanded(): boolean {
    const only = this.rows[0];
    return (
      this.spec.foreach !== null &&
      this.rows.length === 1 &&
      only?.itemIndex === -1 &&
      only.status === 'pending'
    );
  }

  get done(): boolean {
    return !this.unexpanded && this.rows.every((row) => DONE_STEP_STATUSES.has(row.status));
  }

  get broken(): StepRunRecord | undefined {
    return this.rows.find((row) => BROKEN.has(row.status));
  }

  /** The rows whose outputs downstream steps see: the items, in order (the placeholder of an empty list has none). */
  get itemRows(): StepRunRecord[] {
    return this.spec.foreach === null ? this.rows : this.rows.filter((row) => row.itemIndex >= 0);
  }
}

/**
 * What the scheduler knows of one pipeline run, kept in memory while it holds
 * the run and written through to the store on every change. Pure: no I/O.
 */
export class RunState {
  readonly groups = new Map<string, StepGroup>();
  private readonly byId = new Map<string, StepRunRecord>();
  /** Attempts handed to the executor and not yet heard back from. */
  readonly inFlight = new Set<string>();
  /** Tracking writes still under way (parameters, logs, final statuses): the run ends after them. */
  readonly background = new Set<Promise<void>>();

  constructor(
    public record: PipelineRunRecord,
    rows: readonly StepRunRecord[],
  ) {
    for (const spec of record.spec.steps) this.groups.set(spec.name, new StepGroup(spec));
    this.addAll(rows);
    for (const row of rows) if (IN_FLIGHT.has(row.status)) this.inFlight.add(row.stepRunId);
  }

  add(row: StepRunRecord): void {
    this.addAll([row]);
  }

  /** Adds rows, keeping each step's rows in item order (sorted once per call, not per row). */
  addAll(rows: readonly StepRunRecord[]): void {
    const touched = new Set<StepGroup>();
    for (const row of rows) {
      const group = this.groups.get(row.stepName);
      if (group === undefined) continue;
      group.rows.push(row);
      touched.add(group);
      this.byId.set(row.stepRunId, row);
    }
    for (const group of touched) group.rows.sort((a, b) => a.itemIndex - b.itemIndex);
  }

  /** Replaces a step's rows (a `foreach` placeholder by its items). */
  replaceRows(stepName: string, rows: readonly StepRunRecord[]): void {
    const group = this.groups.get(stepName);
    if (group === undefined) return;
    for (const old of group.rows) this.byId.delete(old.stepRunId);
    group.rows.length = 0;
    this.addAll(rows);
  }

  row(stepRunId: string): StepRunRecord | undefined {
    return this.byId.get(stepRunId);
  }

  /** Applies a change already written to the store. */
  patch(stepRunId: string, patch: Partial<StepRunRecord>): StepRunRecord | undefined {
    const row = this.byId.get(stepRunId);
    if (row === undefined) return undefined;
    Object.assign(row, patch);
    if (IN_FLIGHT.has(row.status)) this.inFlight.add(stepRunId);
    else this.inFlight.delete(stepRunId);
    return row;
  }

  get allRows(): StepRunRecord[] {
    return [...this.groups.values()].flatMap((group) => group.rows);
  }

  get finished(): boolean {
    // Called on every pass of the scheduler: no copies of a fan-out's rows.
    if (this.inFlight.size > 0) return false;
    for (const group of this.groups.values()) {
      for (const row of group.rows) if (!FINISHED_STEP_STATUSES.has(row.status)) return false;
    }
    return true;
  }

  get succeeded(): boolean {
    return [...this.groups.values()].every((group) => group.done);
  }

  /** The first step that failed, for the run's error message. */
  get firstFailure(): StepRunRecord | undefined {
    for (const group of this.groups.values()) {
      for (const row of group.rows) if (row.status === 'failed') return row;
    }
    return undefined;
  }

  /**
   * What can move now, in pipeline order: rows to skip (an upstream step
   * broke), `foreach` steps whose lists can be read, and rows ready to run
   * (their `notBefore` passed).
   */
  plan(now: number): RunPlan {
    const plan: RunPlan = { skip: [], expand: [], ready: [], nextWakeAt: null };
    for (const group of this.groups.values()) {
      const pending = group.rows.filter((row) => row.status === 'pending');
      if (pending.length === 0) continue;
      const upstream = group.spec.after.map((name) => this.groups.get(name) as StepGroup);
      const brokenUpstream = upstream.find((dep) => dep.broken !== undefined);
      if (brokenUpstream !== undefined) {
        const cause = brokenUpstream.broken as StepRunRecord;
        const reason = `not run: upstream step ${stepRunLabel(cause)} ${cause.status === 'failed' ? 'failed' : `was ${cause.status}`}`;
        for (const row of pending) plan.skip.push({ row, reason });
        continue;
      }
      if (!upstream.every((dep) => dep.done)) continue;
      if (group.unexpanded) {
        plan.expand.push(group);
        continue;
      }
      for (const row of pending) {
        if (row.notBefore !== null && row.notBefore > now) {
          plan.nextWakeAt = Math.min(plan.nextWakeAt ?? Infinity, row.notBefore);
          continue;
        }
        plan.ready.push({ group, row });
      }
    }
    return plan;
  }
}

export interface RunPlan {
  skip: Array<{ row: StepRunRecord; reason: string }>;
  expand: StepGroup[];
  ready: Array<{ group: StepGroup; row: StepRunRecord }>;
  /** The earliest retry waiting on its backoff, so the scheduler can wake for it. */
  nextWakeAt: number | null;
}
