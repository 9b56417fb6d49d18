import type { ParamValue } from '@cairn/contract';

/**
 * Renders a step's command template for `sh -c`:
 * `{{inputs.NAME}}`, `{{outputs.NAME}}`, `{{params.NAME}}`, `{{item}}` and
 * `{{index}}`, with optional spaces inside the braces; `\{{` is a literal `{{`.
 * Every substituted value is shell-quoted unless it is plainly safe, so a
 * value is always one word, whatever it holds.
 */

/** What a template may reference: inputs and outputs already as text (paths, or a value's text). */
export interface TemplateContext {
  inputs: Readonly<Record<string, string>>;
  outputs: Readonly<Record<string, string>>;
  params: Readonly<Record<string, ParamValue>>;
  item: { index: number; value: ParamValue } | null;
}

/** A template that cannot be rendered: malformed, or naming something the step does not define. */
export class TemplateError extends Error {
  readonly kind = 'TemplateError';
}

const SAFE_WORD = /^[A-Za-z0-9_./:=+,@%-]+$/;
const REFERENCE = /^\{\{[ \t]*(?:(inputs|outputs|params)\.([A-Za-z_][A-Za-z0-9_-]*)|(item|index))[ \t]*\}\}/;

/** A parameter's value as text: strings as they are, null as nothing, lists and objects as JSON. */
export function paramText(value: ParamValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The text as one POSIX shell word: bare when it is plainly safe, else single-quoted. */
export function shellQuote(text: string): string {
  if (SAFE_WORD.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The command with every reference replaced by its shell-quoted text; throws a TemplateError. */
export function renderCommand(template: string, context: TemplateContext): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      out += template.slice(i);
      break;
    }
    if (open > i && template[open - 1] === '\\') {
      out += `${template.slice(i, open - 1)}{{`;
      i = open + 2;
      continue;
    }
    out += template.slice(i, open);
    const match = REFERENCE.exec(template.slice(open, open + 200));
    if (match === null) {
      const close = template.indexOf('}}', open);
      const shown = template.slice(open, close < 0 ? open + 20 : Math.min(close + 2, open + 80));
      throw new TemplateError(
        `the command has a malformed reference ${JSON.stringify(shown)} at character ${open + 1} ` +
          '(expected {{inputs.NAME}}, {{outputs.NAME}}, {{params.NAME}}, {{item}} or {{index}}; write \\{{ for a literal {{)',
      );
    }
    out += shellQuote(resolveReference(match, context));
    i = open + match[0].length;
  }
  return out;
}

function resolveReference(match: RegExpExecArray, context: TemplateContext): string {
  const [, scope, name, special] = match;
  if (special !== undefined) {
    if (context.item === null) {
      throw new TemplateError(`the command uses {{${special}}} but the step has no foreach`);
    }
    return special === 'index' ? String(context.item.index) : paramText(context.item.value);
  }
  const key = name as string;
  if (scope === 'params') {
    if (!Object.hasOwn(context.params, key)) {
      throw new TemplateError(`the command uses {{params.${key}}} but the step has no parameter "${key}"`);
    }
    return paramText(context.params[key] as ParamValue);
  }
  const table = scope === 'inputs' ? context.inputs : context.outputs;
  const text = Object.hasOwn(table, key) ? table[key] : undefined;
  if (text === undefined) {
    const what = scope === 'inputs' ? 'input' : 'output';
    throw new TemplateError(`the command uses {{${scope}.${key}}} but the step declares no ${what} "${key}"`);
  }
  return text;
}
