import type { PipelineTriggerJson } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../output/errors.js';
import {
  firesText,
  formatNextAt,
  nextText,
  parseDatasetWatch,
  savedLine,
  triggerDetailText,
  triggersTable,
  triggerWhen,
  wallClock,
  whenText,
} from './pipeline-schedule.js';

/** The UsageError message `fn` throws; fails the test when it returns or throws anything else. */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

const NEXT = Date.UTC(2026, 10, 28, 2, 0);

function trigger(fields: Partial<PipelineTriggerJson> = {}): PipelineTriggerJson {
  return {
    id: 'pt_0123456789abcdef',
    name: 'nightly',
    project: 'default',
    kind: 'schedule',
    cron: '0 3 * * *',
    timezone: 'Europe/Paris',
    dataset: null,
    alias: null,
    pipeline: 'train',
    params: {},
    executor: 'local',
    enabled: true,
    nextAt: NEXT,
    lastSeen: null,
    createdAt: Date.UTC(2026, 10, 27, 12),
    createdBy: 'ana',
    ...fields,
  };
}

const onDataset = (alias: string | null = null, fields: Partial<PipelineTriggerJson> = {}) =>
  trigger({
    name: 'retrain',
    kind: 'dataset',
    cron: null,
    timezone: null,
    dataset: 'churn',
    alias,
    nextAt: null,
    ...fields,
  });

describe('--on-dataset NAME[@ALIAS]', () => {
  it.each([
    ['churn', { name: 'churn' }],
    ['churn@golden', { name: 'churn', alias: 'golden' }],
    ['churn@latest', { name: 'churn' }],
    ['sales.v2_eu-1@prod.candidate', { name: 'sales.v2_eu-1', alias: 'prod.candidate' }],
    [' churn @ golden ', { name: 'churn', alias: 'golden' }],
  ])('reads %j', (text, expected) => {
    expect(parseDatasetWatch(text)).toEqual(expected);
  });

  it.each([
    ['', /give the dataset/],
    ['@golden', /give the dataset/],
    ['churn@', /give an alias after "@", e\.g\. churn@golden/],
    ['churn@3', /version 3 never changes/],
    ['../x', /not a dataset name/],
    ['churn@gold/en', /not an alias name/],
    ['churn@a@b', /not an alias name/],
  ])('refuses %j', (text, message) => {
    expect(usageError(() => parseDatasetWatch(text))).toMatch(message);
  });
});

describe('exactly one of --cron and --on-dataset', () => {
  it('takes a cron with or without a zone', () => {
    expect(triggerWhen({ cron: '0 3 * * *' })).toEqual({ schedule: { cron: '0 3 * * *' } });
    expect(triggerWhen({ cron: '0 3 * * *', timezone: 'Europe/Paris' })).toEqual({
      schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' },
    });
  });

  it('takes a dataset', () => {
    expect(triggerWhen({ onDataset: 'churn@golden' })).toEqual({
      dataset: { name: 'churn', alias: 'golden' },
    });
  });

  it('refuses both, neither, and a zone without a cron', () => {
    expect(usageError(() => triggerWhen({ cron: '* * * * *', onDataset: 'churn' }))).toMatch(
      /--cron or --on-dataset, not both/,
    );
    expect(usageError(() => triggerWhen({}))).toMatch(/--cron "0 3 \* \* \*".*--on-dataset NAME\[@ALIAS\]/);
    expect(usageError(() => triggerWhen({ timezone: 'UTC' }))).toMatch(/--cron/);
    expect(usageError(() => triggerWhen({ onDataset: 'churn', timezone: 'UTC' }))).toMatch(
      /--timezone goes with --cron/,
    );
  });
});

describe('when a schedule fires', () => {
  it('writes the table’s WHEN: cron and zone (UTC when none), dataset[@alias]', () => {
    expect(whenText(trigger())).toBe('0 3 * * * Europe/Paris');
    expect(whenText(trigger({ timezone: null }))).toBe('0 3 * * * UTC');
    expect(whenText(onDataset())).toBe('churn');
    expect(whenText(onDataset('golden'))).toBe('churn@golden');
  });

  it('says it in a sentence', () => {
    expect(firesText(trigger())).toBe('on "0 3 * * *" (Europe/Paris)');
    expect(firesText(onDataset())).toBe('on each new version of churn');
    expect(firesText(onDataset('golden'))).toBe('each time alias golden of churn moves');
  });

  it('shows a time as a wall clock of a zone, and local time then UTC', () => {
    expect(wallClock(NEXT, 'UTC')).toBe('2026-11-28 02:00');
    expect(wallClock(NEXT, 'Europe/Paris')).toBe('2026-11-28 03:00');
    expect(wallClock(Date.UTC(2026, 0, 1, 0, 5), 'UTC')).toBe('2026-01-01 00:05');
    expect(wallClock(NEXT, 'America/Los_Angeles')).toBe('2026-11-27 18:00');
    expect(formatNextAt(NEXT, 'Europe/Paris')).toBe('2026-11-28 03:00 Europe/Paris (2026-11-28 02:00 UTC)');
    expect(formatNextAt(NEXT, 'UTC')).toBe('2026-11-28 02:00 UTC');
    expect(formatNextAt(NEXT, 'Etc/UTC')).toBe('2026-11-28 02:00 UTC');
  });

  it('writes the NEXT column: a UTC time, what a dataset trigger waits for, or paused', () => {
    expect(nextText(trigger())).toBe('2026-11-28 02:00 UTC');
    expect(nextText(trigger({ enabled: false }))).toBe('paused');
    expect(nextText(onDataset())).toBe('new version');
    expect(nextText(onDataset('golden'))).toBe('golden moves');
  });

  it('confirms a saved schedule in one line', () => {
    expect(savedLine(trigger(), 'Asia/Tokyo')).toBe(
      'Saved schedule nightly: pipeline train runs on "0 3 * * *" (Europe/Paris), ' +
        'next at 2026-11-28 11:00 Asia/Tokyo (2026-11-28 02:00 UTC).',
    );
    expect(savedLine(onDataset(null, { project: 'risk' }), 'UTC')).toBe(
      'Saved schedule retrain (project risk): pipeline train runs on each new version of churn.',
    );
    expect(savedLine(onDataset('golden'), 'UTC')).toBe(
      'Saved schedule retrain: pipeline train runs each time alias golden of churn moves.',
    );
  });
});

describe('schedules ls and show', () => {
  it('tables name, project, kind, when, pipeline, enabled, next', () => {
    const table = triggersTable([trigger(), onDataset('golden', { enabled: false })], 200);
    expect(table.split('\n').map((line) => line.split(/\s{2,}/))).toEqual([
      ['NAME', 'PROJECT', 'KIND', 'WHEN', 'PIPELINE', 'ENABLED', 'NEXT'],
      ['nightly', 'default', 'schedule', '0 3 * * * Europe/Paris', 'train', 'yes', '2026-11-28 02:00 UTC'],
      ['retrain', 'default', 'dataset', 'churn@golden', 'train', 'no', 'paused'],
    ]);
  });

  it('shows one with its parameters and next time, or the version it last saw', () => {
    const text = triggerDetailText(trigger({ params: { n: 7, mode: 'fast' } }), 'UTC');
    expect(text).toContain('Runs:      on "0 3 * * *" (Europe/Paris)');
    expect(text).toContain('Next:      2026-11-28 02:00 UTC');
    expect(text).toContain('Params:    n=7, mode=fast');
    expect(text).toContain('Created:   2026-11-27 12:00:00 by ana');
    const dataset = triggerDetailText(onDataset(null, { lastSeen: 'dv_1' }), 'UTC');
    expect(dataset).toContain('Last seen: dv_1');
    expect(dataset).not.toContain('Next:');
  });
});
