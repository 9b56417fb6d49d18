import { CairnError, isCairnError, type ModelFormat, type ModelVersion } from '@cairn/contract';
import type { ProgressListener } from './local-model-files.js';
import type { ModelsResource } from './models.js';

export interface RegisterModelOptions {
  /** The registered model; created when missing. */
  name: string;
  /** The project a model this call creates goes to (default `default`); ignored when it exists. */
  project?: string;
  /** A local file or folder: uploaded (streamed), then registered. */
  path?: string;
  /** The run that made the model. With `artifactPath`, the files come from the run's artifacts. */
  runId?: string;
  /** A folder or file among the run's artifacts: registers `runs:/<runId>/<artifactPath>`. */
  artifactPath?: string;
  /** Any source the server takes (`runs:/…`, `mlflow-artifacts:/…`, `models:/name/3`), as is. */
  source?: string;
  /** Declared format; detected from the files when omitted. */
  format?: ModelFormat;
  /** Of the new version. */
  description?: string;
  tags?: Record<string, string>;
  /** Upload progress of `path`, after each chunk. */
  onProgress?: ProgressListener;
}

const invalid = (message: string, field: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

/** Where the version's files come from, checked before anything is sent. */
function sourceKind(options: RegisterModelOptions): 'path' | 'artifactPath' | 'source' {
  const given = (['path', 'artifactPath', 'source'] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw invalid(
      'Give exactly one of path (a local file or folder), artifactPath (with runId) or source.',
      given[1] ?? 'path',
    );
  }
  const kind = given[0] ?? 'path';
  if (kind === 'artifactPath' && options.runId === undefined) {
    throw invalid('artifactPath names a folder of a run: give runId too.', 'runId');
  }
  return kind;
}

/**
 * Registers a new version, creating the registered model when it does not
 * exist. The model name is checked (by reading it) before any upload; a model
 * this call created is removed again if the version then fails, so a failed
 * registration leaves nothing behind.
 */
export async function registerModel(
  models: ModelsResource,
  options: RegisterModelOptions,
): Promise<ModelVersion> {
  const kind = sourceKind(options);
  const exists = await models.get(options.name).then(
    () => true,
    (error: unknown) => {
      if (isCairnError(error) && error.code === 'NOT_FOUND') return false;
      throw error;
    },
  );
  let source: string;
  if (kind === 'path') {
    const { uploadModelFiles } = await import('./local-model-files.js');
    source = (await uploadModelFiles(models, options.path ?? '', options.onProgress)).source;
  } else if (kind === 'artifactPath') {
    source = `runs:/${options.runId ?? ''}/${(options.artifactPath ?? '').replace(/^\/+/, '')}`;
  } else {
    source = options.source ?? '';
  }
  const created = !exists && (await createIfMissing(models, options.name, options.project));
  try {
    return await models.createVersion(options.name, {
      source,
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      ...(options.format === undefined ? {} : { format: options.format }),
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.tags === undefined ? {} : { tags: options.tags }),
    });
  } catch (error) {
    if (created) await models.delete(options.name).catch(() => undefined);
    throw error;
  }
}

/** True when this call created the model; false when another process did first. */
async function createIfMissing(
  models: ModelsResource,
  name: string,
  project: string | undefined,
): Promise<boolean> {
  try {
    await models.create({ name, ...(project === undefined ? {} : { project }) });
    return true;
  } catch (error) {
    if (isCairnError(error) && error.code === 'ALREADY_EXISTS') return false;
    throw error;
  }
}

/**
 * A version named by `name/3` or `name@3` is known without asking; anything
 * else (`name@alias`, `name`, `name/Production`) is resolved by the server.
 */
export async function versionOf(
  models: ModelsResource,
  reference: string,
): Promise<{ name: string; version: number }> {
  const match = /^(.+)[/@](\d{1,9})$/.exec(reference.replace(/^models:\//, ''));
  if (match !== null) return { name: match[1] ?? '', version: Number(match[2]) };
  const resolved = await models.resolve(reference);
  return { name: resolved.name, version: resolved.version };
}
