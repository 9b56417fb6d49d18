import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCairnError, parseDatasetRef } from './index.js';

describe('parseDatasetRef', () => {
  it('reads NAME, NAME@number, NAME@alias and NAME@latest', () => {
    expect(parseDatasetRef('churn')).toEqual({ name: 'churn', ref: 'latest' });
    expect(parseDatasetRef('churn@3')).toEqual({ name: 'churn', ref: 3 });
    expect(parseDatasetRef('churn@007')).toEqual({ name: 'churn', ref: 7 });
    expect(parseDatasetRef('churn-2026.q1_v2@champion')).toEqual({
      name: 'churn-2026.q1_v2',
      ref: 'champion',
    });
    expect(parseDatasetRef('churn@latest')).toEqual({ name: 'churn', ref: 'latest' });
    expect(parseDatasetRef('9lives@1')).toEqual({ name: '9lives', ref: 1 });
  });

  it.each([
    ['', /names no dataset/],
    ['@3', /names no dataset/],
    ['churn@', /give a version after "@"/],
    ['churn@0', /version numbers start at 1/],
    ['churn@99999999999', /version numbers start at 1/],
    ['churn@1@2', /neither a version number nor an alias/],
    ['churn@-1', /neither a version number nor an alias/],
    ['churn@1.5', /neither a version number nor an alias/],
    ['churn@_x', /neither a version number nor an alias/],
    ['chu rn', /not a dataset name/],
    ['churn/3', /not a dataset name/],
    ['.churn', /not a dataset name/],
    ['x'.repeat(300), /not a dataset name/],
  ])('refuses %j clearly', (text, message) => {
    try {
      parseDatasetRef(text);
    } catch (error) {
      expect(isCairnError(error) && error.code === 'INVALID_ARGUMENT').toBe(true);
      expect((error as Error).message).toMatch(message);
      return;
    }
    throw new Error(`"${text}" was accepted`);
  });

  it('never crashes: any text is read or refused with INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.stringMatching(/^[a-z0-9@._-]{0,12}$/)),
        (text) => {
          try {
            const { name, ref } = parseDatasetRef(text);
            expect(text.startsWith(name)).toBe(true);
            expect(typeof ref === 'string' || (Number.isInteger(ref) && ref >= 1)).toBe(true);
          } catch (error) {
            expect(isCairnError(error) && error.code === 'INVALID_ARGUMENT').toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads back what it would print', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/);
    const ref = fc.oneof(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,20}$/),
    );
    fc.assert(
      fc.property(name, ref, (n, r) => {
        expect(parseDatasetRef(`${n}@${r}`)).toEqual({ name: n, ref: r });
      }),
    );
  });
});
