/**
 * Helpers for reading request bodies that may be anything: only own
 * properties count (a key like "__proto__" or "constructor" must never reach
 * an inherited value), and values are described without serialising them
 * whole (they may be huge or deeply nested).
 */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object's own property `key`, never an inherited one. */
export function ownField(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

const MAX_STRING_SHOWN = 40;

/** A short description of a value for an error message: `"abc"`, `1.5`, `an array`, `null`. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > MAX_STRING_SHOWN ? `${value.slice(0, MAX_STRING_SHOWN)}…` : value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'missing';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? `an array of ${value.length}` : 'an object';
    default:
      return `a ${typeof value}`;
  }
}

/** `[-1,20]`, as shapes are written in messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** `data[3][1]` from `data` and the indices on the way down. */
export function indexPath(base: string, indices: readonly number[]): string {
  let path = base;
  for (const index of indices) path += `[${index}]`;
  return path;
}
