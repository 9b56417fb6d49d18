import { isCairnError } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { checkDepth, checkDirection, checkNode } from './lineage-validation.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isCairnError(error) && error.code === 'INVALID_ARGUMENT') return error.field;
    throw error;
  }
  return undefined;
}

describe('lineage input checks', () => {
  it('accepts a known kind with an id', () => {
    expect(checkNode({ kind: 'model_version', id: 'abc' })).toEqual({ kind: 'model_version', id: 'abc' });
  });

  it.each([
    [{ kind: 'model', id: 'a' }, 'kind'],
    [{ kind: undefined, id: 'a' }, 'kind'],
    [{ kind: 'run', id: '' }, 'id'],
    [{ kind: 'run', id: 3 }, 'id'],
    [{ kind: 'run', id: 'x'.repeat(257) }, 'id'],
  ])('refuses %j (field %s)', (node, field) => {
    expect(fieldOf(() => checkNode(node))).toBe(field);
  });

  it('defaults the depth and accepts 1 to 64', () => {
    expect(checkDepth(undefined)).toBe(5);
    expect(checkDepth(1)).toBe(1);
    expect(checkDepth(64)).toBe(64);
  });

  it.each([[0], [65], [1000], [-1], [1.5], ['3'], ['abc'], [Number.NaN]])('refuses depth %j', (depth) => {
    expect(fieldOf(() => checkDepth(depth))).toBe('depth');
  });

  it('checks the direction', () => {
    expect(checkDirection(undefined)).toBe('upstream');
    expect(checkDirection('downstream')).toBe('downstream');
    expect(fieldOf(() => checkDirection('sideways'))).toBe('direction');
  });
});
