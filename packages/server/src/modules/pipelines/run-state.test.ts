import { validatePipelineDefinition, type PipelineSpec } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import type { PipelineRunRecord, StepRunRecord } from './entities.js';
import { newStepRow } from './pipeline-runs.service.js';
import { RunState } from './run-state.js';

function specOf(definition: unknown): PipelineSpec {
  const checked = validatePipelineDefinition(definition);
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

function stateOf(definition: unknown): RunState {
  const spec = specOf(definition);
  const run = { pipelineRunId: 'pr_test0001', spec, createdAt: 0 } as PipelineRunRecord;
  return new RunState(
    run,
    spec.steps.map((step, i) => newStepRow(run, step.name, i)),
  );
}

const chain = {
  name: 'chain',
  steps: {
    a: { run: 'x > {{outputs.o}}', outputs: ['o'] },
    b: { run: 'y {{inputs.i}} > {{outputs.o}}', inputs: { i: 'steps.a.outputs.o' }, outputs: ['o'] },
    c: { run: 'z {{inputs.i}}', inputs: { i: 'steps.b.outputs.o' } },
    free: { run: 'w' },
  },
};

const names = (rows: Array<{ row: StepRunRecord }>) => rows.map(({ row }) => row.stepName);

describe('RunState: what the scheduler may move next', () => {
  it('readies steps whose upstream steps are done, and nothing else', () => {
    const state = stateOf(chain);
    expect(names(state.plan(0).ready)).toEqual(['a', 'free']);
    const a = state.allRows.find((r) => r.stepName === 'a') as StepRunRecord;
    state.patch(a.stepRunId, { status: 'running' });
    expect(state.inFlight.has(a.stepRunId)).toBe(true);
    expect(names(state.plan(0).ready)).toEqual(['free']);
    state.patch(a.stepRunId, { status: 'cached' });
    expect(names(state.plan(0).ready)).toEqual(['b', 'free']);
    expect(state.finished).toBe(false);
  });

  it('skips everything downstream of a failure, naming the step, and leaves independent steps alone', () => {
    const state = stateOf(chain);
    const a = state.allRows.find((r) => r.stepName === 'a') as StepRunRecord;
    state.patch(a.stepRunId, { status: 'failed' });
    const plan = state.plan(0);
    expect(plan.skip.map(({ row, reason }) => [row.stepName, reason])).toEqual([
      ['b', 'not run: upstream step a failed'],
    ]);
    expect(names(plan.ready)).toEqual(['free']);
    expect(state.firstFailure?.stepName).toBe('a');
  });

  it('holds a retry until its backoff has passed and says when to wake', () => {
    const state = stateOf(chain);
    const a = state.allRows.find((r) => r.stepName === 'a') as StepRunRecord;
    state.patch(a.stepRunId, { notBefore: 5_000, attempt: 1 });
    const early = state.plan(1_000);
    expect(names(early.ready)).toEqual(['free']);
    expect(early.nextWakeAt).toBe(5_000);
    expect(names(state.plan(5_000).ready)).toEqual(['a', 'free']);
  });

  it('expands a foreach step once its list can be read, and counts it done when every item is', () => {
    const state = stateOf({
      name: 'fan',
      params: { xs: [1, 2, 3] },
      steps: {
        each: { run: 'e {{item}} > {{outputs.o}}', foreach: 'params.xs', outputs: ['o'] },
        join: { run: 'j {{inputs.all}}', inputs: { all: 'steps.each.outputs.o' } },
      },
    });
    const plan = state.plan(0);
    expect(plan.expand.map((g) => g.spec.name)).toEqual(['each']);
    expect(plan.ready).toEqual([]);
    const placeholder = state.groups.get('each')?.rows[0] as StepRunRecord;
    const items = [2, 0, 1].map((index) => ({
      ...placeholder,
      stepRunId: `${placeholder.stepRunId}-${index}`,
      itemIndex: index,
      item: index + 1,
    }));
    state.replaceRows('each', items);
    expect(state.groups.get('each')?.rows.map((r) => r.itemIndex)).toEqual([0, 1, 2]);
    expect(state.plan(0).ready.map(({ row }) => row.itemIndex)).toEqual([0, 1, 2]);
    for (const row of items) state.patch(row.stepRunId, { status: 'succeeded' });
    expect(names(state.plan(0).ready)).toEqual(['join']);
  });

  it('is finished only when every row has ended', () => {
    const state = stateOf({ name: 'one', steps: { a: { run: 'x' } } });
    const [a] = state.allRows as [StepRunRecord];
    expect(state.finished).toBe(false);
    state.patch(a.stepRunId, { status: 'queued' });
    expect(state.finished).toBe(false);
    state.patch(a.stepRunId, { status: 'succeeded' });
    expect(state.finished).toBe(true);
    expect(state.succeeded).toBe(true);
  });
});
