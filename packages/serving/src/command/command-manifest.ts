import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError } from '@cairn/contract';
import { DATATYPES, isDatatype } from '../tensors/tensor.js';
import type { ModelMetadata, TensorSpec } from '../tensors/tensor.js';

/** The file at the root of a `command` model version that says how to run it. */
export const MANIFEST_FILE = 'cairn-model.json';

export const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** `cairn-model.json`, checked. */
export interface CommandManifest {
  /** The program and its arguments, run in the version's folder. */
  command: string[];
  /** Variables added to the program's (otherwise minimal) environment. */
  env: Record<string, string>;
  metadata: ModelMetadata;
  startupTimeoutMs: number;
  requestTimeoutMs: number;
}

const KEYS = ['command', 'env', 'inputs', 'outputs', 'startupTimeoutMs', 'requestTimeoutMs'];
const SPEC_KEYS = ['name', 'datatype', 'shape'];
/** setTimeout's longest delay. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export async function readCommandManifest(root: string): Promise<CommandManifest> {
  let text: string;
  try {
    text = await readFile(join(root, MANIFEST_FILE), 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CairnError(
      'FAILED_PRECONDITION',
      missing
        ? `a command model needs a ${MANIFEST_FILE} at the root of its files; this version has none`
        : `cannot read ${MANIFEST_FILE}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return parseCommandManifest(text);
}

export function parseCommandManifest(text: string): CommandManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`is not valid JSON (${(error as Error).message})`);
  }
  const manifest = record(value, 'the file');
  rejectUnknownKeys(manifest, KEYS, '');
  return {
    command: command(manifest['command']),
    env: env(manifest['env']),
    metadata: { inputs: specs(manifest['inputs'], 'inputs'), outputs: specs(manifest['outputs'], 'outputs') },
    startupTimeoutMs: timeout(manifest['startupTimeoutMs'], 'startupTimeoutMs') ?? DEFAULT_STARTUP_TIMEOUT_MS,
    requestTimeoutMs: timeout(manifest['requestTimeoutMs'], 'requestTimeoutMs') ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}

function command(value: unknown): string[] {
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((part) => typeof part === 'string' && !part.includes('\0')) &&
    value[0] !== '';
  if (!ok) {
    throw invalid(
      `"command" must be a non-empty array of strings, the program then its arguments ` +
        `(e.g. ["python3", "predict.py"]); got ${show(value)}`,
    );
  }
  return [...(value as string[])];
}

function env(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const entries = Object.entries(record(value, '"env"'));
  for (const [name, variable] of entries) {
    if (name === '' || name.includes('=') || name.includes('\0')) {
      throw invalid(`"env" has an invalid variable name ${JSON.stringify(name)}`);
    }
    if (typeof variable !== 'string' || variable.includes('\0')) {
      throw invalid(`"env" variable ${name} must be a string; got ${show(variable)}`);
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function specs(value: unknown, field: 'inputs' | 'outputs'): TensorSpec[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(
      `"${field}" must be a non-empty array of {"name", "datatype", "shape"}; got ${show(value)}`,
    );
  }
  const result = value.map((item, index) => spec(item, `${field}[${index}]`));
  const seen = new Set<string>();
  for (const [index, { name }] of result.entries()) {
    if (seen.has(name)) throw invalid(`${field}[${index}].name ${JSON.stringify(name)} is declared twice`);
    seen.add(name);
  }
  return result;
}

function spec(value: unknown, field: string): TensorSpec {
  const item = record(value, field);
  rejectUnknownKeys(item, SPEC_KEYS, `${field}.`);
  const { name, datatype, shape } = item;
  if (typeof name !== 'string' || name === '') {
    throw invalid(`${field}.name must be a non-empty string; got ${show(name)}`);
  }
  if (!isDatatype(datatype)) {
    throw invalid(`${field}.datatype must be one of ${DATATYPES.join(', ')}; got ${show(datatype)}`);
  }
  const dims = Array.isArray(shape) && shape.every((dim) => Number.isSafeInteger(dim) && dim >= -1);
  if (!dims) {
    throw invalid(
      `${field}.shape must be an array of whole numbers ≥ 0, or -1 for any size; got ${show(shape)}`,
    );
  }
  return { name, datatype, shape: [...(shape as number[])] };
}

function timeout(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_TIMEOUT_MS) {
    throw invalid(
      `"${field}" must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}; got ${show(value)}`,
    );
  }
  return value as number;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${what} must be a JSON object; got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

function rejectUnknownKeys(value: Record<string, unknown>, known: readonly string[], prefix: string): void {
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw invalid(
      `unknown field ${unknown.map((key) => `"${prefix}${key}"`).join(', ')}; ` +
        `the fields are ${known.map((key) => `"${prefix}${key}"`).join(', ')}`,
    );
  }
}

function invalid(problem: string): CairnError {
  return new CairnError('FAILED_PRECONDITION', `${MANIFEST_FILE}: ${problem}`);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
