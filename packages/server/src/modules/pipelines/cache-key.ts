import { createHash } from 'node:crypto';
import type { ParamValue, StepSpec } from '@cairn/contract';
import { canonicalJson } from '../governance/index.js';
import type { ResolvedInput } from './step-executor.js';

/** Bumped when what goes into a key changes, so old keys stop matching rather than match wrongly. */
const CACHE_KEY_VERSION = 1;

export interface CacheKeyParts {
  step: Pick<StepSpec, 'run' | 'env' | 'outputs'>;
  /** The digest of the code files the step depends on; null when the pipeline has no code package. */
  codeDigest: string | null;
  inputs: Record<string, ResolvedInput>;
  params: Record<string, ParamValue>;
  item: { index: number; value: ParamValue } | null;
}

/**
 * A step run's cache key: equal keys mean the same command over the same
 * code, inputs, parameters and declared environment, so the earlier outputs
 * can stand in. Inputs enter by content digest (a dataset by version id), never
 * by where they came from, so two different upstream runs that made the same
 * bytes lead to the same key. A `foreach` item enters with its position, as
 * the step sees both (`CAIRN_INDEX`): appending to the list reuses every
 * earlier item's run.
 */
export function cacheKeyOf(parts: CacheKeyParts): string {
  const key = {
    v: CACHE_KEY_VERSION,
    run: parts.step.run,
    env: parts.step.env,
    outputs: [...parts.step.outputs].sort(),
    code: parts.codeDigest,
    inputs: Object.fromEntries(Object.entries(parts.inputs).map(([name, input]) => [name, inputKey(input)])),
    params: parts.params,
    item: parts.item,
  };
  return `sha256:${createHash('sha256').update(canonicalJson(key)).digest('hex')}`;
}

function inputKey(input: ResolvedInput): unknown {
  switch (input.kind) {
    case 'blob':
      return { blob: input.output.digest, type: input.output.type };
    case 'joined':
      return { joined: input.items.map((item) => (item === null ? null : [item.digest, item.type])) };
    case 'dataset':
      return { dataset: input.dataset, version: input.versionId };
    case 'value':
      return { value: input.value };
  }
}
