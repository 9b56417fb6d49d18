import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  paramText,
  renderCommand,
  shellQuote,
  TemplateError,
  type TemplateContext,
} from './command-template.js';

const context = (over: Partial<TemplateContext> = {}): TemplateContext => ({
  inputs: { numbers: '/w/inputs/numbers' },
  outputs: { sum: '/w/outputs/sum' },
  params: { factor: 3, name: 'x; rm -rf /', flag: true, none: null, list: [1, 'a'], obj: { k: 'v' } },
  item: null,
  ...over,
});

/** What `sh -c` prints for `printf %s <rendered>`. */
const shPrint = (rendered: string): string =>
  execFileSync('/bin/sh', ['-c', `printf %s ${rendered}`], { encoding: 'utf8' });

describe('paramText', () => {
  it('renders strings as they are, scalars with String, null as nothing, the rest as JSON', () => {
    expect(paramText('a b')).toBe('a b');
    expect(paramText(2.5)).toBe('2.5');
    expect(paramText(false)).toBe('false');
    expect(paramText(null)).toBe('');
    expect(paramText([1, 'a'])).toBe('[1,"a"]');
    expect(paramText({ k: 'v' })).toBe('{"k":"v"}');
  });
});

describe('shellQuote', () => {
  it('leaves plainly safe words bare and single-quotes the rest', () => {
    expect(shellQuote('/tmp/a-b_c.txt')).toBe('/tmp/a-b_c.txt');
    expect(shellQuote('k=v,w+x@y%z:1')).toBe('k=v,w+x@y%z:1');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$HOME')).toBe("'$HOME'");
    expect(shellQuote('~')).toBe("'~'");
  });

  it('round-trips any string through sh -c as one word', () => {
    // NUL cannot be passed in an argument at all; everything else must come back byte for byte.
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\u0000'));
    fc.assert(
      fc.property(text, (value) => {
        expect(shPrint(shellQuote(value))).toBe(value);
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips awkward strings', () => {
    for (const value of [
      "'",
      "''",
      "a'b'c",
      '\\',
      '"',
      '$(echo hi)',
      '`id`',
      '*',
      '\n',
      ' -n ',
      '-e',
      '{a,b}',
      '!',
    ]) {
      expect(shPrint(shellQuote(value))).toBe(value);
    }
  });
});

describe('renderCommand', () => {
  it('fills in paths, params, item and index, with optional spaces inside the braces', () => {
    const rendered = renderCommand(
      'cp {{inputs.numbers}} {{ outputs.sum }} --f={{params.factor}} {{item}}:{{ index }}',
      context({ item: { index: 4, value: 'b c' } }),
    );
    expect(rendered).toBe("cp /w/inputs/numbers /w/outputs/sum --f=3 'b c':4");
  });

  it('keeps awk programs working: a safe number goes in bare', () => {
    const rendered = renderCommand("echo 5 | awk '{print $1 * {{params.factor}}}'", context());
    expect(rendered).toBe("echo 5 | awk '{print $1 * 3}'");
    expect(execFileSync('/bin/sh', ['-c', rendered], { encoding: 'utf8' })).toBe('15\n');
  });

  it('keeps a hostile value one argument', () => {
    const rendered = renderCommand('printf "<%s>" {{params.name}}', context());
    expect(rendered).toBe(`printf "<%s>" 'x; rm -rf /'`);
    expect(execFileSync('/bin/sh', ['-c', rendered], { encoding: 'utf8' })).toBe('<x; rm -rf />');
  });

  it('renders null as an empty word and structured values as JSON', () => {
    const rendered = renderCommand(
      'printf "<%s>" {{params.none}} {{params.list}} {{params.obj}} {{params.flag}}',
      context(),
    );
    expect(execFileSync('/bin/sh', ['-c', rendered], { encoding: 'utf8' })).toBe(
      '<><[1,"a"]><{"k":"v"}><true>',
    );
  });

  it('treats \\{{ as a literal {{ and leaves single braces alone', () => {
    expect(renderCommand('echo \\{{inputs.numbers}} {x} }}', context())).toBe(
      'echo {{inputs.numbers}} {x} }}',
    );
  });

  it('refuses references the task does not define', () => {
    const refused = (template: string, item: TemplateContext['item'] = null): string => {
      try {
        renderCommand(template, context({ item }));
      } catch (error) {
        expect(error).toBeInstanceOf(TemplateError);
        return (error as Error).message;
      }
      throw new Error(`rendered ${template}`);
    };
    expect(refused('cat {{inputs.missing}}')).toMatch(/no input "missing"/);
    expect(refused('cat {{outputs.nope}}')).toMatch(/no output "nope"/);
    expect(refused('echo {{params.k}}')).toMatch(/no parameter "k"/);
    expect(refused('echo {{item}}')).toMatch(/no foreach/);
    expect(refused('echo {{index}}')).toMatch(/no foreach/);
    expect(refused('echo {{ stuff }}')).toMatch(/malformed reference "\{\{ stuff \}\}"/);
    expect(refused('echo {{inputs.numbers')).toMatch(/malformed reference/);
    expect(refused('echo {{params.toString}}')).toMatch(/no parameter "toString"/);
  });
});
