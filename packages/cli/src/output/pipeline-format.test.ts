import { describe, expect, it } from 'vitest';
import type { PipelineRunDetailJson, StepRunJson, StepRunStatus } from '@cairn/contract';
import {
  changeLines,
  failureReport,
  fitLines,
  foreachSummary,
  groupStatus,
  groupStepRuns,
  resultLine,
  runDetailText,
  runSummaryJson,
  runsTable,
  stepLines,
  stepsTable,
  type StepLine,
} from './pipeline-format.js';

function stepRun(name: string, status: StepRunStatus, fields: Partial<StepRunJson> = {}): StepRunJson {
  const index = /\[(\d+)\]$/.exec(name)?.[1];
  const started = status === 'pending' || status === 'queued' || status === 'skipped';
  return {
    id: `sr_${name}`,
    name,
    step: name.replace(/\[\d+\]$/, ''),
    index: index === undefined ? null : Number(index),
    item: null,
    status,
    cached: status === 'cached',
    reason: null,
    attempt: started ? 0 : 1,
    cacheKey: null,
    cachedFrom: null,
    runId: null,
    outputs: {},
    exitCode: status === 'failed' ? 2 : status === 'succeeded' ? 0 : null,
    error: status === 'failed' ? 'exited with code 2' : null,
    stderrTail: null,
    startedAt: started ? null : 1_000,
    endedAt: status === 'running' || started ? null : 3_500,
    ...fields,
  };
}

/** `scale[0..n)` with the given statuses, in order, then pending. */
function items(step: string, total: number, statuses: Partial<Record<StepRunStatus, number>>): StepRunJson[] {
  const list: StepRunStatus[] = [];
  for (const [status, n] of Object.entries(statuses))
    list.push(...Array<StepRunStatus>(n).fill(status as StepRunStatus));
  while (list.length < total) list.push('pending');
  return list.map((status, i) => stepRun(`${step}[${i}]`, status));
}

function detail(status: PipelineRunDetailJson['status'], steps: StepRunJson[]): PipelineRunDetailJson {
  return {
    id: 'pr_0123456789',
    pipeline: 'squares',
    project: 'default',
    status,
    executor: 'local',
    useCache: true,
    params: { n: 3, items: [1, 2] },
    trigger: {},
    error: null,
    experimentId: '1',
    definitionDigest: `sha256:${'0'.repeat(64)}`,
    codeDigest: null,
    counts: {},
    createdAt: 0,
    startedAt: 1_000,
    endedAt: status === 'running' || status === 'cancelling' ? null : 61_000,
    createdBy: 'ana',
    steps,
  };
}

describe('foreach collapse', () => {
  it('groups step runs by step, in the server’s order', () => {
    const groups = groupStepRuns([
      stepRun('make', 'succeeded'),
      ...items('scale', 2, { succeeded: 1 }),
      stepRun('sum', 'pending'),
    ]);
    expect(groups.map((g) => [g.step, g.rows.length, g.foreach])).toEqual([
      ['make', 1, false],
      ['scale', 2, true],
      ['sum', 1, false],
    ]);
  });

  it('summarises a foreach step as one line of counts', () => {
    const rows = items('scale', 100, { succeeded: 30, cached: 7, running: 2, failed: 1 });
    expect(foreachSummary({ step: 'scale', rows })).toBe('scale [37/100 done, 2 running, 1 failed]');
    expect(foreachSummary({ step: 'scale', rows: items('scale', 3, { succeeded: 3 }) })).toBe(
      'scale [3/3 done]',
    );
    expect(foreachSummary({ step: 's', rows: items('s', 4, { queued: 1, skipped: 1, cancelled: 2 }) })).toBe(
      's [0/4 done, 1 queued, 1 skipped, 2 cancelled]',
    );
  });

  const statuses: Array<[Partial<Record<StepRunStatus, number>>, StepRunStatus]> = [
    [{ succeeded: 2, running: 1, failed: 1 }, 'running'],
    [{ succeeded: 2, queued: 1 }, 'queued'],
    [{ succeeded: 2, failed: 1 }, 'failed'],
    [{ succeeded: 2 }, 'pending'],
    [{ succeeded: 2, cancelled: 2 }, 'cancelled'],
    [{ skipped: 4 }, 'skipped'],
    [{ cached: 4 }, 'cached'],
    [{ cached: 2, succeeded: 2 }, 'succeeded'],
  ];
  it.each(statuses)('gives %j one status: %s', (counts, status) => {
    expect(groupStatus(items('s', 4, counts))).toBe(status);
  });

  it('makes a table line per step, a foreach step’s items in one', () => {
    const lines = stepLines(
      [
        stepRun('make', 'cached', { cachedFrom: 'sr_old' }),
        ...items('scale', 100, { succeeded: 30, cached: 7, running: 2, failed: 1 }),
        stepRun('sum', 'pending'),
      ],
      5_000,
    );
    expect(lines).toEqual([
      { name: 'make', status: 'cached', cached: 'yes', attempt: '1', duration: '2.5s' },
      {
        name: 'scale [37/100 done, 2 running, 1 failed]',
        status: 'running',
        cached: '7/100',
        attempt: '1',
        duration: '4.0s',
      },
      { name: 'sum', status: 'pending', cached: '', attempt: '', duration: '-' },
    ]);
    const table = stepsTable(
      { steps: [stepRun('make', 'succeeded'), ...items('scale', 3, { running: 1 })] },
      {
        now: 2_000,
        width: 100,
      },
    );
    const [header, make, scale] = table.split('\n');
    expect(header).toMatch(/^STEP\s+STATUS\s+CACHED\s+ATTEMPT\s+DURATION$/);
    expect(make).toMatch(/^make\s+✓ succeeded\s+1\s+2\.5s$/);
    expect(scale).toMatch(/^scale \[0\/3 done, 1 running\]\s+▶ running\s+1\s+1\.0s$/);
  });

  it('keeps running, failed and pending steps first when the table is too tall', () => {
    const line = (name: string, status: StepRunStatus): StepLine => ({
      name,
      status,
      cached: '',
      attempt: '',
      duration: '',
    });
    const lines = [
      line('a', 'succeeded'),
      line('b', 'succeeded'),
      line('c', 'failed'),
      line('d', 'running'),
      line('e', 'pending'),
      line('f', 'pending'),
    ];
    expect(fitLines(lines, 10)).toEqual({ shown: lines, hidden: 0 });
    const fitted = fitLines(lines, 4);
    expect(fitted.shown.map((l) => l.name)).toEqual(['c', 'd', 'e']);
    expect(fitted.hidden).toBe(3);
    expect(fitLines(lines, 5).shown.map((l) => l.name)).toEqual(['c', 'd', 'e', 'f']);
  });
});

describe('lines when not on a terminal', () => {
  it('prints a line per status change, not the first pending state', () => {
    const first = changeLines(new Map(), [stepRun('make', 'running'), stepRun('sum', 'pending')]);
    expect(first.lines).toEqual(['▶ make running']);
    const same = changeLines(first.seen, [stepRun('make', 'running'), stepRun('sum', 'pending')]);
    expect(same.lines).toEqual([]);
    const later = changeLines(same.seen, [
      stepRun('make', 'failed', { exitCode: 2, error: 'exited with code 2' }),
      stepRun('sum', 'skipped'),
    ]);
    expect(later.lines).toEqual(['✗ make failed 2.5s (exit code 2): exited with code 2', '– sum skipped']);
  });

  it('prints a small foreach step item by item, a large one as its summary every tenth', () => {
    const small = changeLines(new Map(), items('scale', 3, { succeeded: 1, running: 1 }));
    expect(small.lines).toEqual(['✓ scale[0] succeeded 2.5s', '▶ scale[1] running']);
    const start = changeLines(new Map(), items('scale', 100, { running: 2 }));
    expect(start.lines).toEqual(['▶ scale [0/100 done, 2 running]']);
    expect(changeLines(start.seen, items('scale', 100, { succeeded: 5, running: 2 })).lines).toEqual([]);
    const tenth = changeLines(start.seen, items('scale', 100, { succeeded: 10, running: 2 }));
    expect(tenth.lines).toEqual(['▶ scale [10/100 done, 2 running]']);
    expect(
      changeLines(tenth.seen, items('scale', 100, { succeeded: 11, failed: 1, running: 1 })).lines,
    ).toEqual(['▶ scale [11/100 done, 1 running, 1 failed]']);
  });
});

describe('results', () => {
  const failed = detail('failed', [
    stepRun('make', 'succeeded'),
    stepRun('train', 'failed', {
      attempt: 3,
      stderrTail: 'Traceback (most recent call last):\nValueError: lr\n',
    }),
    stepRun('eval', 'skipped'),
  ]);

  it('prints the summary --json shape, one entry per step run in order', () => {
    expect(
      runSummaryJson(
        detail('succeeded', [stepRun('make', 'cached'), ...items('scale', 2, { succeeded: 2 })]),
      ),
    ).toEqual({
      run: 'pr_0123456789',
      status: 'succeeded',
      steps: [
        { name: 'make', status: 'cached', cached: true },
        { name: 'scale[0]', status: 'succeeded', cached: false },
        { name: 'scale[1]', status: 'succeeded', cached: false },
      ],
    });
  });

  it('says in one line how the run ended', () => {
    expect(resultLine(detail('succeeded', [stepRun('a', 'cached'), stepRun('b', 'succeeded')]))).toBe(
      '✓ Run pr_0123456789 of squares succeeded in 1m0s: 2 step runs (1 cached)',
    );
    expect(resultLine(failed)).toBe(
      '✗ Run pr_0123456789 of squares failed after 1m0s: 1 step failed (train)',
    );
    expect(resultLine(detail('cancelled', []))).toBe(
      '⊘ Run pr_0123456789 of squares was cancelled after 1m0s',
    );
  });

  it('reports a failed step with its error, stderr tail and what to run next', () => {
    expect(failureReport(failed)).toBe(
      [
        'Step train failed (exit code 2, attempt 3): exited with code 2',
        '  stderr (last lines):',
        '    Traceback (most recent call last):',
        '    ValueError: lr',
        'See the whole log:  cairn pipeline runs logs pr_0123456789 train --stderr',
        'Resume the run:     cairn pipeline runs resume pr_0123456789',
      ].join('\n'),
    );
    const many = detail('failed', items('scale', 5, { failed: 5 }));
    expect(failureReport(many, { maxSteps: 2 })).toMatch(/… and 3 more failed step runs/);
    expect(failureReport(many)).toContain('cairn pipeline runs logs pr_0123456789 scale[0] --stderr');
  });

  it('lists runs with steps done and cached from their counts', () => {
    const run = { ...detail('running', []), counts: { succeeded: 3, cached: 2, running: 1, pending: 4 } };
    const table = runsTable([run, { ...detail('succeeded', []), id: 'pr_9' }], 31_000, 120);
    const [header, first, second] = table.split('\n');
    expect(header).toMatch(/^RUN\s+PIPELINE\s+STATUS\s+STEPS\s+CACHED\s+STARTED\s+DURATION$/);
    expect(first).toMatch(/^pr_0123456789\s+squares\s+running\s+5\/10\s+2\s+1970-01-01 00:00:01\s+30\.0s$/);
    expect(second).toMatch(/^pr_9\s+squares\s+succeeded\s+-\s+-\s+1970-01-01 00:00:01\s+1m0s$/);
  });

  it('shows a run in detail, a large foreach step as its summary and its failed items', () => {
    const text = runDetailText(
      detail('failed', [
        stepRun('make', 'cached', { cachedFrom: 'sr_old', reason: 'reused: same code, inputs and params' }),
        ...items('scale', 30, { succeeded: 28, failed: 1 }),
      ]),
      { now: 70_000, width: 200 },
    );
    expect(text).toContain('Params:     n=3, items=[1,2]');
    expect(text).toMatch(/make\s+↺ cached\s+from sr_old\s+1\s+2\.5s\s+reused: same code/);
    expect(text).toMatch(/scale \[28\/30 done, 1 failed\]\s+✗ failed/);
    expect(text).toMatch(/scale\[28\]\s+✗ failed\s+1\s+2\s+2\.5s\s+exited with code 2/);
    expect(text).not.toContain('scale[0]');
  });
});
