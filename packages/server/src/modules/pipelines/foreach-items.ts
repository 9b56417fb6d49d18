import { PIPELINE_LIMITS, type ParamValue, type StepSpec } from '@cairn/contract';
import type { BlobStore, Digest } from '../artifacts/index.js';
import type { PipelineRunRecord } from './entities.js';
import type { StepGroup } from './run-state.js';

/** Largest list file a `foreach` reads from an upstream output. */
const MAX_LIST_BYTES = 64 * 1024 * 1024;

/** Why a list could not be read: the step fails with this message. */
export class ForeachListError extends Error {}

/**
 * The items a `foreach` step fans out over: a literal list, a list parameter,
 * or an upstream output holding a JSON array (else one item per non-empty line).
 */
export async function foreachItems(input: {
  run: PipelineRunRecord;
  step: StepSpec;
  groups: ReadonlyMap<string, StepGroup>;
  blobs: BlobStore;
}): Promise<ParamValue[]> {
  const source = input.step.foreach;
  if (source === null) return [];
  let items: ParamValue[];
  switch (source.kind) {
    case 'list':
      items = source.items;
      break;
    case 'param': {
      const value = input.run.params[source.param];
      if (!Array.isArray(value)) throw new ForeachListError(`parameter ${source.param} is not a list`);
      items = value;
      break;
    }
    case 'step': {
      const upstream = input.groups.get(source.step);
      if (upstream?.spec.foreach !== null) {
        throw new ForeachListError(
          `step ${source.step} is itself a foreach step; its outputs are not one list`,
        );
      }
      const output = upstream.rows[0]?.outputs[source.output];
      if (output === undefined)
        throw new ForeachListError(`step ${source.step} left no output ${source.output}`);
      if (output.type !== 'file')
        throw new ForeachListError(`${source.step}.${source.output} is a directory, not a list`);
      if (output.sizeBytes > MAX_LIST_BYTES) {
        throw new ForeachListError(`${source.step}.${source.output} is larger than ${MAX_LIST_BYTES} bytes`);
      }
      items = parseList(await readText(input.blobs, output.digest as Digest));
      break;
    }
  }
  if (items.length > PIPELINE_LIMITS.maxForeachItems) {
    throw new ForeachListError(
      `${items.length} items is more than the ${PIPELINE_LIMITS.maxForeachItems} allowed`,
    );
  }
  return items;
}

function parseList(text: string): ParamValue[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (Array.isArray(value)) return value as ParamValue[];
    } catch {
      // Not JSON after all: read it as lines.
    }
  }
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

async function readText(blobs: BlobStore, digest: Digest): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.get(digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
