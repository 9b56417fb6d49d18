import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isCairnError,
  parseTemplate,
  renderTemplate,
  templateReferences,
  TEMPLATE_PATTERN,
} from './index.js';

describe('parseTemplate', () => {
  it('keeps single braces around a reference as text', () => {
    const template = "awk '{print $1 * {{params.factor}}}' {{ inputs.numbers }} > {{outputs.scaled}}";
    expect(parseTemplate(template)).toEqual({
      parts: [
        { kind: 'text', text: "awk '{print $1 * " },
        { kind: 'ref', scope: 'params', name: 'factor', start: 17, end: 34 },
        { kind: 'text', text: "}' " },
        { kind: 'ref', scope: 'inputs', name: 'numbers', start: 37, end: 57 },
        { kind: 'text', text: ' > ' },
        { kind: 'ref', scope: 'outputs', name: 'scaled', start: 60, end: 78 },
      ],
      problems: [],
    });
  });

  it.each<[string, string[]]>([
    ['{{item}}-{{ index }}', ['item', '-', 'index']],
    ['{{{params.k}}}', ['{', 'params.k', '}']],
    ['{{\tinputs.a-b_1\n}}', ['inputs.a-b_1']],
    ['\\{{ not.a.ref }} {{inputs.x}}', ['{{ not.a.ref }} ', 'inputs.x']],
    ['a \\ b }} c \\{', ['a \\ b }} c \\{']],
    ['\\{{{item}}', ['{{{item}}']],
  ])('reads %j', (template, expected) => {
    const { parts, problems } = parseTemplate(template);
    expect(problems).toEqual([]);
    expect(
      parts.map((p) => (p.kind === 'text' ? p.text : `${p.scope}${p.name === null ? '' : `.${p.name}`}`)),
    ).toEqual(expected);
  });

  it.each<[string, string]>([
    [
      '{{ foo }}',
      'unknown reference {{ foo }}: use inputs.<name>, outputs.<name>, params.<name>, item or index (write \\{{ for a literal {{)',
    ],
    [
      '{{}}',
      'unknown reference {{}}: use inputs.<name>, outputs.<name>, params.<name>, item or index (write \\{{ for a literal {{)',
    ],
    ['{{inputs}}', '{{inputs}} needs a name: write {{inputs.<name>}}'],
    ['{{params.}}', '{{params}} needs a name: write {{params.<name>}}'],
    ['{{item.x}}', '{{item}} takes no name: write {{item}}'],
    ['{{outputs.a b}}', '"a b" is not a valid name in {{outputs.<name>}}'],
    ['{{inputs.x}', '"{{" opens no reference (no "}}" closes it): write \\{{ for a literal {{'],
    ['{{ {{item}}', '"{{" opens no reference (no "}}" closes it): write \\{{ for a literal {{'],
  ])('refuses %j', (template, message) => {
    const { parts, problems } = parseTemplate(template);
    expect(problems.map((p) => p.message)).toEqual([message]);
    expect(template.slice(problems[0]?.start, problems[0]?.end).startsWith('{{')).toBe(true);
    const text = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    expect(text).toContain(template.slice(problems[0]?.start, problems[0]?.end));
  });
});

describe('templateReferences and renderTemplate', () => {
  it('locates references by offset', () => {
    const template = 'x {{ inputs.a }} {{item}}';
    expect(templateReferences(template).map((r) => template.slice(r.start, r.end))).toEqual([
      '{{ inputs.a }}',
      '{{item}}',
    ]);
  });

  it('fills in values and unescapes \\{{', () => {
    const rendered = renderTemplate("awk '{print $1 * {{params.k}}}' \\{{x}} {{inputs.a}}", (ref) =>
      ref.scope === 'params' ? '3' : '/in/a',
    );
    expect(rendered).toBe("awk '{print $1 * 3}' {{x}} /in/a");
  });

  it('throws INVALID_ARGUMENT on a bad template', () => {
    let error: unknown;
    try {
      renderTemplate('{{ oops }}', () => '');
    } catch (e) {
      error = e;
    }
    expect(isCairnError(error) && error.code === 'INVALID_ARGUMENT' && error.field === 'run').toBe(true);
  });

  it('changes nothing but references and escapes, for any text', () => {
    const pieces = fc.constantFrom('{', '}', '\\', ' ', 'a', '.', 'inputs.x', 'item', 'params', '\n');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 30 }), (chunks) => {
        const template = chunks.join('');
        const { parts, problems } = parseTemplate(template);
        for (const part of parts) {
          if (part.kind === 'ref')
            expect(template.slice(part.start, part.end)).toMatch(
              /^\{\{\s*[a-z]+(\.[A-Za-z_][\w-]*)?\s*\}\}$/,
            );
        }
        if (problems.length > 0) return;
        const same = renderTemplate(template, (ref) => template.slice(ref.start, ref.end));
        expect(same).toBe(template.replaceAll('\\{{', '{{'));
        expect([...template.matchAll(TEMPLATE_PATTERN)].length).toBeGreaterThanOrEqual(
          templateReferences(template).length,
        );
      }),
      { numRuns: 1000 },
    );
  });
});
