import type { PipelineSpec } from '@cairn/contract';

/** The saved spec back in the definition form `start` validates (the spec is a normalised definition). */
export function specAsDefinition(spec: PipelineSpec): unknown {
  return {
    name: spec.name,
    params: spec.params,
    ...(spec.concurrency === null ? {} : { concurrency: spec.concurrency }),
    steps: Object.fromEntries(
      spec.steps.map((step) => [
        step.name,
        {
          run: step.run,
          inputs: Object.fromEntries(
            Object.entries(step.inputs).map(([name, ref]) => [
              name,
              ref.kind === 'step'
                ? { step: ref.step, output: ref.output }
                : ref.kind === 'param'
                  ? { param: ref.param }
                  : { dataset: `${ref.dataset}@${ref.ref}` },
            ]),
          ),
          outputs: step.outputs,
          ...(step.foreach === null
            ? {}
            : {
                foreach:
                  step.foreach.kind === 'list'
                    ? step.foreach.items
                    : step.foreach.kind === 'param'
                      ? { param: step.foreach.param }
                      : { step: step.foreach.step, output: step.foreach.output },
              }),
          retry: { count: step.retry.count, backoff: `${step.retry.backoffMs}ms` },
          ...(step.timeoutMs === null ? {} : { timeout: `${step.timeoutMs}ms` }),
          cache: step.cache,
          resources: {
            cpu: step.resources.cpu,
            gpu: step.resources.gpu,
            ...(step.resources.memoryMb === null ? {} : { memory: step.resources.memoryMb }),
          },
          env: step.env,
          ...(step.code === null ? {} : { code: step.code }),
          params: step.params,
        },
      ]),
    ),
  };
}
