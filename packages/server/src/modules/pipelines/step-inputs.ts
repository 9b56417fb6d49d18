import { CairnError, templateReferences, type ParamValue, type StepSpec } from '@cairn/contract';
import type { PipelineRunRecord, StepOutput } from './entities.js';
import type { StepGroup } from './run-state.js';
import type { ResolvedInput } from './step-executor.js';

export interface StepInputs {
  inputs: Record<string, ResolvedInput>;
  /** The parameters the step uses, with this run's values. */
  params: Record<string, ParamValue>;
  /** For lineage: the dataset versions and upstream tracking runs the inputs came from. */
  sources: { datasetVersions: string[]; runs: string[] };
}

/**
 * What a ready step reads, by content: upstream outputs by digest (a `foreach`
 * step's outputs joined in item order), dataset versions as pinned when the
 * run started, and parameter values. Upstream steps must be done.
 */
export function resolveStepInputs(
  run: PipelineRunRecord,
  step: StepSpec,
  groups: ReadonlyMap<string, StepGroup>,
): StepInputs {
  const inputs: Record<string, ResolvedInput> = {};
  const datasetVersions = new Set<string>();
  const runs = new Set<string>();
  for (const [name, ref] of Object.entries(step.inputs)) {
    switch (ref.kind) {
      case 'param':
        inputs[name] = { kind: 'value', value: run.params[ref.param] ?? null };
        break;
      case 'dataset':
        // Pinned to a version id when the run started (see the service's dataset resolution).
        inputs[name] = { kind: 'dataset', dataset: ref.dataset, versionId: ref.ref };
        datasetVersions.add(ref.ref);
        break;
      case 'step': {
        const upstream = groups.get(ref.step);
        if (upstream === undefined) throw new CairnError('INTERNAL', `step ${ref.step} is not in the run`);
        for (const row of upstream.itemRows) if (row.runId !== null) runs.add(row.runId);
        if (upstream.spec.foreach === null) {
          const output = upstream.rows[0]?.outputs[ref.output];
          if (output === undefined) throw missingOutput(ref.step, ref.output);
          inputs[name] = { kind: 'blob', output };
        } else {
          inputs[name] = {
            kind: 'joined',
            items: upstream.itemRows.map((row): StepOutput | null => row.outputs[ref.output] ?? null),
          };
        }
        break;
      }
    }
  }
  const params = Object.fromEntries(usedParams(step).map((name) => [name, run.params[name] ?? null]));
  return { inputs, params, sources: { datasetVersions: [...datasetVersions], runs: [...runs] } };
}

/**
 * The parameters a step depends on. A `foreach` list parameter is left out unless the command
 * names it: each item sees only its own element, so growing the list must not re-run the others.
 */
function usedParams(step: StepSpec): string[] {
  const list = step.foreach?.kind === 'param' ? step.foreach.param : undefined;
  if (list === undefined) return step.params;
  const named = templateReferences(step.run).some((ref) => ref.scope === 'params' && ref.name === list);
  return named ? step.params : step.params.filter((name) => name !== list);
}

function missingOutput(step: string, output: string): CairnError {
  return new CairnError('INTERNAL', `step ${step} finished without its output ${output}`);
}
