import { CairnError } from '@cairn/contract';

/**
 * Where a new version's files come from. MLflow clients send either the
 * `runs:/<run_id>/<path>` URI or the run's artifact URI already resolved
 * (`mlflow-artifacts:/0/<run_id>/artifacts/model`); Cairn also accepts a
 * path under the artifact proxy's HTTP route and another version
 * (`models:/name/3`, `models:/name@champion`) to copy.
 */
export type ModelSource =
  | { kind: 'run'; runId: string; path: string }
  | { kind: 'artifacts'; path: string }
  | { kind: 'model'; name: string; reference: string };

const RUNS_URI = /^runs:\/([0-9A-Za-z_-]{1,64})(?:\/(.*))?$/s;
const ARTIFACTS_URI = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/s;
const ARTIFACTS_HTTP = /^https?:\/\/[^/]+\/(?:ajax-)?api\/2\.0\/mlflow-artifacts\/artifacts\/(.*)$/s;
const MODELS_URI = /^models:\/([^/@]+)(?:\/([^/]+)|@([^/]+))\/?$/s;

export function parseModelSource(source: string, field = 'source'): ModelSource {
  const run = RUNS_URI.exec(source);
  if (run !== null) return { kind: 'run', runId: run[1] ?? '', path: trimSlashes(run[2] ?? '') };
  const artifacts = ARTIFACTS_URI.exec(source) ?? ARTIFACTS_HTTP.exec(source);
  if (artifacts !== null)
    return { kind: 'artifacts', path: trimSlashes(decodePath(artifacts[1] ?? '', field)) };
  const model = MODELS_URI.exec(source);
  if (model !== null) {
    return {
      kind: 'model',
      name: decodePath(model[1] ?? '', field),
      reference: model[2] ?? `@${model[3] ?? ''}`,
    };
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `${field}: "${source.slice(0, 200)}" is not a source this server stores; use runs:/<run_id>/<path>, ` +
      'mlflow-artifacts:/<path> (upload a folder there first) or models:/<name>/<version>',
    { field },
  );
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

function decodePath(path: string, field: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new CairnError('INVALID_ARGUMENT', `${field}: the URI has a malformed %-escape`, { field });
  }
}
