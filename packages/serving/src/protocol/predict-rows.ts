import { CairnError } from '@cairn/contract';
import type { ElementWriter } from '../tensors/datatype-arrays.js';
import {
  describeValue,
  formatShape,
  indexPath,
  isJsonObject,
  type JsonObject,
} from '../tensors/json-value.js';
import { fillRowMajor } from '../tensors/row-major.js';
import type { TensorData, TensorSpec } from '../tensors/tensor.js';
import type { ServedModel } from './v2-infer.js';

/**
 * The forms a predict row may take; the first row picks one for all:
 * - `value`: the single input's row itself — an array (flat or nested) filling
 *   the dimensions after the batch one, or a bare value when that is one element;
 * - `inputs`: an object keyed by input name, each value as in `value`;
 * - `features`: an object keyed by feature name, for a model with one
 *   [batch, n] input whose spec names its n columns.
 */
export type RowForm = 'value' | 'inputs' | 'features';

/** One input being filled row by row. */
export interface InputPlan {
  spec: TensorSpec;
  /** The dimensions after the batch one, with any -1 settled by the first row. */
  rest: number[];
  perRow: number;
  data: TensorData;
  write: ElementWriter;
}

export interface RowAt {
  index: number;
  value: unknown;
  /** `instances[3]`, or `instances[3].x` for one input of an object row. */
  path: string;
}

export interface RowReader {
  /** Each input's value in the row with its path, in the model's input order. */
  values(row: unknown, path: string): Array<{ value: unknown; path: string }>;
  write(plans: readonly InputPlan[], row: RowAt): void;
}

const invalid = (field: string, message: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

const MAX_NAMES_LISTED = 10;

function listNames(names: readonly string[]): string {
  if (names.length <= MAX_NAMES_LISTED) return names.join(', ');
  return `${names.slice(0, MAX_NAMES_LISTED).join(', ')}, … (${names.length} in all)`;
}

/** `instances[3].age`, or `instances[3]["odd key"]` for keys that are not identifiers. */
function keyPath(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${path}.${key}`;
  return `${path}[${describeValue(key)}]`;
}

/** The feature columns of the model's single [batch, n] input, when its spec names all n. */
function featureColumns(model: ServedModel): Map<string, number> | undefined {
  const [spec, ...others] = model.metadata.inputs;
  const features = spec?.features;
  if (spec === undefined || others.length > 0 || features === undefined || spec.shape.length !== 2)
    return undefined;
  const columns = new Map(features.map((feature, column) => [feature, column]));
  return columns.size === features.length && columns.size === spec.shape[1] ? columns : undefined;
}

export function chooseRowForm(first: unknown, model: ServedModel): RowForm {
  const inputs = model.metadata.inputs;
  if (isJsonObject(first)) {
    const columns = featureColumns(model);
    if (columns === undefined) return 'inputs';
    const keys = Object.keys(first);
    const name = inputs[0]!.name;
    const byInput = keys.length === 1 && keys[0] === name && !columns.has(name);
    return byInput ? 'inputs' : 'features';
  }
  if (inputs.length !== 1) {
    const takes = `model ${model.name} takes ${inputs.length} inputs (${listNames(inputs.map((spec) => spec.name))})`;
    const message = `instances[0] is ${describeValue(first)}, but ${takes}; send each row as an object keyed by input name`;
    throw invalid('instances[0]', message);
  }
  return 'value';
}

function sameForm(row: RowAt, objects: boolean): void {
  if (isJsonObject(row.value) === objects) return;
  const first = objects ? 'instances[0] is an object' : 'instances[0] is not';
  const message = `${row.path} is ${describeValue(row.value)}, but ${first}; all rows must take the same form`;
  throw invalid(row.path, message);
}

/** Writes one input's value for one row (a bare value, or a flat or nested array) at that row's offset. */
function writeInputRow(plan: InputPlan, row: RowAt): void {
  const takes = `(input "${plan.spec.name}" takes ${plan.spec.datatype} ${formatShape(plan.spec.shape)})`;
  const offset = row.index * plan.perRow;
  if (!Array.isArray(row.value)) {
    const problem =
      plan.perRow === 1 ? plan.write(offset, row.value) : `not an array of ${plan.perRow} values`;
    if (problem !== undefined)
      throw invalid(row.path, `${row.path} is ${describeValue(row.value)}, ${problem} ${takes}`);
    return;
  }
  const problem = fillRowMajor({ value: row.value, shape: plan.rest, write: plan.write, offset });
  if (problem === undefined) return;
  const field = indexPath(row.path, problem.indices);
  throw invalid(field, `${field} ${problem.detail} ${takes}`);
}

const valueReader: RowReader = {
  values: (row, path) => [{ value: row, path }],
  write(plans, row) {
    sameForm(row, false);
    writeInputRow(plans[0]!, row);
  },
};

function inputsReader(model: ServedModel): RowReader {
  const specs = model.metadata.inputs;
  const known = new Set(specs.map((spec) => spec.name));
  const values = (row: unknown, path: string): Array<{ value: unknown; path: string }> => {
    const object = row as JsonObject;
    const keys = Object.keys(object);
    const unknown = keys.find((key) => !known.has(key));
    if (unknown !== undefined) {
      const message = `${path}: ${describeValue(unknown)} is not an input of model ${model.name}; its inputs are: ${listNames([...known])}`;
      throw invalid(keyPath(path, unknown), message);
    }
    if (keys.length < specs.length) {
      const missing = specs.find((spec) => !Object.hasOwn(object, spec.name))!;
      throw invalid(
        path,
        `${path}: input "${missing.name}" is missing; each row needs ${listNames([...known])}`,
      );
    }
    return specs.map((spec) => ({ value: object[spec.name], path: keyPath(path, spec.name) }));
  };
  return {
    values: (row, path) => {
      sameForm({ index: 0, value: row, path }, true);
      return values(row, path);
    },
    write(plans, row) {
      sameForm(row, true);
      values(row.value, row.path).forEach((value, input) =>
        writeInputRow(plans[input]!, { index: row.index, ...value }),
      );
    },
  };
}

function featuresReader(model: ServedModel, columns: ReadonlyMap<string, number>): RowReader {
  const spec = model.metadata.inputs[0]!;
  const features = [...columns.keys()];
  const takes = `(input "${spec.name}" takes ${spec.datatype})`;
  return {
    values: (_row, path) => [{ value: undefined, path }],
    write(plans, row) {
      sameForm(row, true);
      const plan = plans[0]!;
      const object = row.value as JsonObject;
      const offset = row.index * plan.perRow;
      const keys = Object.keys(object);
      for (const key of keys) {
        const column = columns.get(key);
        if (column === undefined) {
          const message = `${row.path}: ${describeValue(key)} is not a feature of input "${spec.name}"; its features are: ${listNames(features)}`;
          throw invalid(keyPath(row.path, key), message);
        }
        const value = object[key];
        const problem = plan.write(offset + column, value);
        if (problem !== undefined) {
          const message = `${row.path}: feature "${key}" is ${describeValue(value)}, ${problem} ${takes}`;
          throw invalid(keyPath(row.path, key), message);
        }
      }
      if (keys.length < columns.size) {
        const missing = features.find((feature) => !Object.hasOwn(object, feature));
        const needs = `each row needs all ${columns.size} features of input "${spec.name}"`;
        throw invalid(row.path, `${row.path}: feature "${missing}" is missing; ${needs}`);
      }
    },
  };
}

export function rowReader(form: RowForm, model: ServedModel): RowReader {
  if (form === 'value') return valueReader;
  const columns = form === 'features' ? featureColumns(model) : undefined;
  return columns === undefined ? inputsReader(model) : featuresReader(model, columns);
}
