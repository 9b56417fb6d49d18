import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCairnError, validatePipelineDefinition, type PipelineSpec } from '@cairn/contract';
import { UsageError } from '../output/errors.js';
import {
  checkRunParams,
  exportedDefinition,
  lineColumn,
  loadPipelineFile,
  parseParamFlags,
  parseParamValue,
  problemsOf,
} from './pipeline-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-pipeline-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const at = path.join(dir, name);
  await mkdir(path.dirname(at), { recursive: true });
  await writeFile(at, content);
  return at;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

const expected = {
  name: 'squares',
  params: { n: 3 },
  steps: { make: { run: 'seq {{params.n}}', outputs: ['numbers'] } },
};

describe('loadPipelineFile', () => {
  it('reads YAML, keeping the folder as the code package', async () => {
    const at = await file(
      'yaml/pipeline.yaml',
      'name: squares\nparams:\n  n: 3\nsteps:\n  make:\n    run: seq {{params.n}}\n    outputs: [numbers]\n',
    );
    const loaded = await loadPipelineFile(at);
    expect(loaded).toEqual({ file: at, dir: path.join(dir, 'yaml'), definition: expected });
  });

  it('reads .yml and JSON, relative to a working folder', async () => {
    await file(
      'b/p.yml',
      'name: squares\nparams: {n: 3}\nsteps: {make: {run: "seq {{params.n}}", outputs: [numbers]}}\n',
    );
    await file('b/p.json', JSON.stringify(expected));
    expect((await loadPipelineFile('p.yml', path.join(dir, 'b'))).definition).toEqual(expected);
    expect((await loadPipelineFile('b/p.json', dir)).definition).toEqual(expected);
  });

  it('reports a YAML syntax error at its line and column', async () => {
    const at = await file('bad.yaml', 'name: x\nsteps:\n  a:\n    run: "echo\n  b: [1, 2\n');
    const error = await failure(loadPipelineFile(at));
    expect(isCairnError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(
      new RegExp(`^${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error: `),
    );
    const dup = await file('dup.yaml', 'name: x\nsteps:\n  a: {run: x}\n  a: {run: y}\n');
    expect((await failure(loadPipelineFile(dup))).message).toMatch(
      /dup\.yaml:4:3: YAML syntax error: Map keys must be unique/,
    );
  });

  it('reports a JSON syntax error at its line and column', async () => {
    const at = await file('bad.json', '{\n  "name": "x",\n}\n');
    expect((await failure(loadPipelineFile(at))).message).toMatch(/bad\.json:3:1: JSON syntax error/);
  });

  it('imports JavaScript: the default export, or one named pipeline', async () => {
    const a = await file('js/a.mjs', `export default ${JSON.stringify(expected)};\n`);
    const b = await file('js/b.mjs', `export const pipeline = ${JSON.stringify(expected)};\n`);
    const c = await file('js/c.mjs', 'export const other = 1;\n');
    const d = await file('js/d.mjs', 'export default () => ({});\n');
    expect((await loadPipelineFile(a)).definition).toEqual(expected);
    expect((await loadPipelineFile(b)).definition).toEqual(expected);
    expect((await failure(loadPipelineFile(c))).message).toMatch(/exports no pipeline/);
    expect((await failure(loadPipelineFile(d))).message).toMatch(/exports a function/);
  });

  it('passes on the problems the builder found while the module ran', async () => {
    const at = await file(
      'js/throws.mjs',
      `const e = new Error('Pipeline "x" has 1 problem');
       e.problems = [{ step: 'a', field: 'run', message: 'required' }];
       throw e;\n`,
    );
    const error = await failure(loadPipelineFile(at));
    expect(problemsOf(error)).toEqual([{ step: 'a', field: 'run', message: 'required' }]);
    const broken = await file('js/broken.mjs', 'throw new Error("no such module: numpy");\n');
    expect((await failure(loadPipelineFile(broken))).message).toMatch(
      /broken\.mjs could not be loaded: no such module/,
    );
  });

  it('unwraps a module compiled to CommonJS', () => {
    expect(exportedDefinition({ default: { default: expected } }, 'p.ts')).toEqual(expected);
    expect(exportedDefinition({ default: { pipeline: expected } }, 'p.ts')).toEqual(expected);
  });

  it('asks for tsx when a TypeScript file has none beside it', async () => {
    const at = await file('ts/p.ts', `export default ${JSON.stringify(expected)};\n`);
    const error = await failure(loadPipelineFile(at));
    expect(error.message).toMatch(
      /is TypeScript, and no tsx was found .*install it there .*or compile the file to \.js/,
    );
  });

  it('loads TypeScript through the tsx found from its folder', async () => {
    const repoModules = fileURLToPath(new URL('../../../../node_modules', import.meta.url));
    await mkdir(path.join(dir, 'tsx'), { recursive: true });
    await symlink(repoModules, path.join(dir, 'tsx', 'node_modules'));
    const at = await file(
      'tsx/p.ts',
      `const n: number = 3;\nexport default { ...${JSON.stringify(expected)}, params: { n } };\n`,
    );
    expect((await loadPipelineFile(at)).definition).toEqual(expected);
  });

  it('refuses a missing file and an unknown extension', async () => {
    expect((await failure(loadPipelineFile(path.join(dir, 'nope.yaml')))).message).toMatch(
      /nope\.yaml does not exist/,
    );
    expect((await failure(loadPipelineFile(path.join(dir, 'p.toml')))).message).toMatch(/expected a \.yaml/);
  });

  it('counts lines and columns from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});

describe('--param', () => {
  const values: Array<[string, unknown]> = [
    ['10', 10],
    ['-2.5', -2.5],
    ['1e3', 1000],
    ['true', true],
    ['null', null],
    ['[1, 2]', [1, 2]],
    ['{"a": 1}', { a: 1 }],
    ['"007"', '007'],
    ['007', '007'],
    ['hello', 'hello'],
    ['', ''],
    ['a=b', 'a=b'],
    ['[1,', '[1,'],
  ];
  it.each(values)('reads %j as %j', (text, value) => {
    expect(parseParamValue(text)).toEqual(value);
  });

  it('reads repeated NAME=VALUE flags, splitting at the first =', () => {
    expect(parseParamFlags(['epochs=10', 'query=a=b', 'name=churn', 'layers=[64,32]'])).toEqual({
      epochs: 10,
      query: 'a=b',
      name: 'churn',
      layers: [64, 32],
    });
    expect(parseParamFlags([])).toEqual({});
  });

  const bad: Array<[string[], RegExp]> = [
    [['=x'], /give the parameter name before "="/],
    [['k'], /expected NAME=VALUE/],
    [[' =1'], /give the parameter name/],
    [['k=1', 'k=2'], /--param k is given more than once/],
  ];
  it.each(bad)('refuses %j', (flags, message) => {
    expect(() => parseParamFlags(flags)).toThrow(UsageError);
    expect(() => parseParamFlags(flags)).toThrow(message);
  });

  const spec = (): PipelineSpec => {
    const result = validatePipelineDefinition({
      name: 'fan',
      params: { items: [1, 2], k: 2 },
      steps: { scale: { run: 'echo {{item}} {{params.k}}', foreach: 'params.items' } },
    });
    if (!result.ok) throw new Error('test pipeline is invalid');
    return result.spec;
  };

  it('accepts declared parameters and refuses unknown ones before anything runs', () => {
    expect(() => checkRunParams(spec(), { k: 5, items: [3] })).not.toThrow();
    expect(() => checkRunParams(spec(), { epochs: 5 })).toThrow(
      /--param epochs: the pipeline fan declares no parameter "epochs"; its parameters are: items, k/,
    );
  });

  it('refuses a foreach parameter that is not a list', () => {
    expect(() => checkRunParams(spec(), { items: 3 })).toThrow(
      /step scale runs once per item of it, so give a JSON list/,
    );
  });
});
