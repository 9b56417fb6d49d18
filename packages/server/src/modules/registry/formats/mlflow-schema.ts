import type { SignatureField } from '../entities.js';
import { ModelFormatError } from './model-format-error.js';

/** An inference parameter of an MLflow signature (ParamSpec.to_dict()). */
export type MlflowParamSpec = {
  name: string;
  type: string;
  default: unknown;
  shape: number[] | null;
};

const MAX_FIELDS = 10_000;
const MAX_TYPE_DEPTH = 16;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses one schema of an MLmodel signature. MLflow stores `inputs` and `outputs` as JSON strings inside
 * the YAML: a list of column specs (`{"type": "double", "name": "x", "required": true}`) or of tensor
 * specs (`{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}, "name": "x"}`).
 */
export function parseSchema(value: unknown, field: string): SignatureField[] {
  return schemaEntries(value, field).map((entry, i) => parseFieldSpec(entry, `${field}[${i}]`));
}

/** `signature.params`: `[{"name": "temperature", "type": "float", "default": 0.5, "shape": null}]`. */
export function parseParams(value: unknown, field: string): MlflowParamSpec[] {
  return schemaEntries(value, field).map((entry, i) => {
    const at = `${field}[${i}]`;
    return {
      name: requireString(entry['name'], `${at}.name`),
      type: requireString(entry['type'], `${at}.type`),
      default: entry['default'] ?? null,
      shape:
        entry['shape'] === undefined || entry['shape'] === null
          ? null
          : parseShape(entry['shape'], `${at}.shape`),
    };
  });
}

/** null or absent means an empty schema; a string is the JSON MLflow writes; a list is accepted as is. */
function schemaEntries(value: unknown, field: string): Json[] {
  if (value === undefined || value === null) return [];
  let list: unknown = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value) as unknown;
    } catch (error) {
      throw new ModelFormatError(`${field} is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (list === null) return [];
  if (!Array.isArray(list))
    throw new ModelFormatError(`${field} must be a JSON list of column or tensor specs`);
  if (list.length > MAX_FIELDS) throw new ModelFormatError(`${field} has more than ${MAX_FIELDS} entries`);
  return list.map((entry, i) => {
    if (!isObject(entry)) throw new ModelFormatError(`${field}[${i}] must be an object`);
    return entry;
  });
}

function parseFieldSpec(entry: Json, at: string): SignatureField {
  const name =
    entry['name'] === undefined || entry['name'] === null ? null : requireString(entry['name'], `${at}.name`);
  const tensorSpec = entry['tensor-spec'];
  if (entry['type'] === 'tensor' || tensorSpec !== undefined) {
    if (!isObject(tensorSpec))
      throw new ModelFormatError(`${at}.tensor-spec must be an object with dtype and shape`);
    return {
      name,
      type: requireString(tensorSpec['dtype'], `${at}.tensor-spec.dtype`),
      shape: parseShape(tensorSpec['shape'], `${at}.tensor-spec.shape`),
    };
  }
  const required = entry['required'];
  if (required !== undefined && typeof required !== 'boolean') {
    throw new ModelFormatError(`${at}.required must be true or false`);
  }
  return { name, type: describeColumnType(entry, at, 0), required: required ?? true };
}

/** Column types: a DataType name, or array / object / map / any written as compact text. */
function describeColumnType(spec: Json, at: string, depth: number): string {
  if (depth > MAX_TYPE_DEPTH)
    throw new ModelFormatError(`${at} nests types deeper than ${MAX_TYPE_DEPTH} levels`);
  const type = requireString(spec['type'], `${at}.type`);
  const nested = (value: unknown, where: string): string => {
    if (!isObject(value)) throw new ModelFormatError(`${where} must be an object with a type`);
    return describeColumnType(value, where, depth + 1);
  };
  switch (type) {
    case 'array':
      return `array<${nested(spec['items'], `${at}.items`)}>`;
    case 'map':
      return `map<string, ${nested(spec['values'], `${at}.values`)}>`;
    case 'object': {
      const properties = spec['properties'];
      if (!isObject(properties)) throw new ModelFormatError(`${at}.properties must be an object`);
      const inner = Object.entries(properties).map(([key, value]) => {
        const optional = isObject(value) && value['required'] === false ? '?' : '';
        return `${key}${optional}: ${nested(value, `${at}.properties.${key}`)}`;
      });
      return `object{${inner.join(', ')}}`;
    }
    default:
      return type;
  }
}

function parseShape(value: unknown, at: string): number[] {
  if (!Array.isArray(value) || value.length > 1024)
    throw new ModelFormatError(`${at} must be a list of integers`);
  return value.map((dim) => {
    if (!Number.isSafeInteger(dim) || (dim as number) < -1) {
      throw new ModelFormatError(`${at} must hold integers (-1 for a dynamic dimension)`);
    }
    return dim as number;
  });
}

export function requireString(value: unknown, at: string): string {
  if (typeof value !== 'string') throw new ModelFormatError(`${at} must be a string`);
  return value;
}
