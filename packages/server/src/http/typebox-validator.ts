import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';

// ── validation ───────────────────────────────────────────────────────────────

/**
 * Request validation for the native routes. Bodies are checked as sent (no
 * type coercion: `"5"` is not a number, `true` is not a metric value);
 * query strings and path parameters, which only carry text, have integers
 * parsed and single values of list parameters wrapped. Errors are reported in
 * Ajv's shape so the shared error handler words them like every other 400.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if ((schema as { format?: unknown }).format === 'binary') return () => true;
  const check = TypeCompiler.Compile(schema);
  return (raw: unknown) => {
    const value = httpPart === 'body' ? raw : parseTextFields(schema, raw);
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    return { error: [first === undefined ? ajvError('type', '', { message: 'invalid' }) : ajvLike(first)] };
  };
};

function parseTextFields(schema: TSchema, raw: unknown): unknown {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (properties === undefined || typeof raw !== 'object' || raw === null) return raw;
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const [name, property] of Object.entries(properties)) {
    const value = out[name];
    if (property.type === 'integer' && typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
      out[name] = Number(value);
    } else if (property.type === 'array' && value !== undefined && !Array.isArray(value)) {
      out[name] = [value];
    }
  }
  return out;
}

const ajvError = (
  keyword: string,
  instancePath: string,
  extra: { params?: Record<string, unknown>; message?: string },
): FastifySchemaValidationError => ({
  keyword,
  instancePath,
  schemaPath: '',
  params: extra.params ?? {},
  message: extra.message,
});

function ajvLike(error: ValueError): FastifySchemaValidationError {
  const slash = error.path.lastIndexOf('/');
  const parent = error.path.slice(0, Math.max(slash, 0));
  const name = error.path
    .slice(slash + 1)
    .replaceAll('~1', '/')
    .replaceAll('~0', '~');
  if (error.type === ValueErrorType.ObjectRequiredProperty) {
    return ajvError('required', parent, { params: { missingProperty: name } });
  }
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    return ajvError('additionalProperties', parent, { params: { additionalProperty: name } });
  }
  // A union of words (and perhaps null) is worded as its choices: "must be one of low, medium, high, null".
  const choices = (error.schema as { anyOf?: Array<{ const?: unknown; type?: unknown }> }).anyOf?.map((c) =>
    typeof c.const === 'string' ? c.const : c.type === 'null' ? 'null' : undefined,
  );
  const message =
    choices !== undefined && choices.every((c) => c !== undefined)
      ? `must be one of ${choices.join(', ')}`
      : error.message.replace(/^Expected/, 'expected');
  return ajvError('type', error.path, { message });
}
