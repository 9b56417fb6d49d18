import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CairnError, type DefinitionProblem, type ParamValue, type PipelineSpec } from '@cairn/contract';
import { parseDocument } from 'yaml';
import { UsageError } from '../output/errors.js';

/**
 * Pipeline files for `cairn pipeline run|validate`: YAML (`.yaml`, `.yml`),
 * JSON, JavaScript (`.js`, `.mjs`, `.cjs`: the default export, or an export
 * named `pipeline`, built with the SDK's `pipeline()` or written by hand) and
 * TypeScript (`.ts`, `.mts`, through the `tsx` found from the file's folder).
 * Also the `--param NAME=VALUE` flags and their check against the pipeline.
 */

export interface LoadedPipeline {
  /** Absolute path of the file. */
  file: string;
  /** Its folder: the code package. */
  dir: string;
  /** The raw definition, not yet validated. */
  definition: unknown;
}

const invalid = (message: string, cause?: unknown): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field: 'file', ...(cause === undefined ? {} : { cause }) });

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

export function parseYamlDefinition(text: string, file: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const at = error.linePos?.[0];
    const where = at === undefined ? file : `${file}:${at.line}:${at.col}`;
    const [headline = error.message, ...snippet] = error.message.split('\n');
    const message = headline.replace(/ at line \d+, column \d+:?$/, '');
    const shown = snippet.filter((line) => line.trim() !== '').map((line) => `    ${line}`);
    throw invalid(
      `${where}: YAML syntax error: ${message}${shown.length === 0 ? '' : `\n${shown.join('\n')}`}`,
      error,
    );
  }
  return doc.toJS({ maxAliasCount: 1000 });
}

export function parseJsonDefinition(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const at = position === undefined ? undefined : lineColumn(text, Number(position));
    const where = at === undefined ? file : `${file}:${at.line}:${at.column}`;
    throw invalid(
      `${where}: JSON syntax error: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      error,
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The definition a module exports: `default`, else `pipeline`. */
export function exportedDefinition(namespace: unknown, file: string): unknown {
  const pick = (m: Record<string, unknown>): unknown =>
    m['default'] !== undefined ? m['default'] : m['pipeline'];
  let found = isObject(namespace) ? pick(namespace) : undefined;
  // A module compiled to CommonJS (tsx without "type": "module") arrives wrapped once more.
  if (isObject(found) && !('steps' in found) && ('default' in found || 'pipeline' in found))
    found = pick(found);
  if (found === undefined) {
    throw invalid(
      `${file} exports no pipeline: export the definition as default (export default pipeline({...}))`,
    );
  }
  if (typeof found === 'function') {
    throw invalid(`${file} exports a function: export the definition itself, the result of pipeline({...})`);
  }
  return found;
}

/** Where the file's own `tsx` lives (its ESM API), or undefined when none can be found from `file`. */
function tsxApiOf(file: string): string | undefined {
  try {
    const require = createRequire(file);
    const manifest = require.resolve('tsx/package.json');
    const exportsField = (require(manifest) as { exports?: Record<string, unknown> }).exports;
    const api = exportsField?.['./esm/api'] as { import?: { default?: string } } | undefined;
    const entry = api?.import?.default;
    return entry === undefined ? undefined : path.join(path.dirname(manifest), entry);
  } catch {
    return undefined;
  }
}

async function importModule(file: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  const url = pathToFileURL(file).href;
  if (ext !== '.ts' && ext !== '.mts') return import(url);
  const api = tsxApiOf(file);
  if (api === undefined) {
    throw invalid(
      `${file} is TypeScript, and no tsx was found from ${path.dirname(file)} to load it: ` +
        'install it there (npm install --save-dev tsx), or compile the file to .js and run that.',
    );
  }
  const { tsImport } = (await import(pathToFileURL(api).href)) as {
    tsImport: (specifier: string, parentURL: string) => Promise<unknown>;
  };
  return tsImport(url, url);
}

/** A problem list carried by an error (the SDK builder's PipelineDefinitionError, from any copy of the SDK). */
export function problemsOf(error: unknown): DefinitionProblem[] | undefined {
  const problems = (error as { problems?: unknown } | null)?.problems;
  return Array.isArray(problems) ? (problems as DefinitionProblem[]) : undefined;
}

/** Reads a pipeline file; throws INVALID_ARGUMENT naming the file (and line:column for syntax errors). */
export async function loadPipelineFile(file: string, cwd = process.cwd()): Promise<LoadedPipeline> {
  const absolute = path.resolve(cwd, file);
  const ext = path.extname(absolute).toLowerCase();
  const known = ['.yaml', '.yml', '.json', '.js', '.mjs', '.cjs', '.ts', '.mts'];
  if (!known.includes(ext)) {
    throw invalid(`${file}: expected a .yaml, .yml, .json, .js, .mjs, .ts or .mts pipeline file`);
  }
  let text = '';
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw invalid(
      `${file} ${code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : 'cannot be read'}`,
      error,
    );
  }
  const loaded = { file: absolute, dir: path.dirname(absolute) };
  if (ext === '.yaml' || ext === '.yml') return { ...loaded, definition: parseYamlDefinition(text, file) };
  if (ext === '.json') return { ...loaded, definition: parseJsonDefinition(text, file) };
  let namespace: unknown;
  try {
    namespace = await importModule(absolute);
  } catch (error) {
    // The builder found problems while the module ran: they are the answer, not a load failure.
    if (problemsOf(error) !== undefined || (error as { field?: unknown }).field === 'file') throw error;
    throw invalid(
      `${file} could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  return { ...loaded, definition: exportedDefinition(namespace, file) };
}

// ── --param ──

/** `42` → 42, `true` → true, `[1,2]` → a list, `"007"` → "007"; anything that is not JSON stays text (`007`, `hello`). */
export function parseParamValue(text: string): ParamValue {
  try {
    return JSON.parse(text) as ParamValue;
  } catch {
    return text;
  }
}

/** `--param k=v` flags (repeatable) as an object; a flag without a name or without `=` is a usage error. */
export function parseParamFlags(flags: readonly string[]): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq < 0) throw new UsageError(`--param "${flag}": expected NAME=VALUE, e.g. --param epochs=10`);
    const name = flag.slice(0, eq).trim();
    if (name === '')
      throw new UsageError(`--param "${flag}": give the parameter name before "=", e.g. --param epochs=10`);
    if (Object.hasOwn(params, name)) throw new UsageError(`--param ${name} is given more than once`);
    params[name] = parseParamValue(flag.slice(eq + 1));
  }
  return params;
}

/** Refuses a parameter the pipeline does not declare, and a foreach parameter that is not a list. */
export function checkRunParams(spec: PipelineSpec, params: Readonly<Record<string, ParamValue>>): void {
  const declared = Object.keys(spec.params).sort();
  for (const name of Object.keys(params)) {
    if (Object.hasOwn(spec.params, name)) continue;
    throw new CairnError(
      'INVALID_ARGUMENT',
      `--param ${name}: the pipeline ${spec.name} declares no parameter "${name}"; ` +
        (declared.length === 0 ? 'it has no parameters' : `its parameters are: ${declared.join(', ')}`),
      { field: `params.${name}` },
    );
  }
  for (const step of spec.steps) {
    const source = step.foreach;
    if (source?.kind !== 'param' || !Object.hasOwn(params, source.param)) continue;
    if (!Array.isArray(params[source.param])) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `--param ${source.param}: step ${step.name} runs once per item of it, so give a JSON list, e.g. --param ${source.param}='[1,2,3]'`,
        { field: `params.${source.param}` },
      );
    }
  }
}
