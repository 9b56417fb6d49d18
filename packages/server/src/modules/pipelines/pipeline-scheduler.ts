import { randomUUID } from 'node:crypto';
import type { PipelineExecutorName } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { BlobStore } from '../artifacts/index.js';
import { runAsCaller, SYSTEM_CALLER, type Caller } from '../governance/index.js';
import { cacheKeyOf } from './cache-key.js';
import type { CodeTrees } from './code-trees.js';
import { stepRunLabel, type PipelineRunRecord, type StepRunRecord } from './entities.js';
import { foreachItems } from './foreach-items.js';
import type { PipelineStore, StepRunPatch } from './pipelines.store.js';
import { RunState, type StepGroup } from './run-state.js';
import type { StepExecutor, StepListener, StepResult, StepTask } from './step-executor.js';
import { resolveStepInputs, type StepInputs } from './step-inputs.js';
import type { StepTracking } from './step-tracking.js';

export interface PipelineSchedulerDeps {
  /** Bound to the database, not to a transaction: every change is its own write. */
  store: PipelineStore;
  tracking: StepTracking;
  codeTrees: CodeTrees;
  blobs: BlobStore;
  clock: Clock;
  /** How long a run stays leased to this scheduler without a renewal. */
  leaseMs?: number;
  /** How often it looks for runs to take and renews what it holds. */
  pollMs?: number;
  onError: (error: unknown, message: string) => void;
}

/** A ready step whose cache key is known and found no earlier result: it waits for a slot. */
interface Prepared extends StepInputs {
  cacheKey: string;
  reason: string;
}

type ExecutorEvent =
  | { kind: 'started'; task: StepTask; pid: number | null; worker: string }
  | { kind: 'finished'; result: StepResult };

/**
 * Runs pipeline runs to the end. It leases runs from the store (so a second
 * server, or this one after a restart, picks up a run whose scheduler went
 * away), keeps each run's steps in memory, and moves them on as executors
 * report: skip what an upstream failure doomed, reuse what the cache holds,
 * hand the rest to the executor while it has slots, retry with backoff, and
 * end the run. Every change is written to the store before it is acted on,
 * and step results are recorded with a compare-and-set on the attempt, so a
 * late or repeated report is never recorded twice.
 */
export class PipelineScheduler {
  readonly owner = `scheduler:${randomUUID()}`;
  private readonly executors = new Map<PipelineExecutorName, StepExecutor>();
  private readonly active = new Map<string, RunState>();
  private readonly prepared = new Map<string, Prepared>();
  private readonly events: ExecutorEvent[] = [];
  private readonly cancelAsked = new Set<string>();
  private readonly endedListeners = new Set<(run: PipelineRunRecord) => void>();
  private pumping: Promise<void> | undefined;
  private polling: Promise<void> | undefined;
  private readonly background = new Set<Promise<void>>();
  private again = false;
  private poller: NodeJS.Timeout | undefined;
  private wakeTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  private stopping = false;

  readonly listener: StepListener = {
    started: (task, info) => this.push({ kind: 'started', task, pid: info.pid, worker: info.worker }),
    finished: (result) => this.push({ kind: 'finished', result }),
  };

  constructor(private readonly deps: PipelineSchedulerDeps) {}

  private get leaseMs(): number {
    return this.deps.leaseMs ?? 15_000;
  }

  useExecutor(executor: StepExecutor): void {
    this.executors.set(executor.name, executor);
  }

  hasExecutor(name: PipelineExecutorName): boolean {
    return this.executors.has(name);
  }

  /** Heard once for every run this scheduler ends. */
  onRunEnded(listener: (run: PipelineRunRecord) => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  start(): void {
    const poll = (): void => {
      void this.poll().finally(() => {
        if (!this.stopping) this.poller = setTimeout(poll, this.deps.pollMs ?? 1000);
      });
    };
    poll();
  }

  /** Looks for new work now (a run was started or changed by this server). */
  wake(): void {
    void this.poll();
  }

  /**
   * Stops taking work and gives its runs up. Steps still running locally are stopped by the
   * executor's close; their rows stay as they are, so whoever takes the run next runs them again.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.poller);
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer.timer);
    // A poll in flight could take a run after the release below: let it land first.
    await this.polling;
    await this.pumping;
    await Promise.allSettled([...this.background]);
    const held = [...this.active.keys()];
    this.active.clear();
    if (held.length > 0) await this.deps.store.releaseRuns(this.owner, held).catch(() => undefined);
  }

  private push(event: ExecutorEvent): void {
    if (this.stopping) return;
    this.events.push(event);
    this.pump();
  }

  /** One poll at a time; a wake during a poll is served by the next one. */
  private poll(): Promise<void> {
    if (this.polling === undefined) {
      this.polling = this.pollOnce().finally(() => {
        this.polling = undefined;
      });
    }
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (this.stopping) return;
    try {
      const now = this.deps.clock.now();
      const held = [...this.active.keys()];
      if (held.length > 0) {
        const kept = new Set(
          await this.deps.store.renewRuns({
            owner: this.owner,
            pipelineRunIds: held,
            leaseUntil: now + this.leaseMs,
          }),
        );
        for (const id of held) if (!kept.has(id)) this.active.delete(id);
        for (const state of this.active.values()) await this.refreshStatus(state);
      }
      const taken = await this.deps.store.claimRuns({
        owner: this.owner,
        now,
        leaseUntil: now + this.leaseMs,
        limit: 100,
      });
      for (const id of taken) if (!this.active.has(id)) await this.adopt(id);
    } catch (error) {
      this.deps.onError(error, 'pipeline scheduler poll failed');
    }
    this.pump();
  }

  /** Someone (a cancel on any server) may have moved the run's status. */
  private async refreshStatus(state: RunState): Promise<void> {
    const fresh = await this.deps.store.getRun(state.record.pipelineRunId);
    if (fresh !== undefined && fresh.status !== state.record.status) state.record.status = fresh.status;
  }

  /** Takes a run over: loads its steps and settles attempts its previous scheduler left behind. */
  private async adopt(pipelineRunId: string): Promise<void> {
    const run = await this.deps.store.getRun(pipelineRunId);
    if (run === undefined) return;
    const state = new RunState(run, await this.deps.store.listSteps(pipelineRunId));
    this.active.set(pipelineRunId, state);
    for (const id of [...state.inFlight]) {
      const row = state.row(id) as StepRunRecord;
      const executor = this.executors.get(run.executor);
      if (executor !== undefined && row.leaseOwner === executor.worker) continue;
      if ((await executor?.recover?.({ stepRunId: row.stepRunId, attempt: row.attempt })) === true) continue;
      await this.requeueOrphan(state, row, executor);
    }
  }

  private async requeueOrphan(
    state: RunState,
    row: StepRunRecord,
    executor: StepExecutor | undefined,
  ): Promise<void> {
    await executor?.abandon({ stepRunId: row.stepRunId, pid: row.pid, worker: row.leaseOwner });
    const patch: StepRunPatch = {
      status: 'pending',
      attempt: row.attempt - 1,
      reason: 'running again: the server running it stopped before it finished',
      pid: null,
      leaseOwner: null,
    };
    if (
      await this.deps.store.updateStep(row.stepRunId, patch, { status: [row.status], attempt: row.attempt })
    ) {
      state.patch(row.stepRunId, patch);
      if (row.runId !== null)
        await this.asCaller(state, () => this.deps.tracking.endRun(row.runId as string, 'cancelled'));
    }
  }

  private pump(): void {
    if (this.stopping) return;
    if (this.pumping !== undefined) {
      this.again = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.again = false;
        try {
          await this.drainEvents();
          for (const state of [...this.active.values()]) await this.advance(state);
        } catch (error) {
          this.deps.onError(error, 'pipeline scheduler step failed');
        }
      } while (this.again && !this.stopping);
    })().finally(() => {
      this.pumping = undefined;
    });
  }

  private async drainEvents(): Promise<void> {
    for (let event = this.events.shift(); event !== undefined; event = this.events.shift()) {
      const state = this.active.get(
        event.kind === 'started' ? event.task.pipelineRunId : this.runOf(event.result),
      );
      try {
        if (event.kind === 'started') await this.recordStarted(state, event);
        else await this.recordFinished(state, event.result);
      } catch (error) {
        this.deps.onError(error, 'recording a pipeline step failed');
      }
    }
  }

  private runOf(result: StepResult): string {
    for (const state of this.active.values())
      if (state.row(result.stepRunId) !== undefined) return state.record.pipelineRunId;
    return '';
  }

  private async recordStarted(
    state: RunState | undefined,
    event: Extract<ExecutorEvent, { kind: 'started' }>,
  ): Promise<void> {
    const patch: StepRunPatch = { status: 'running', pid: event.pid, leaseOwner: event.worker };
    const moved = await this.deps.store.updateStep(event.task.stepRunId, patch, {
      status: ['queued'],
      attempt: event.task.attempt,
    });
    if (moved) state?.patch(event.task.stepRunId, patch);
  }

  private async recordFinished(state: RunState | undefined, result: StepResult): Promise<void> {
    const row = state?.row(result.stepRunId) ?? (await this.deps.store.getStep(result.stepRunId));
    if (row === undefined || row.attempt !== result.attempt) return;
    const run = state?.record ?? (await this.deps.store.getRun(row.pipelineRunId));
    if (run === undefined) return;
    const step = run.spec.steps.find((s) => s.name === row.stepName);
    const now = this.deps.clock.now();
    const failure = result.outcome === 'succeeded' ? null : (result.error ?? `ended: ${result.outcome}`);
    const retriesLeft = step !== undefined && result.attempt <= step.retry.count;
    // Our own failures (not the step's) get two tries beyond the step's retries.
    const ourRetriesLeft = !result.userFault && step !== undefined && result.attempt <= step.retry.count + 2;
    const retry =
      failure !== null &&
      result.outcome !== 'cancelled' &&
      run.status === 'running' &&
      (retriesLeft || ourRetriesLeft);
    const patch: StepRunPatch = {
      exitCode: result.exitCode,
      error: failure,
      stderrTail: failure === null ? null : result.stderrTail,
      pid: null,
      leaseOwner: null,
    };
    if (result.outcome === 'succeeded')
      Object.assign(patch, { status: 'succeeded', outputs: result.outputs, endedAt: now });
    else if (retry) {
      const backoff = (step?.retry.backoffMs ?? 1000) * 2 ** Math.max(0, result.attempt - 1);
      Object.assign(patch, {
        status: 'pending',
        notBefore: now + backoff,
        reason: `retrying after attempt ${result.attempt}: ${failure}`,
      });
    } else {
      Object.assign(patch, { status: result.outcome === 'cancelled' ? 'cancelled' : 'failed', endedAt: now });
    }
    const recorded = await this.deps.store.updateStep(row.stepRunId, patch, {
      status: ['queued', 'running'],
      attempt: result.attempt,
    });
    if (!recorded) return;
    state?.patch(row.stepRunId, patch);
    if (row.runId !== null) {
      const runId = row.runId;
      // Written beside the next steps, not before them; the run ends only once it is done.
      const logging = this.asCallerOf(run, () => this.deps.tracking.finishAttempt(runId, result));
      this.inBackground(state, logging, `logging step ${stepRunLabel(row)}'s run failed`);
      if (state === undefined) await logging.catch(() => undefined);
    }
  }

  /** Follows tracking writes that need not hold the scheduler up; a run ends only after its own. */
  private inBackground(state: RunState | undefined, work: Promise<void>, failure: string): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => this.deps.onError(error, failure))
      .finally(() => {
        state?.background.delete(tracked);
        this.background.delete(tracked);
        if (state !== undefined && state.background.size === 0 && state.finished) this.pump();
      });
    state?.background.add(tracked);
    this.background.add(tracked);
  }

  private async advance(state: RunState): Promise<void> {
    const run = state.record;
    if (run.status === 'cancelling') return this.advanceCancel(state);
    if (run.status !== 'running') {
      this.active.delete(run.pipelineRunId);
      return;
    }
    const now = this.deps.clock.now();
    const plan = state.plan(now);
    for (const { row, reason } of plan.skip) {
      await this.setStep(state, {
        row,
        patch: { status: 'skipped', reason, endedAt: now },
        expect: ['pending'],
      });
    }
    for (const group of plan.expand) await this.expand(state, group);
    if (plan.expand.length > 0) this.again = true;
    for (const { group, row } of plan.ready) {
      const prepared = await this.prepare(state, group, row);
      if (prepared === undefined || row.status !== 'pending') continue;
      if (!this.hasSlot(state)) break;
      await this.startAttempt(state, { group, row, prepared });
    }
    if (plan.nextWakeAt !== null) this.wakeAt(plan.nextWakeAt);
    if (state.finished && state.background.size === 0) await this.endRun(state);
  }

  private hasSlot(state: RunState): boolean {
    const executor = this.executors.get(state.record.executor);
    if (executor === undefined) return false;
    let inFlight = 0;
    for (const other of this.active.values())
      if (other.record.executor === executor.name) inFlight += other.inFlight.size;
    const limit = state.record.spec.concurrency;
    return inFlight < executor.slots && (limit === null || state.inFlight.size < limit);
  }

  /** Works out the step's inputs and cache key once; a cache hit ends the step here. */
  private async prepare(
    state: RunState,
    group: StepGroup,
    row: StepRunRecord,
  ): Promise<Prepared | undefined> {
    const known = this.prepared.get(row.stepRunId);
    if (known !== undefined) return known;
    const run = state.record;
    const step = group.spec;
    const resolved = resolveStepInputs(run, step, state.groups);
    const item = row.itemIndex < 0 ? null : { index: row.itemIndex, value: row.item };
    const codeDigest = await this.deps.codeTrees.stepCodeDigest(run.codeDigest, step);
    const cacheKey = cacheKeyOf({ step, codeDigest, inputs: resolved.inputs, params: resolved.params, item });
    let reason: string;
    if (!run.useCache) reason = 'ran: the run was started with --no-cache';
    else if (!step.cache) reason = 'ran: caching is off for this step';
    else {
      const hit = await this.deps.store.findCached({ projectId: run.projectId, cacheKey });
      if (hit !== undefined) {
        await this.setStep(state, {
          row,
          patch: {
            status: 'cached',
            cacheKey,
            cachedFrom: hit.stepRunId,
            runId: hit.runId,
            outputs: hit.outputs,
            reason: `reused step run ${hit.stepRunId} (pipeline run ${hit.pipelineRunId}): same code, inputs, parameters and environment`,
            startedAt: this.deps.clock.now(),
            endedAt: this.deps.clock.now(),
          },
          expect: ['pending'],
        });
        // Steps after it may be ready now: look again at once, not at the next poll.
        this.again = true;
        return undefined;
      }
      reason =
        row.attempt === 0
          ? 'ran: no earlier successful run with the same code, inputs, parameters and environment'
          : (row.reason ?? 'ran again');
    }
    const prepared = { ...resolved, cacheKey, reason: row.attempt === 0 ? reason : (row.reason ?? reason) };
    this.prepared.set(row.stepRunId, prepared);
    return prepared;
  }

  private async startAttempt(
    state: RunState,
    ready: { group: StepGroup; row: StepRunRecord; prepared: Prepared },
  ): Promise<void> {
    const { group, row, prepared } = ready;
    const run = state.record;
    const executor = this.executors.get(run.executor) as StepExecutor;
    const attempt = row.attempt + 1;
    const label = stepRunLabel(row);
    const { runId, settled } = await this.asCallerOf(run, () =>
      this.deps.tracking.startAttempt({
        experimentId: run.experimentId,
        pipelineName: run.pipelineName,
        pipelineRunId: run.pipelineRunId,
        stepName: row.stepName,
        itemIndex: row.itemIndex,
        label,
        attempt,
        cacheKey: prepared.cacheKey,
        params: prepared.params,
        sources: prepared.sources,
      }),
    );
    this.inBackground(state, settled, `describing step ${label}'s run failed`);
    const now = this.deps.clock.now();
    const moved = await this.setStep(state, {
      row,
      patch: {
        status: 'queued',
        attempt,
        runId,
        cacheKey: prepared.cacheKey,
        reason: prepared.reason,
        notBefore: null,
        startedAt: row.startedAt ?? now,
        leaseOwner: executor.worker,
      },
      expect: ['pending'],
    });
    this.prepared.delete(row.stepRunId);
    if (!moved) {
      await this.asCallerOf(run, () => this.deps.tracking.endRun(runId, 'cancelled'));
      return;
    }
    const spec = group.spec;
    executor.submit({
      stepRunId: row.stepRunId,
      pipelineRunId: run.pipelineRunId,
      label,
      attempt,
      run: spec.run,
      inputs: prepared.inputs,
      outputs: spec.outputs,
      params: prepared.params,
      item: row.itemIndex < 0 ? null : { index: row.itemIndex, value: row.item },
      env: spec.env,
      codeDigest: run.codeDigest,
      timeoutMs: spec.timeoutMs,
      resources: spec.resources,
      runId,
    });
  }

  /** Replaces a `foreach` step's placeholder by one row per item (or ends it when the list is empty). */
  private async expand(state: RunState, group: StepGroup): Promise<void> {
    const placeholder = group.rows[0] as StepRunRecord;
    const now = this.deps.clock.now();
    let items;
    try {
      items = await foreachItems({
        run: state.record,
        step: group.spec,
        groups: state.groups,
        blobs: this.deps.blobs,
      });
    } catch (error) {
      await this.setStep(state, {
        row: placeholder,
        patch: {
          status: 'failed',
          error: `could not read the foreach list: ${(error as Error).message}`,
          endedAt: now,
        },
        expect: ['pending'],
      });
      return;
    }
    if (items.length === 0) {
      await this.setStep(state, {
        row: placeholder,
        patch: { status: 'succeeded', reason: 'the foreach list is empty', endedAt: now },
        expect: ['pending'],
      });
      return;
    }
    const rows = items.map((item, index): StepRunRecord => ({
      ...placeholder,
      stepRunId: `${placeholder.stepRunId}-${index}`,
      itemIndex: index,
      item,
      createdAt: now,
    }));
    await this.deps.store.deleteItems(state.record.pipelineRunId, group.spec.name);
    await this.deps.store.insertSteps(rows);
    state.replaceRows(group.spec.name, rows);
  }

  private async advanceCancel(state: RunState): Promise<void> {
    const now = this.deps.clock.now();
    const executor = this.executors.get(state.record.executor);
    for (const row of state.allRows) {
      if (row.status === 'pending') {
        await this.setStep(state, {
          row,
          patch: { status: 'cancelled', reason: 'the run was cancelled', endedAt: now },
          expect: ['pending'],
        });
      } else if (state.inFlight.has(row.stepRunId) && !this.cancelAsked.has(row.stepRunId)) {
        this.cancelAsked.add(row.stepRunId);
        if (executor?.cancel(row.stepRunId) !== true) {
          await this.setStep(state, {
            row,
            patch: { status: 'cancelled', reason: 'the run was cancelled', endedAt: now },
            expect: [row.status],
          });
        }
      }
    }
    if (state.inFlight.size === 0) await this.endRun(state);
  }

  private async endRun(state: RunState): Promise<void> {
    const run = state.record;
    const failure = state.firstFailure;
    const status = run.status === 'cancelling' ? 'cancelled' : state.succeeded ? 'succeeded' : 'failed';
    const error =
      status === 'failed' && failure !== undefined
        ? `step ${stepRunLabel(failure)} failed: ${failure.error ?? 'unknown error'}`
        : status === 'failed'
          ? 'a step did not finish'
          : null;
    const patch = { status, error, endedAt: this.deps.clock.now(), owner: null, leaseUntil: null } as const;
    const ended = await this.deps.store.updateRun(run.pipelineRunId, patch, ['running', 'cancelling']);
    this.active.delete(run.pipelineRunId);
    for (const row of state.allRows) {
      this.cancelAsked.delete(row.stepRunId);
      this.prepared.delete(row.stepRunId);
    }
    if (!ended) return;
    Object.assign(run, patch);
    for (const listener of this.endedListeners) listener(run);
  }

  private async setStep(
    state: RunState,
    change: { row: StepRunRecord; patch: StepRunPatch; expect: StepRunRecord['status'][] },
  ): Promise<boolean> {
    const { row, patch, expect } = change;
    const moved = await this.deps.store.updateStep(row.stepRunId, patch, {
      status: expect,
      attempt: row.attempt,
    });
    if (moved) state.patch(row.stepRunId, patch);
    return moved;
  }

  private wakeAt(at: number): void {
    if (this.wakeTimer !== undefined && this.wakeTimer.at <= at) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer.timer);
    const timer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.pump();
      },
      Math.max(0, at - this.deps.clock.now()),
    );
    timer.unref();
    this.wakeTimer = { at, timer };
  }

  private asCallerOf<T>(run: PipelineRunRecord, work: () => Promise<T>): Promise<T> {
    const caller: Caller = { ...SYSTEM_CALLER, actor: run.createdBy };
    return runAsCaller(caller, work);
  }

  private asCaller<T>(state: RunState, work: () => Promise<T>): Promise<T> {
    return this.asCallerOf(state.record, work);
  }
}
