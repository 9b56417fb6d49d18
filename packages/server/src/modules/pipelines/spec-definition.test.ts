import { validatePipelineDefinition } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { demoPipeline } from '../../testing/pipeline-world.js';
import { specAsDefinition } from './spec-definition.js';

function specOf(definition: unknown) {
  const checked = validatePipelineDefinition(definition);
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

describe('a saved spec turned back into a definition', () => {
  it.each([
    ['the demo', demoPipeline()],
    [
      'every field',
      {
        name: 'full',
        params: { items: [1, 2], lr: 0.1 },
        concurrency: 3,
        steps: {
          list: { run: 'echo > {{outputs.l}}', outputs: ['l'], code: ['src/**'], env: { SEED: '1' } },
          fan: {
            run: 'echo {{item}} {{params.lr}} > {{outputs.o}}',
            foreach: 'params.items',
            outputs: ['o'],
            retry: { count: 2, backoff: '5s' },
            timeout: '10m',
            cache: false,
            resources: { cpu: 2, memory: '4GiB', gpu: 1 },
          },
          lines: { run: 'echo {{item}} > {{outputs.o}}', foreach: 'steps.list.outputs.l', outputs: ['o'] },
          literal: { run: 'echo {{item}}', foreach: ['a', 'b'] },
          join: {
            run: 'cat {{inputs.all}}/* {{inputs.data}}/x {{inputs.lr}}',
            inputs: { all: 'steps.fan.outputs.o', data: 'dataset:churn@golden', lr: 'params.lr' },
          },
        },
      },
    ],
  ])('validates to the same spec: %s', (_label, definition) => {
    const spec = specOf(definition);
    expect(specOf(specAsDefinition(spec))).toEqual(spec);
  });
});
