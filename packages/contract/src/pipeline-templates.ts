import { invalidArgument } from './errors.js';

/**
 * Command templates: the `run` text of a pipeline step, rendered by the step
 * runner before `sh -c`.
 *
 * A reference is `{{`, optional whitespace, one of `inputs.<name>`,
 * `outputs.<name>`, `params.<name>`, `item` or `index`, optional whitespace,
 * then `}}`: `{{inputs.numbers}}`, `{{ params.factor }}`, `{{item}}`.
 * - Braces never nest: of three or more `{` in a row only the last two open a
 *   reference, and the first `}}` closes it, so `{print $1 * {{params.k}}}` is
 *   `{print $1 * `, the reference, then a literal `}`.
 * - `\{{` is a literal `{{` (the backslash is dropped); a `{{` that opens no
 *   valid reference is a problem, never silently kept. Other backslashes and a
 *   lone `}}` are ordinary text.
 */

export type TemplateScope = 'inputs' | 'outputs' | 'params' | 'item' | 'index';

export interface TemplateReference {
  scope: TemplateScope;
  /** The input, output or parameter name; null for `item` and `index`. */
  name: string | null;
  /** Where the whole `{{ … }}` is in the template: `template.slice(start, end)`. */
  start: number;
  end: number;
}

export type TemplatePart = { kind: 'text'; text: string } | ({ kind: 'ref' } & TemplateReference);

/** A `{{` that is not a valid reference, at `template.slice(start, end)`. */
export interface TemplateProblem {
  start: number;
  end: number;
  message: string;
}

export interface ParsedTemplate {
  /** Text (escapes already turned into `{{`) and references, in order; adjacent text is merged. */
  parts: TemplatePart[];
  problems: TemplateProblem[];
}

/**
 * The tokens of a template, leftmost first: `\{{` (an escaped `{{`), a braced
 * expression holding no brace (its content is group 1), or a `{{` that opens
 * nothing. Global: use it with `matchAll`, never with a shared `lastIndex`.
 */
export const TEMPLATE_PATTERN = /\\\{\{|\{\{([^{}]*)\}\}|\{\{(?!\{)/g;

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ESCAPE_HINT = 'write \\{{ for a literal {{';

function quote(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function readReference(content: string): Pick<TemplateReference, 'scope' | 'name'> | string {
  const text = content.trim();
  const dot = text.indexOf('.');
  const head = dot < 0 ? text : text.slice(0, dot);
  const name = dot < 0 ? null : text.slice(dot + 1);
  if (head === 'item' || head === 'index') {
    return name === null ? { scope: head, name: null } : `{{${head}}} takes no name: write {{${head}}}`;
  }
  if (head === 'inputs' || head === 'outputs' || head === 'params') {
    if (name === null || name === '') return `{{${head}}} needs a name: write {{${head}.<name>}}`;
    if (!NAME.test(name)) return `"${quote(name)}" is not a valid name in {{${head}.<name>}}`;
    return { scope: head, name };
  }
  return (
    `unknown reference {{${quote(content)}}}: use inputs.<name>, outputs.<name>, params.<name>, ` +
    `item or index (${ESCAPE_HINT})`
  );
}

/** Splits a template into text and references, and lists every `{{` that is not a valid reference. */
export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  let text = '';
  let last = 0;
  for (const match of template.matchAll(TEMPLATE_PATTERN)) {
    const start = match.index;
    const end = start + match[0].length;
    text += template.slice(last, start);
    last = end;
    if (match[0] === '\\{{') {
      text += '{{';
      continue;
    }
    const content = match[1];
    const ref =
      content === undefined
        ? `"{{" opens no reference (no "}}" closes it): ${ESCAPE_HINT}`
        : readReference(content);
    if (typeof ref === 'string') {
      problems.push({ start, end, message: ref });
      text += match[0];
      continue;
    }
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    parts.push({ kind: 'ref', ...ref, start, end });
  }
  text += template.slice(last);
  if (text !== '') parts.push({ kind: 'text', text });
  return { parts, problems };
}

/** The valid references of a template, in order (problems are left to `parseTemplate`). */
export function templateReferences(template: string): TemplateReference[] {
  return parseTemplate(template).parts.flatMap((part) =>
    part.kind === 'ref' ? [{ scope: part.scope, name: part.name, start: part.start, end: part.end }] : [],
  );
}

/**
 * Fills in a template: text as written (with `\{{` as `{{`), each reference
 * replaced by `value(ref)` verbatim — quoting for the shell is the caller's.
 * Throws INVALID_ARGUMENT when the template has a problem.
 */
export function renderTemplate(template: string, value: (ref: TemplateReference) => string): string {
  const { parts, problems } = parseTemplate(template);
  const first = problems[0];
  if (first !== undefined) throw invalidArgument(first.message, 'run');
  return parts.map((part) => (part.kind === 'text' ? part.text : value(part))).join('');
}
