import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_STARTUP_TIMEOUT_MS,
  parseCommandManifest,
  readCommandManifest,
} from './command-manifest.js';

const x = { name: 'x', datatype: 'FP32', shape: [-1, 20] };
const y = { name: 'y', datatype: 'FP64', shape: [-1] };
const valid = { command: ['python3', 'predict.py'], inputs: [x], outputs: [y] };
const text = (value: unknown): string => JSON.stringify(value);

describe('parseCommandManifest', () => {
  it('reads a minimal manifest with the default timeouts', () => {
    expect(parseCommandManifest(text(valid))).toEqual({
      command: ['python3', 'predict.py'],
      env: {},
      metadata: { inputs: [x], outputs: [y] },
      startupTimeoutMs: DEFAULT_STARTUP_TIMEOUT_MS,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    });
  });

  it('reads env and timeouts', () => {
    const manifest = parseCommandManifest(
      text({ ...valid, env: { OMP_NUM_THREADS: '1' }, startupTimeoutMs: 120_000, requestTimeoutMs: 500 }),
    );
    expect(manifest).toMatchObject({
      env: { OMP_NUM_THREADS: '1' },
      startupTimeoutMs: 120_000,
      requestTimeoutMs: 500,
    });
  });

  it.each([
    ['not JSON', '{"command": ', /is not valid JSON/],
    ['an array', '[]', /the file must be a JSON object; got \[\]/],
    [
      'no command',
      text({ inputs: [x], outputs: [y] }),
      /"command" must be a non-empty array of strings.*got nothing/,
    ],
    [
      'a command string',
      text({ ...valid, command: 'python3 predict.py' }),
      /"command" must be a non-empty array/,
    ],
    ['an empty command', text({ ...valid, command: [] }), /"command" must be a non-empty array/],
    ['an empty program', text({ ...valid, command: ['', 'x'] }), /"command" must be a non-empty array/],
    [
      'a command with a number',
      text({ ...valid, command: ['python3', 3] }),
      /"command" must be a non-empty array/,
    ],
    ['env an array', text({ ...valid, env: ['A=1'] }), /"env" must be a JSON object/],
    [
      'an env number',
      text({ ...valid, env: { THREADS: 4 } }),
      /"env" variable THREADS must be a string; got 4/,
    ],
    [
      'an env name with =',
      text({ ...valid, env: { 'A=B': 'c' } }),
      /"env" has an invalid variable name "A=B"/,
    ],
    ['no inputs', text({ ...valid, inputs: undefined }), /"inputs" must be a non-empty array/],
    ['empty outputs', text({ ...valid, outputs: [] }), /"outputs" must be a non-empty array/],
    [
      'an input without name',
      text({ ...valid, inputs: [{ datatype: 'FP32', shape: [1] }] }),
      /inputs\[0\]\.name must be/,
    ],
    [
      'an input without datatype',
      text({ ...valid, inputs: [x, { name: 'z', shape: [1] }] }),
      /inputs\[1\]\.datatype must be one of BOOL, .*FP32.*; got nothing/,
    ],
    [
      'an unknown datatype',
      text({ ...valid, outputs: [{ ...y, datatype: 'FLOAT' }] }),
      /outputs\[0\]\.datatype .*got "FLOAT"/,
    ],
    [
      'an input without shape',
      text({ ...valid, inputs: [{ name: 'x', datatype: 'FP32' }] }),
      /inputs\[0\]\.shape must be/,
    ],
    [
      'a shape of -2',
      text({ ...valid, inputs: [{ ...x, shape: [-2] }] }),
      /inputs\[0\]\.shape must be.*got \[-2\]/,
    ],
    [
      'a fractional dimension',
      text({ ...valid, inputs: [{ ...x, shape: [1.5] }] }),
      /inputs\[0\]\.shape must be/,
    ],
    ['a spec that is a string', text({ ...valid, inputs: ['x'] }), /inputs\[0\] must be a JSON object/],
    ['a duplicate name', text({ ...valid, outputs: [y, y] }), /outputs\[1\]\.name "y" is declared twice/],
    [
      'an unknown spec field',
      text({ ...valid, inputs: [{ ...x, dims: [1] }] }),
      /unknown field "inputs\[0\]\.dims"/,
    ],
    [
      'an unknown field',
      text({ ...valid, requestTimeout: 5 }),
      /unknown field "requestTimeout"; the fields are "command"/,
    ],
    [
      'a zero timeout',
      text({ ...valid, requestTimeoutMs: 0 }),
      /"requestTimeoutMs" must be a whole number of milliseconds/,
    ],
    [
      'a string timeout',
      text({ ...valid, startupTimeoutMs: '60s' }),
      /"startupTimeoutMs" must be a whole number/,
    ],
    [
      'a huge timeout',
      text({ ...valid, startupTimeoutMs: 2 ** 31 }),
      /"startupTimeoutMs" must be a whole number/,
    ],
  ])('refuses %s', (_case, manifest, message) => {
    let thrown: unknown;
    try {
      parseCommandManifest(manifest);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(message) });
    expect((thrown as Error).message.startsWith('cairn-model.json: ')).toBe(true);
  });
});

describe('readCommandManifest', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-manifest-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads cairn-model.json at the root', async () => {
    await writeFile(join(root, 'cairn-model.json'), text(valid));
    await expect(readCommandManifest(root)).resolves.toMatchObject({ command: ['python3', 'predict.py'] });
  });

  it('says so when there is no cairn-model.json', async () => {
    await expect(readCommandManifest(join(root, 'nowhere'))).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/needs a cairn-model.json at the root of its files/),
    });
  });
});
