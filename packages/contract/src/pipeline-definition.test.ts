import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatProblems,
  PIPELINE_LIMITS,
  validatePipelineDefinition,
  type PipelineSpec,
  type StepSpec,
} from './index.js';

const demo = () => ({
  name: 'demo',
  params: { factor: 3 },
  steps: {
    make: { run: 'seq 1 100 > {{outputs.numbers}}', outputs: ['numbers'] },
    scale: {
      run: "awk '{print $1 * {{params.factor}}}' {{inputs.numbers}} > {{outputs.scaled}}",
      inputs: { numbers: 'steps.make.outputs.numbers' },
      outputs: ['scaled'],
    },
    total: {
      run: "awk '{s += $1} END {print s}' {{inputs.scaled}} > {{outputs.sum}}",
      inputs: { scaled: 'steps.scale.outputs.scaled' },
      outputs: ['sum'],
    },
  },
});

/** A pipeline of one step `s` (plus `up`, which outputs `data`), with `extra` top-level fields. */
const one = (step: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'p',
  params: { k: 1, list: [1, 2] },
  ...extra,
  steps: { up: { run: 'echo > {{outputs.data}}', outputs: ['data'] }, s: { run: 'true', ...step } },
});

function specOf(raw: unknown): PipelineSpec {
  const result = validatePipelineDefinition(raw);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.spec;
}

function problemLines(raw: unknown): string[] {
  const result = validatePipelineDefinition(raw);
  return result.ok ? [] : formatProblems(result.problems).split('\n');
}

const defaults = (name: string, run: string): StepSpec => ({
  name,
  run,
  inputs: {},
  outputs: [],
  foreach: null,
  retry: { count: 0, backoffMs: 1000 },
  timeoutMs: null,
  cache: true,
  resources: { cpu: 1, memoryMb: null, gpu: 0 },
  env: {},
  code: null,
  params: [],
  after: [],
});

describe('validatePipelineDefinition: valid definitions', () => {
  it('validates the demo pipeline into a topologically ordered spec', () => {
    const raw = demo();
    expect(specOf(raw)).toEqual({
      name: 'demo',
      params: { factor: 3 },
      concurrency: null,
      steps: [
        { ...defaults('make', raw.steps.make.run), outputs: ['numbers'] },
        {
          ...defaults('scale', raw.steps.scale.run),
          inputs: { numbers: { kind: 'step', step: 'make', output: 'numbers' } },
          outputs: ['scaled'],
          params: ['factor'],
          after: ['make'],
        },
        {
          ...defaults('total', raw.steps.total.run),
          inputs: { scaled: { kind: 'step', step: 'scale', output: 'scaled' } },
          outputs: ['sum'],
          after: ['scale'],
        },
      ],
    });
  });

  it('reads every field and every reference form', () => {
    const spec = specOf(
      one(
        {
          run: 'train {{inputs.data}} {{inputs.table}} {{inputs.k}} {{item}} {{index}} \\{{ literal }}',
          description: 'trains',
          inputs: {
            data: { step: 'up', output: 'data' },
            table: 'dataset:churn@champion',
            frame: { dataset: 'churn', version: 3 },
            latest: 'dataset:churn',
            pinned: { dataset: 'churn@v2' },
            k: 'params.k',
            other: { param: 'other' },
          },
          outputs: ['model', 'data'],
          foreach: 'params.list',
          params: ['extra'],
          retry: { count: 3, backoff: '500ms' },
          timeout: '1h30m',
          cache: false,
          resources: { cpu: 0.5, memory: '4GiB', gpu: 1 },
          env: { B: 2, A: true, C: 'text' },
          code: ['src/**', 'train.py'],
          'x-owner': 'ml-team',
        },
        { params: { k: 1, list: ['a', 'b'], other: 'o', extra: null }, concurrency: 4, description: 'd' },
      ),
    );
    expect(spec.concurrency).toBe(4);
    expect(Object.keys(spec.params)).toEqual(['extra', 'k', 'list', 'other']);
    expect(spec.steps.map((s) => s.name)).toEqual(['up', 's']);
    expect(spec.steps[1]).toMatchObject({
      inputs: {
        data: { kind: 'step', step: 'up', output: 'data' },
        frame: { kind: 'dataset', dataset: 'churn', ref: '3' },
        k: { kind: 'param', param: 'k' },
        latest: { kind: 'dataset', dataset: 'churn', ref: 'latest' },
        other: { kind: 'param', param: 'other' },
        pinned: { kind: 'dataset', dataset: 'churn', ref: 'v2' },
        table: { kind: 'dataset', dataset: 'churn', ref: 'champion' },
      },
      outputs: ['model', 'data'],
      foreach: { kind: 'param', param: 'list' },
      retry: { count: 3, backoffMs: 500 },
      timeoutMs: 5_400_000,
      cache: false,
      resources: { cpu: 0.5, memoryMb: 4096, gpu: 1 },
      env: { A: 'true', B: '2', C: 'text' },
      code: ['src/**', 'train.py'],
      params: ['extra', 'k', 'list', 'other'],
      after: ['up'],
    });
    expect(Object.keys(spec.steps[1]?.inputs ?? {})).toEqual(Object.keys(spec.steps[1]?.inputs ?? {}).sort());
  });

  it.each([
    ['a retry count alone', { retry: 2 }, { retry: { count: 2, backoffMs: 1000 } }],
    ['a retry map without backoff', { retry: { count: 1 } }, { retry: { count: 1, backoffMs: 1000 } }],
    ['a timeout in seconds', { timeout: 90 }, { timeoutMs: 90_000 }],
    ['memory in MB', { resources: { memory: 512 } }, { resources: { cpu: 1, memoryMb: 512, gpu: 0 } }],
    ['nulls as absent', { inputs: null, retry: null, timeout: null, cache: null }, defaults('s', 'true')],
    [
      'a literal foreach list',
      { foreach: [{ a: 1 }, 'b'] },
      { foreach: { kind: 'list', items: [{ a: 1 }, 'b'] } },
    ],
    [
      'a foreach over a step output',
      { foreach: 'steps.up.outputs.data', run: 'echo {{item}}' },
      { foreach: { kind: 'step', step: 'up', output: 'data' }, after: ['up'] },
    ],
    [
      'an input named like an output',
      {
        inputs: { data: 'steps.up.outputs.data' },
        outputs: ['data'],
        run: 'cp {{inputs.data}} {{outputs.data}}',
      },
      { outputs: ['data'], after: ['up'] },
    ],
  ])('accepts %s', (_, step, expected) => {
    expect(specOf(one(step)).steps.find((s) => s.name === 's')).toMatchObject(expected);
  });

  it('orders independent steps by name and every step after the steps it needs', () => {
    const step = (run: string, inputs: Record<string, string> = {}) => ({ run, inputs, outputs: ['o'] });
    const spec = specOf({
      name: 'diamond',
      steps: {
        z: step('{{inputs.a}} {{inputs.b}}', { a: 'steps.b.outputs.o', b: 'steps.c.outputs.o' }),
        c: step('x', { a: 'steps.d.outputs.o' }),
        b: step('x', { a: 'steps.d.outputs.o', b: 'steps.d.outputs.o' }),
        d: step('x'),
        a: step('x'),
      },
    });
    expect(spec.steps.map((s) => [s.name, s.after])).toEqual([
      ['a', []],
      ['d', []],
      ['b', ['d']],
      ['c', ['d']],
      ['z', ['b', 'c']],
    ]);
  });
});

const limits = PIPELINE_LIMITS;

describe('validatePipelineDefinition: problems', () => {
  it.each<[string, unknown, string[]]>([
    [
      'not a map',
      null,
      [
        'pipeline: expected a pipeline definition (a map with name and steps), found null',
        'pipeline › name: required: the pipeline name, such as churn-training',
        'pipeline › steps: required: a map of step name → step',
      ],
    ],
    [
      'a bad name, a typo and an empty step map',
      { name: 'my pipeline', stepz: {}, steps: {}, 'x-team': 'ml' },
      [
        'pipeline › stepz: unknown field; did you mean "steps"?',
        'pipeline › name: "my pipeline" is not a valid pipeline name: letters, digits, ., _ and -, at most 128 characters',
        'pipeline › steps: a pipeline needs at least one step',
      ],
    ],
    [
      'steps as a list',
      { name: 'p', steps: [{ run: 'x' }] },
      ['pipeline › steps: expected a map of step name → step'],
    ],
    [
      'bad params and concurrency',
      {
        name: 'p',
        params: { 'bad name': 1, when: new Date(0), deep: { a: [Number.NaN] } },
        concurrency: 0,
        steps: { s: { run: 'x' } },
      },
      [
        'pipeline › params.bad name: "bad name" is not a valid parameter name: letters, digits, _ and -, starting with a letter or _, at most 64 characters',
        'pipeline › params.when: the value is a Date object, not a JSON value',
        'pipeline › params.deep: the value at a[0] is NaN, not a JSON number',
        `pipeline › concurrency: expected a whole number from 1 to ${limits.maxConcurrency}`,
      ],
    ],
    [
      'a bad step name and a step that is not a map',
      { name: 'p', steps: { 'my step': { run: 'x' }, s: 'echo' } },
      [
        'pipeline › steps: "my step" is not a valid step name: letters, digits, _ and -, starting with a letter or _, at most 64 characters',
        'step "s": expected a step: a map with run and optionally inputs, outputs…',
        'step "s" › run: required: the command to run',
      ],
    ],
  ])('%s', (_, raw, expected) => {
    expect(problemLines(raw)).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['no run', { run: undefined }, ['run: required: the command to run']],
    ['a blank run', { run: '  ' }, ['run: empty: give the command to run']],
    ['a numeric run', { run: 42 }, ['run: found 42, expected the command to run']],
    [
      'a long run',
      { run: 'x'.repeat(limits.maxRunLength + 1) },
      [`run: ${limits.maxRunLength + 1} characters; at most ${limits.maxRunLength}`],
    ],
    ['a typo', { ouputs: ['a'] }, ['ouputs: unknown field; did you mean "outputs"?']],
    [
      'an unknown field',
      { image: 'python' },
      [
        'image: unknown field; expected run, description, inputs, outputs, foreach, params, retry, timeout, cache, resources, env, code or x-<extension>',
      ],
    ],
    [
      'a missing output (the message quoted in the docs)',
      { inputs: { numbers: 'steps.up.outputs.nums' } },
      ['inputs.numbers: steps.up has no output "nums" (it declares: data)'],
    ],
    [
      'an unknown step',
      { inputs: { a: 'steps.nope.outputs.x' } },
      ['inputs.a: unknown step "nope"; steps are: s, up'],
    ],
    [
      'itself',
      { inputs: { a: 'steps.s.outputs.x' }, outputs: ['x'] },
      ['inputs.a: steps.s is this step: a step cannot use its own outputs'],
    ],
    [
      'an unknown param',
      { inputs: { a: 'params.nope' } },
      ['inputs.a: unknown param "nope"; params are: k, list'],
    ],
    [
      'a malformed reference',
      { inputs: { a: 'steps.up.data' } },
      [
        'inputs.a: "steps.up.data" is not a reference: write steps.<step>.outputs.<output>, params.<name> or dataset:<name>[@<version or alias>] (or a map: { step, output }, { param }, { dataset, version | alias })',
      ],
    ],
    ['a bad dataset name', { inputs: { a: 'dataset:-churn' } }, ['inputs.a: "-churn" is not a dataset name']],
    [
      'a bad dataset ref',
      { inputs: { a: 'dataset:churn@' } },
      ['inputs.a: "" is not a dataset version id or alias'],
    ],
    [
      'a dataset ref twice',
      { inputs: { a: { dataset: 'churn@3', version: 4 } } },
      ['inputs.a: give the dataset version or alias once'],
    ],
    [
      'a step map with a stray key',
      { inputs: { a: { step: 'up', output: 'data', as: 'x' } } },
      [
        'inputs.a: unexpected key "as" in a reference: write steps.<step>.outputs.<output>, params.<name> or dataset:<name>[@<version or alias>] (or a map: { step, output }, { param }, { dataset, version | alias })',
      ],
    ],
    [
      'a bad input name',
      { inputs: { '1a': 'params.k' } },
      [
        'inputs.1a: "1a" is not a valid input name: letters, digits, _ and -, starting with a letter or _, at most 64 characters',
      ],
    ],
    ['a duplicate output', { outputs: ['a', 'b', 'a'] }, ['outputs.2: "a" is listed twice']],
    ['outputs as text', { outputs: 'a' }, ['outputs: expected a list of names, found "a"']],
    [
      'an undeclared input in run',
      { run: 'cat {{inputs.nums}}', inputs: { numbers: 'params.k' } },
      ['run: {{inputs.nums}} names no input; inputs are: numbers'],
    ],
    [
      'an undeclared output in run',
      { run: 'echo > {{ outputs.y }} {{outputs.y}}' },
      ['run: {{outputs.y}} names no output; the step declares no outputs'],
    ],
    [
      'an unknown param in run',
      { run: 'echo {{params.x}} {{params.x}}' },
      ['run: unknown param "x"; params are: k, list'],
    ],
    [
      '{{item}} outside foreach',
      { run: 'echo {{item}} {{index}}' },
      [
        'run: {{item}} is only defined in a step with foreach',
        'run: {{index}} is only defined in a step with foreach',
      ],
    ],
    [
      'an unknown scope',
      { run: 'echo {{ foo }}' },
      [
        'run: unknown reference {{ foo }}: use inputs.<name>, outputs.<name>, params.<name>, item or index (write \\{{ for a literal {{)',
      ],
    ],
    [
      'an unclosed {{',
      { run: 'echo {{inputs.a' },
      ['run: "{{" opens no reference (no "}}" closes it): write \\{{ for a literal {{'],
    ],
    [
      'foreach over a scalar param',
      { foreach: 'params.k' },
      ["foreach: params.k is 1, not a list: foreach needs a list as the param's default"],
    ],
    [
      'foreach over a dataset',
      { foreach: 'dataset:churn' },
      [
        'foreach: expected a list, params.<name> or steps.<step>.outputs.<output> (or { param }, { step, output }), found "dataset:churn"',
      ],
    ],
    [
      'foreach over too many items',
      { foreach: Array.from({ length: limits.maxForeachItems + 1 }, () => 0) },
      [`foreach: ${limits.maxForeachItems + 1} items; at most ${limits.maxForeachItems}`],
    ],
    [
      'a negative retry',
      { retry: -1 },
      [`retry: expected a whole number of retries from 0 to ${limits.maxRetries} or { count, backoff }`],
    ],
    [
      'too many retries',
      { retry: { count: 21 } },
      [`retry.count: expected a whole number of retries from 0 to ${limits.maxRetries}`],
    ],
    [
      'a retry without count',
      { retry: { backoff: '1s' } },
      [`retry.count: required: expected a whole number of retries from 0 to ${limits.maxRetries}`],
    ],
    [
      'a long backoff and a stray key',
      { retry: { count: 1, backoff: '2d', jitter: true } },
      ['retry.jitter: unknown field; expected count, backoff or x-<extension>', 'retry.backoff: at most 1d'],
    ],
    ['a zero timeout', { timeout: 0 }, ['timeout: must be more than 0 (leave timeout out for no limit)']],
    ['a long timeout', { timeout: '8d' }, ['timeout: at most 7d']],
    [
      'a vague timeout',
      { timeout: 'soon' },
      ['timeout: "soon" is not a duration: write 500ms, 30s, 5m, 2h, 1d, 1h30m or a number of seconds'],
    ],
    ['a non-boolean cache', { cache: 'yes' }, ['cache: expected true or false']],
    [
      'bad resources',
      { resources: { cpu: 0, memory: '4 bananas', gpu: 1.5, tpu: 1 } },
      [
        'resources.tpu: unknown field; did you mean "cpu"?',
        'resources.cpu: expected a number of cores above 0',
        'resources.memory: "4 bananas" is not a memory size: write 512Mi, 4GiB, 4G, 2048MB or a number of MB',
        'resources.gpu: expected a whole number of GPUs, 0 or more',
      ],
    ],
    [
      'bad env',
      { env: { CAIRN_RUN: 'x', MLFLOW_URI: 'x', '1X': 'x', EMPTY: null, MAP: {} } },
      [
        'env.CAIRN_RUN: names starting with CAIRN_ are reserved for Cairn',
        'env.MLFLOW_URI: names starting with MLFLOW_ are reserved for Cairn',
        'env.1X: not a variable name: use letters, digits and _, not starting with a digit',
        'env.EMPTY: expected a string, number or boolean, found null',
        'env.MAP: expected a string, number or boolean, found a map',
      ],
    ],
    [
      'an empty code list',
      { code: [] },
      ['code: expected a non-empty list of globs such as src/**, or no code field for the whole package'],
    ],
    [
      'bad code globs',
      { code: ['', '/etc/*', 'src/../../x', 'ok/**'] },
      [
        'code.0: expected a non-empty glob',
        'code.1: globs are relative to the code package',
        'code.2: globs may not reach outside the code package (..)',
      ],
    ],
    [
      'an unknown param in params',
      { params: ['k', 'nope'] },
      ['params: unknown param "nope"; params are: k, list'],
    ],
  ])('step with %s', (_, step, expected) => {
    expect(problemLines(one(step))).toEqual(expected.map((line) => `step "s" › ${line}`));
  });

  it('collects problems from every step and field at once', () => {
    const raw = demo();
    raw.steps.scale.inputs.numbers = 'steps.make.outputs.nums';
    (raw.steps.total as Record<string, unknown>).timeout = '5 minutes';
    expect(problemLines(raw)).toEqual([
      'step "scale" › inputs.numbers: steps.make has no output "nums" (it declares: numbers)',
      'step "total" › timeout: "5 minutes" is not a duration: write 500ms, 30s, 5m, 2h, 1d, 1h30m or a number of seconds',
    ]);
    const result = validatePipelineDefinition(raw);
    expect(result.ok ? [] : result.problems[0]).toEqual({
      step: 'scale',
      field: 'inputs.numbers',
      message: 'steps.make has no output "nums" (it declares: numbers)',
    });
  });

  it('reports each cycle once, in data-flow order from its smallest step', () => {
    const needs = (...deps: string[]) => ({
      run: 'x',
      outputs: ['o'],
      inputs: Object.fromEntries(deps.map((d) => [d, `steps.${d}.outputs.o`])),
    });
    expect(
      problemLines({ name: 'p', steps: { c: needs('b'), a: needs('c'), b: needs('a'), d: needs('c') } }),
    ).toEqual(['pipeline › steps: cycle: a → b → c → a']);
    expect(
      problemLines({
        name: 'p',
        steps: { x: needs('y'), y: needs('x'), m: needs('n'), n: needs('m'), z: needs() },
      }),
    ).toEqual(['pipeline › steps: cycle: m → n → m', 'pipeline › steps: cycle: x → y → x']);
  });

  it('counts steps against the limit', () => {
    const steps = Object.fromEntries(
      Array.from({ length: limits.maxSteps + 1 }, (_, i) => [`s${i}`, { run: 'x' }]),
    );
    expect(problemLines({ name: 'p', steps })).toEqual([
      `pipeline › steps: ${limits.maxSteps + 1} steps; at most ${limits.maxSteps}`,
    ]);
  });
});

describe('validatePipelineDefinition: properties', () => {
  it('returns problems for any JSON value instead of throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const result = validatePipelineDefinition(raw);
        if (!result.ok) expect(result.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('returns problems for definition-shaped values holding anything', () => {
    const anything = fc.anything({
      withDate: true,
      withNullPrototype: true,
      withBigInt: true,
      withSparseArray: true,
      withMap: true,
    });
    const field = fc.oneof(
      anything,
      fc.constantFrom('params.k', 'steps.a.outputs.o', '{{item}}', '1h', '4G'),
    );
    const step = fc.dictionary(
      fc.constantFrom(
        'run',
        'inputs',
        'outputs',
        'foreach',
        'params',
        'retry',
        'timeout',
        'cache',
        'resources',
        'env',
        'code',
        '__proto__',
      ),
      fc.oneof(field, fc.dictionary(fc.string(), field), fc.array(field)),
    );
    const definition = fc.record({
      name: fc.oneof(fc.constant('p'), anything),
      params: fc.oneof(fc.dictionary(fc.string(), anything), anything),
      steps: fc.dictionary(
        fc.constantFrom('a', 'b', 'constructor', '__proto__', 'bad name'),
        fc.oneof(step, anything),
      ),
    });
    fc.assert(
      fc.property(definition, (raw) => {
        const result = validatePipelineDefinition(raw);
        expect(typeof formatProblems(result.ok ? [] : result.problems)).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  /** Random DAGs: step i may need any step before it in a random permutation. */
  const dags = fc
    .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), { minLength: 1, maxLength: 12 })
    .chain((names) =>
      fc.tuple(
        fc.constant(names),
        fc.array(fc.array(fc.nat({ max: names.length }), { maxLength: 4 }), {
          minLength: names.length,
          maxLength: names.length,
        }),
      ),
    )
    .map(([names, picks]) => {
      const deps = new Map(
        names.map((name, i) => [
          name,
          new Set((picks[i] ?? []).filter((j) => j < i).map((j) => names[j] as string)),
        ]),
      );
      return deps;
    });
  const definitionOf = (deps: Map<string, Set<string>>, order: string[]) => ({
    name: 'dag',
    steps: Object.fromEntries(
      order.map((name) => {
        const inputs = Object.fromEntries(
          [...(deps.get(name) ?? [])].map((d) => [`in_${d}`, `steps.${d}.outputs.out`]),
        );
        const run = `cat ${Object.keys(inputs)
          .map((i) => `{{inputs.${i}}}`)
          .join(' ')} > {{outputs.out}}`;
        return [name, { run, inputs, outputs: ['out'] }];
      }),
    ),
  });

  it('validates random DAGs in a topological order that ignores the order of the map', () => {
    fc.assert(
      fc.property(dags, fc.func(fc.integer()), (deps, shuffle) => {
        const names = [...deps.keys()];
        const spec = specOf(definitionOf(deps, names));
        const position = new Map(spec.steps.map((s, i) => [s.name, i]));
        expect([...position.keys()].sort()).toEqual([...names].sort());
        for (const step of spec.steps) {
          expect(step.after).toEqual([...(deps.get(step.name) ?? [])].sort());
          for (const dep of step.after) expect(position.get(dep)).toBeLessThan(position.get(step.name) ?? -1);
        }
        const shuffled = [...names].sort((a, b) => shuffle(a) - shuffle(b) || (a < b ? -1 : 1));
        expect(specOf(definitionOf(deps, shuffled))).toEqual(spec);
      }),
      { numRuns: 200 },
    );
  });

  it('reports exactly one real cycle when a back edge closes one', () => {
    fc.assert(
      fc.property(dags, fc.nat(), (deps, pick) => {
        const ancestors = (name: string, seen = new Set<string>()): Set<string> => {
          for (const d of deps.get(name) ?? []) if (!seen.has(d)) ancestors(d, seen.add(d));
          return seen;
        };
        const pairs = [...deps.keys()].flatMap((y) => [...ancestors(y)].map((x) => [x, y] as const));
        fc.pre(pairs.length > 0);
        const [x, y] = pairs[pick % pairs.length] as readonly [string, string];
        deps.get(x)?.add(y);
        const lines = problemLines(definitionOf(deps, [...deps.keys()]));
        expect(lines).toHaveLength(1);
        const cycle = (lines[0] ?? '').replace('pipeline › steps: cycle: ', '').split(' → ');
        expect(cycle[0]).toBe([...cycle].sort()[0]);
        expect(cycle.at(-1)).toBe(cycle[0]);
        for (let i = 1; i < cycle.length; i++)
          expect(deps.get(cycle[i] ?? '')?.has(cycle[i - 1] ?? '')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
