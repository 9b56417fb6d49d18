import { Cairn } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';

export function clientFor(command: Command): Cairn {
  const { url } = command.optsWithGlobals<{ url: string }>();
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL (expected e.g. http://127.0.0.1:5000)`);
  }
  return new Cairn({ url });
}

export function parseView(view: string): 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL' {
  switch (view.toLowerCase()) {
    case 'active':
      return 'ACTIVE_ONLY';
    case 'deleted':
      return 'DELETED_ONLY';
    case 'all':
      return 'ALL';
    default:
      throw new UsageError(`--view must be active, deleted or all, not "${view}"`);
  }
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive whole number, not "${value}"`);
  return n;
}
