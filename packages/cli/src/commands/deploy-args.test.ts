import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../output/errors.js';
import {
  createInput,
  deploymentName,
  jsonArgument,
  parseCanaries,
  parseCanary,
  parseInstances,
  parseSettings,
  parseShadow,
  parseTime,
  updatePatch,
} from './deploy-args.js';

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

describe('--canary REF:WEIGHT', () => {
  it.each([
    ['churn@challenger:10', { model: 'churn@challenger', weight: 10 }],
    ['churn/4:1', { model: 'churn/4', weight: 1 }],
    ['churn/4:99', { model: 'churn/4', weight: 99 }],
    ['churn@4:05', { model: 'churn@4', weight: 5 }],
    [' churn/4 : 20 ', { model: 'churn/4', weight: 20 }],
    ['models:/churn/3:30', { model: 'models:/churn/3', weight: 30 }],
    ['models:/churn@challenger:30', { model: 'models:/churn@challenger', weight: 30 }],
    ['my:model/2:40', { model: 'my:model/2', weight: 40 }],
    ['churn:25', { model: 'churn', weight: 25 }],
  ])('reads %j', (text, expected) => {
    expect(parseCanary(text)).toEqual(expected);
  });

  it.each([
    ['churn@challenger', /needs a weight: REF:WEIGHT, e\.g\. churn@challenger:10/],
    ['churn/4', /needs a weight/],
    ['models:/churn/3', /needs a weight/],
    ['', /needs a weight/],
    [':10', /names no model version/],
    ['  :10', /names no model version/],
    ['churn/4:', /whole percent from 1 to 99, not ""/],
    ['churn/4:0', /whole percent from 1 to 99, not "0"/],
    ['churn/4:100', /whole percent from 1 to 99, not "100"/],
    ['churn/4:-5', /whole percent from 1 to 99/],
    ['churn/4:12.5', /whole percent from 1 to 99/],
    ['churn/4:ten', /whole percent from 1 to 99/],
    ['churn/4:1e1', /whole percent from 1 to 99/],
    ['churn/4:0x10', /whole percent from 1 to 99/],
  ])('refuses %j', (text, message) => {
    expect(usageError(() => parseCanary(text))).toMatch(message);
  });

  it('refuses canaries that leave the primary no traffic, together', () => {
    expect(parseCanaries(['a/1:60', 'b/1:39'])).toHaveLength(2);
    expect(usageError(() => parseCanaries(['a/1:60', 'b/1:40']))).toMatch(/add up to 100%/);
  });
});

describe('--shadow REF[:PERCENT]', () => {
  it.each([
    ['churn@challenger', { model: 'churn@challenger', percent: 100 }],
    ['churn/5', { model: 'churn/5', percent: 100 }],
    ['churn/5:1', { model: 'churn/5', percent: 1 }],
    ['churn@challenger:50', { model: 'churn@challenger', percent: 50 }],
    ['churn/5:100', { model: 'churn/5', percent: 100 }],
    ['models:/churn/5', { model: 'models:/churn/5', percent: 100 }],
    ['models:/churn/5:20', { model: 'models:/churn/5', percent: 20 }],
  ])('reads %j', (text, expected) => {
    expect(parseShadow(text)).toEqual(expected);
  });

  it.each([
    ['', /names no model version/],
    [':50', /names no model version/],
    ['churn/5:0', /whole number from 1 to 100, not "0"/],
    ['churn/5:101', /whole number from 1 to 100, not "101"/],
    ['churn/5:', /whole number from 1 to 100, not ""/],
    ['churn/5:half', /whole number from 1 to 100/],
    ['churn/5:50%', /whole number from 1 to 100/],
  ])('refuses %j', (text, message) => {
    expect(usageError(() => parseShadow(text))).toMatch(message);
  });
});

describe('the --canary and --shadow parsers never crash', () => {
  const texts = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.stringMatching(/^[a-z0-9@/:. -]{0,16}$/),
    fc
      .tuple(fc.stringMatching(/^[a-z]{1,6}[@/][a-z0-9]{1,4}$/), fc.string({ maxLength: 4 }))
      .map(([ref, suffix]) => `${ref}:${suffix}`),
  );

  it('reads any text or refuses it with a UsageError, nothing else', () => {
    fc.assert(
      fc.property(texts, (text) => {
        for (const parse of [parseCanary, parseShadow]) {
          try {
            const route = parse(text);
            expect(route.model).not.toBe('');
            expect(text).toContain(route.model);
          } catch (error) {
            expect(error).toBeInstanceOf(UsageError);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads back what it would print', () => {
    const ref = fc.oneof(
      fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), fc.integer({ min: 1, max: 1e6 }))
        .map(([name, version]) => `${name}/${version}`),
      fc
        .tuple(
          fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
          fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,10}$/),
        )
        .map(([name, alias]) => `${name}@${alias}`),
    );
    fc.assert(
      fc.property(
        ref,
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 100 }),
        (model, weight, percent) => {
          expect(parseCanary(`${model}:${weight}`)).toEqual({ model, weight });
          expect(parseShadow(`${model}:${percent}`)).toEqual({ model, percent });
          expect(parseShadow(model)).toEqual({ model, percent: 100 });
        },
      ),
    );
  });
});

describe('settings flags', () => {
  it('reads the flags given, and nothing when none is', () => {
    expect(parseSettings({})).toBeUndefined();
    expect(
      parseSettings({ maxBatchSize: '64', maxBatchWaitMs: '0', maxQueue: '1024', sampleRate: '0.25' }),
    ).toEqual({ maxBatchSize: 64, maxBatchWaitMs: 0, maxQueue: 1024, sampleRate: 0.25 });
    expect(parseSettings({ sampleRate: '1' })).toEqual({ sampleRate: 1 });
    expect(parseSettings({ sampleRate: '0' })).toEqual({ sampleRate: 0 });
    expect(parseSettings({ sampleRate: '.5' })).toEqual({ sampleRate: 0.5 });
    expect(parseSettings({ sampleRate: '1e-2' })).toEqual({ sampleRate: 0.01 });
  });

  it.each([
    [{ maxBatchSize: 'lots' }, /--max-batch-size must be a whole number 1 or more, not "lots"/],
    [{ maxBatchSize: '0' }, /--max-batch-size must be a whole number 1 or more/],
    [{ maxBatchSize: '8.5' }, /--max-batch-size/],
    [{ maxBatchSize: '' }, /--max-batch-size/],
    [{ maxBatchWaitMs: '-1' }, /--max-batch-wait-ms must be a whole number 0 or more/],
    [{ maxBatchWaitMs: '2.5' }, /--max-batch-wait-ms/],
    [{ maxQueue: '1e3' }, /--max-queue must be a whole number 1 or more/],
    [{ maxQueue: '99999999999999999999' }, /--max-queue/],
    [{ sampleRate: '1.5' }, /--sample-rate must be a number from 0 to 1/],
    [{ sampleRate: '-0.1' }, /--sample-rate/],
    [{ sampleRate: '10%' }, /--sample-rate/],
    [{ sampleRate: 'NaN' }, /--sample-rate/],
    [{ sampleRate: '' }, /--sample-rate/],
  ])('refuses %j', (flags, message) => {
    expect(usageError(() => parseSettings(flags))).toMatch(message);
  });
});

describe('cairn deploy create flags', () => {
  it('builds the create body, leaving out what was not given', () => {
    expect(createInput('churn-api', { model: 'churn@champion' })).toEqual({
      name: 'churn-api',
      model: 'churn@champion',
    });
    expect(
      createInput('churn-api', {
        model: 'churn@champion',
        canary: ['churn@challenger:10'],
        shadow: ['churn/5:50', 'churn/6'],
        follow: true,
        port: '8081',
        project: 'risk',
        description: 'churn scoring',
        maxBatchSize: '32',
        sampleRate: '0.1',
      }),
    ).toEqual({
      name: 'churn-api',
      model: 'churn@champion',
      project: 'risk',
      description: 'churn scoring',
      canary: [{ model: 'churn@challenger', weight: 10 }],
      shadows: [
        { model: 'churn/5', percent: 50 },
        { model: 'churn/6', percent: 100 },
      ],
      follow: true,
      settings: { maxBatchSize: 32, sampleRate: 0.1 },
      port: 8081,
    });
  });

  it.each([
    ['bad name!', { model: 'churn/3' }, /"bad name!" is not a deployment name/],
    ['-api', { model: 'churn/3' }, /not a deployment name/],
    ['api', { model: '  ' }, /--model names no model version/],
    ['api', { model: 'churn/3', follow: true }, /--follow needs --model named by an alias/],
    ['api', { model: 'churn@3', follow: true }, /--follow needs --model named by an alias/],
    ['api', { model: 'churn/3', port: '80x' }, /--port must be a whole number from 1 to 65535/],
    ['api', { model: 'churn/3', port: '70000' }, /--port/],
    ['api', { model: 'churn/3', canary: ['churn/4'] }, /needs a weight/],
    ['api', { model: 'churn/3', shadow: ['churn/4:0'] }, /from 1 to 100/],
  ])('refuses %j %j', (name, flags, message) => {
    expect(usageError(() => createInput(name, flags))).toMatch(message);
  });
});

describe('cairn deploy update flags', () => {
  it.each([
    [{ model: 'churn/4' }, { model: 'churn/4' }],
    [
      { canary: ['churn/4:10', 'churn/5:5'] },
      {
        canary: [
          { model: 'churn/4', weight: 10 },
          { model: 'churn/5', weight: 5 },
        ],
      },
    ],
    [{ noCanary: true }, { canary: [] }],
    [{ shadow: ['churn/5'] }, { shadows: [{ model: 'churn/5', percent: 100 }] }],
    [{ noShadow: true }, { shadows: [] }],
    [{ follow: true }, { follow: true }],
    [{ noFollow: true }, { follow: false }],
    [
      { model: 'churn@challenger', noCanary: true, follow: true },
      { model: 'churn@challenger', canary: [], follow: true },
    ],
    [{ maxQueue: '10' }, { settings: { maxQueue: 10 } }],
  ])('reads %j', (flags, patch) => {
    expect(updatePatch(flags)).toEqual(patch);
  });

  it.each([
    [{}, /nothing to change/],
    [{ canary: ['churn/4:10'], noCanary: true }, /give --canary or --no-canary, not both/],
    [{ shadow: ['churn/5'], noShadow: true }, /give --shadow or --no-shadow, not both/],
    [{ follow: true, noFollow: true }, /give --follow or --no-follow, not both/],
    [{ model: 'churn/4', follow: true }, /--follow needs --model named by an alias/],
    [{ canary: ['churn/4:50', 'churn/5:50'] }, /add up to 100%/],
    [{ maxBatchWaitMs: 'soon' }, /--max-batch-wait-ms/],
  ])('refuses %j', (flags, message) => {
    expect(usageError(() => updatePatch(flags))).toMatch(message);
  });
});

describe('--since and --until', () => {
  const now = Date.UTC(2026, 2, 3, 12);
  it.each([
    ['30s', now - 30_000],
    ['15m', now - 15 * 60_000],
    ['2h', now - 2 * 3_600_000],
    ['7d', now - 7 * 86_400_000],
    ['1767225600000', 1_767_225_600_000],
    ['2026-03-03', Date.UTC(2026, 2, 3)],
    ['2026-03-03T10:00:00Z', Date.UTC(2026, 2, 3, 10)],
  ])('reads %j', (text, ms) => {
    expect(parseTime(text, '--since', now)).toBe(ms);
  });

  it.each(['yesterday', '2h ago', '-5m', '03/03/2026', '2026-13-45', '', '1w'])('refuses %j', (text) => {
    expect(usageError(() => parseTime(text, '--since', now))).toMatch(
      /--since must be a time ago \(30m, 2h, 7d\)/,
    );
  });
});

describe('JSON flags', () => {
  const files: Record<string, string> = {
    'rows.json': '[[1, 2], [3, 4]]',
    '-': '{"instances": [[5]]}',
    'bad.json': '[1,',
  };
  const read = (file: string): string => {
    const text = files[file];
    if (text === undefined) throw new Error(`ENOENT: no such file, open '${file}'`);
    return text;
  };

  it('reads JSON inline, from @FILE and from @- (stdin)', () => {
    expect(jsonArgument('[[1.5, 2]]', '--instances', read)).toEqual([[1.5, 2]]);
    expect(jsonArgument('"churned"', '--truth', read)).toBe('churned');
    expect(jsonArgument('1', '--truth', read)).toBe(1);
    expect(jsonArgument('null', '--truth', read)).toBeNull();
    expect(jsonArgument('@rows.json', '--instances', read)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parseInstances(jsonArgument('@-', '--instances', read))).toEqual([[5]]);
  });

  it.each([
    ['churned', '--truth', /--truth must be JSON \(.*\); a text value needs quotes, e\.g\. '"yes"'/],
    ['[1, 2', '--instances', /--instances must be JSON/],
    ['', '--truth', /--truth must be JSON/],
    ['@bad.json', '--instances', /--instances must be JSON in bad\.json/],
    ['@missing.json', '--instances', /--instances: cannot read missing\.json: ENOENT/],
    ['@', '--instances', /give a file name after "@"/],
  ])('refuses %j for %s', (text, flag, message) => {
    expect(usageError(() => jsonArgument(text, flag, read))).toMatch(message);
  });

  it('takes instances as an array or a predict body, never anything else', () => {
    expect(parseInstances([[1], [2]])).toEqual([[1], [2]]);
    expect(parseInstances({ instances: [{ age: 3 }] })).toEqual([{ age: 3 }]);
    expect(usageError(() => parseInstances({ rows: [] }))).toMatch(/must be a JSON array/);
    expect(usageError(() => parseInstances(3))).toMatch(/must be a JSON array/);
    expect(usageError(() => parseInstances(null))).toMatch(/must be a JSON array/);
    expect(usageError(() => parseInstances([]))).toMatch(/is empty/);
  });
});

describe('deployment names', () => {
  it('takes what the server takes', () => {
    expect(deploymentName('churn-api')).toBe('churn-api');
    expect(deploymentName('9.v_2')).toBe('9.v_2');
    expect(usageError(() => deploymentName(''))).toMatch(/not a deployment name/);
    expect(usageError(() => deploymentName('a/b'))).toMatch(/not a deployment name/);
    expect(usageError(() => deploymentName('x'.repeat(129)))).toMatch(/not a deployment name/);
  });
});
