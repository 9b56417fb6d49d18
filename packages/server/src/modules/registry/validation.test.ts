import { describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { checkAlias, checkModelName, checkRiskTier, checkStage, checkVersionNumber } from './validation.js';

const fieldOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    if (isCairnError(error) && error.code === 'INVALID_ARGUMENT') return error.field;
    throw error;
  }
  return 'accepted';
};

describe('registry validation', () => {
  it.each(['champion', 'challenger', 'blue-green', '_shadow', 'A1'])('accepts alias %s', (alias) => {
    expect(checkAlias(alias)).toBe(alias);
  });

  it.each([
    '12',
    'v3',
    'V10',
    'a@b',
    'a/b',
    'latest',
    'LATEST',
    '',
    '-x',
    'has space',
    'x'.repeat(256),
    3,
    null,
  ])('refuses alias %j naming the field', (alias) => {
    expect(fieldOf(() => checkAlias(alias))).toBe('alias');
  });

  it.each(['churn', 'Churn Model v2', 'fraud.xgb', 'a-b_c'])('accepts model name %s', (name) => {
    expect(checkModelName(name)).toBe(name);
  });

  it.each([
    '',
    ' ',
    '.',
    '..',
    'a/b',
    'a@b',
    'back\\slash',
    ' lead',
    'ctl\u0001',
    'x'.repeat(257),
    12,
    undefined,
  ])('refuses model name %j', (name) => {
    expect(fieldOf(() => checkModelName(name))).toBe('name');
  });

  it('matches stages case-insensitively and returns the canonical name', () => {
    expect(checkStage('production')).toBe('Production');
    expect(checkStage(' STAGING ')).toBe('Staging');
    expect(checkStage('none')).toBe('None');
    expect(fieldOf(() => checkStage('Prod'))).toBe('stage');
    expect(fieldOf(() => checkStage('Deleted'))).toBe('stage');
  });

  it('reads version numbers as MLflow sends them', () => {
    expect(checkVersionNumber('3')).toBe(3);
    expect(checkVersionNumber(7)).toBe(7);
    for (const bad of ['0', '-1', '1.5', 'abc', '', ' ', 1.5, '99999999999', {}]) {
      expect(fieldOf(() => checkVersionNumber(bad))).toBe('version');
    }
  });

  it('knows the three risk tiers only', () => {
    expect(checkRiskTier('HIGH')).toBe('high');
    expect(checkRiskTier(undefined)).toBeNull();
    expect(fieldOf(() => checkRiskTier('extreme'))).toBe('risk_tier');
  });

  it('never throws anything but INVALID_ARGUMENT on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        for (const check of [checkAlias, checkModelName, checkStage, checkVersionNumber, checkRiskTier]) {
          fieldOf(() => check(value));
        }
      }),
    );
  });
});
