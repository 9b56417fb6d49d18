import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCairnError } from '@cairn/contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RuntimeSettings } from '../runtime.js';
import type { Tensor } from '../tensors/tensor.js';
import { CommandRuntimeFactory } from './command-runtime-factory.js';
import type { CommandRuntimeFactoryOptions } from './command-runtime-factory.js';
import type { CommandRuntime } from './command-runtime.js';

const SCRIPTED_MODEL = fileURLToPath(new URL('./fixtures/scripted-model.mjs', import.meta.url));
const SETTINGS: RuntimeSettings = { batching: { maxBatchSize: 1, maxBatchWaitMs: 0 }, maxQueue: 64 };
const METADATA = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1] },
    { name: 'action', datatype: 'BYTES', shape: [1] },
  ],
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [-1] },
    { name: 'z', datatype: 'INT32', shape: [1] },
  ],
};
/** Long enough for a loaded machine; nothing asserts how long anything took. */
const EVENTUALLY = { timeout: 20_000, interval: 50 };

interface Started {
  runtime: CommandRuntime;
  root: string;
  logs: string[];
}

interface StartOptions {
  env?: Record<string, string>;
  manifest?: Record<string, unknown>;
  settings?: Partial<RuntimeSettings>;
  factory?: CommandRuntimeFactoryOptions;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function modelFolder(manifest: Record<string, unknown>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-command-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'cairn-model.json'), JSON.stringify(manifest));
  return root;
}

function load(
  root: string,
  options: StartOptions = {},
): { promise: Promise<CommandRuntime>; logs: string[] } {
  const logs: string[] = [];
  const factory = new CommandRuntimeFactory({
    onLog: (level, message) => logs.push(`${level}: ${message}`),
    restartBackoff: { initialMs: 20, maxMs: 200 },
    ...options.factory,
  });
  const files = { digest: 'sha256:0123456789abcdef', format: 'command', root, paths: ['cairn-model.json'] };
  const promise = factory.load(files, { ...SETTINGS, ...options.settings });
  void promise.then(
    (runtime) => cleanups.push(() => runtime.close()),
    () => {},
  );
  return { promise, logs };
}

async function start(options: StartOptions = {}): Promise<Started> {
  const manifest = {
    command: [process.execPath, SCRIPTED_MODEL],
    env: options.env ?? {},
    ...METADATA,
    ...options.manifest,
  };
  const root = await modelFolder(manifest);
  const { promise, logs } = load(root, options);
  return { runtime: await promise, root, logs };
}

function ask(runtime: CommandRuntime, action = 'double', x: number[] = [1, 2]): Promise<Tensor[]> {
  return runtime.infer([
    { name: 'x', datatype: 'FP32', shape: [x.length], data: Float32Array.from(x) },
    { name: 'action', datatype: 'BYTES', shape: [1], data: [action] },
  ]);
}

function output(outputs: Tensor[], name: string): unknown[] {
  const tensor = outputs.find((candidate) => candidate.name === name);
  if (tensor === undefined) throw new Error(`no output ${name}`);
  return Array.from(tensor.data as ArrayLike<unknown>);
}

/** The model answers again (after a restart): polls rather than sleeping. */
async function answersAgain(runtime: CommandRuntime): Promise<Tensor[]> {
  return vi.waitFor(() => ask(runtime, 'double', [21]), EVENTUALLY);
}

const unavailable = (message: RegExp) => ({
  code: 'UNAVAILABLE',
  retryable: true,
  httpStatus: 503,
  message: expect.stringMatching(message),
});

describe('CommandRuntimeFactory.load', () => {
  it('starts the program, takes its metadata from the manifest and answers', async () => {
    const { runtime, logs } = await start();
    expect(runtime.metadata).toEqual(METADATA);
    expect(runtime.state).toBe('ready');
    const outputs = await ask(runtime, 'double', [1.5, -2]);
    expect(outputs.map((tensor) => tensor.name)).toEqual(['y', 'z']);
    expect(outputs[0]).toEqual({ name: 'y', datatype: 'FP32', shape: [2], data: Float32Array.of(3, -4) });
    expect(runtime.restarts).toBe(0);
    expect(logs).toContainEqual(
      expect.stringMatching(/^warn: command model 0123456789ab: ignored a line .*loading the model/),
    );
  });

  it('answers concurrent requests in whatever order the program writes the answers', async () => {
    const { runtime } = await start();
    const settled: string[] = [];
    const track = (name: string, request: Promise<Tensor[]>) =>
      request.then((outputs) => {
        settled.push(name);
        return output(outputs, 'y');
      });
    const answers = await Promise.all([
      track('first', ask(runtime, 'hold', [1])),
      track('second', ask(runtime, 'hold', [2])),
      track('third', ask(runtime, 'release', [3])),
    ]);
    expect(answers).toEqual([[2], [4], [6]]);
    expect(settled).toEqual(['third', 'second', 'first']);
  });

  it('passes the outputs asked for to the program', async () => {
    const { runtime } = await start();
    const outputs = await runtime.infer(
      [{ name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.of(4) }],
      {
        outputs: ['z'],
      },
    );
    expect(outputs).toEqual([{ name: 'z', datatype: 'INT32', shape: [1], data: Int32Array.of(1) }]);
  });

  it("runs the program in the model's folder with PATH, HOME, LANG and the manifest env only", async () => {
    process.env['CAIRN_SECRET_TEST'] = 'do-not-leak';
    try {
      const { runtime, root } = await start({ env: { MODEL_FLAVOR: 'citrus' } });
      const outputs = await ask(runtime, 'env');
      const names = output(outputs, 'names');
      expect(names).not.toContain('CAIRN_SECRET_TEST');
      expect(['HOME', 'LANG', 'MODEL_FLAVOR', 'PATH', 'PYTHONUNBUFFERED']).toEqual(
        expect.arrayContaining(names),
      );
      expect(names).toContain('MODEL_FLAVOR');
      expect(output(outputs, 'flavor')).toEqual(['citrus']);
      expect(output(outputs, 'cwd')).toEqual([await realpath(root)]);
    } finally {
      delete process.env['CAIRN_SECRET_TEST'];
    }
  });

  it('names a program that does not exist', async () => {
    const error = await start({ manifest: { command: ['cairn-no-such-program', 'predict.py'] } }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/program "cairn-no-such-program" was not found/),
    });
  });

  it('reports a program that spawn() refuses at once (E2BIG)', async () => {
    const error = await start({ manifest: { command: [process.execPath, 'x'.repeat(200_000)] } }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/could not be run \(spawn E2BIG\)/),
    });
  });

  it('gives the exit code and the last lines of stderr of a program that exits before it is ready', async () => {
    const error = await start({ env: { STARTUP: 'exit' } }).catch((e) => e);
    expect(error).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(error.message).toMatch(/exited \(code 7\) before it was ready/);
    expect(error.message).toMatch(/loading weights.pkl\nFileNotFoundError: weights.pkl$/);
  });

  it('gives up on a program that is not ready within startupTimeoutMs', async () => {
    const error = await start({ env: { STARTUP: 'never' }, manifest: { startupTimeoutMs: 300 } }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/did not write \{"ready": true\} within 300 ms \(startupTimeoutMs\)/),
    });
  });

  it.each([
    ['no manifest', undefined, /needs a cairn-model.json/],
    ['a manifest without command', { ...METADATA }, /"command" must be a non-empty array of strings/],
    [
      'an input without datatype',
      { command: ['x'], inputs: [{ name: 'x', shape: [1] }], outputs: METADATA.outputs },
      /inputs\[0\]\.datatype/,
    ],
  ])('refuses %s', async (_case, manifest, message) => {
    const root =
      manifest === undefined ? await mkdtemp(join(tmpdir(), 'cairn-command-')) : await modelFolder(manifest);
    if (manifest === undefined) cleanups.push(() => rm(root, { recursive: true, force: true }));
    await expect(load(root).promise).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(message),
    });
  });
});

describe("the program's answers", () => {
  it('turns an error with code invalid_argument into INVALID_ARGUMENT and any other into INTERNAL', async () => {
    const { runtime } = await start();
    const invalid = await ask(runtime, 'invalid').catch((e) => e);
    expect(invalid).toMatchObject({
      code: 'INVALID_ARGUMENT',
      httpStatus: 400,
      message: 'x must be positive',
    });
    const failed = await ask(runtime, 'error').catch((e) => e);
    expect(failed).toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/boom: the model fell over/),
    });
    expect(output(await ask(runtime), 'y')).toEqual([2, 4]);
    expect(runtime.restarts).toBe(0);
  });

  it.each([
    ['bad-output', /invalid output: .*outputs\[0\]/],
    ['no-outputs', /invalid line: a response needs an "outputs" array or an "error" string/],
  ])('fails a request answered with %s as INTERNAL', async (action, message) => {
    const { runtime } = await start();
    await expect(ask(runtime, action)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(message),
    });
    expect(runtime.state).toBe('ready');
  });

  it('logs and ignores lines outside the protocol', async () => {
    const { runtime, logs } = await start();
    expect(output(await ask(runtime, 'garbage', [5]), 'y')).toEqual([10]);
    expect(logs).toContainEqual(
      expect.stringMatching(/^warn: .*ignored a line .*not JSON: "this is not json"/),
    );
    expect(logs).toContainEqual(expect.stringMatching(/^warn: .*not a JSON object: "\[1, 2, 3\]"/));
    expect(logs).toContainEqual(
      expect.stringMatching(/^warn: .*an answer to unknown request "no-such-request"/),
    );
    expect(runtime.restarts).toBe(0);
  });

  it('passes stderr to the log', async () => {
    const { runtime, logs } = await start();
    await ask(runtime, 'crash').catch(() => {});
    await vi.waitFor(
      () => expect(logs).toContainEqual(expect.stringMatching(/^info: .*stderr: crashing on purpose$/)),
      EVENTUALLY,
    );
  });
});

describe('supervision', () => {
  it('fails the requests in flight when the program crashes, refuses while restarting, then answers again', async () => {
    const { runtime } = await start();
    const inFlight = [ask(runtime, 'hold'), ask(runtime, 'hold'), ask(runtime, 'crash')];
    for (const request of inFlight) {
      await expect(request).rejects.toMatchObject(
        unavailable(/^model process exited \(code 3\); restarting$/),
      );
    }
    expect(runtime.state).toBe('restarting');
    await expect(ask(runtime)).rejects.toMatchObject(
      unavailable(/^model process is restarting; retry shortly$/),
    );
    expect(output(await answersAgain(runtime), 'y')).toEqual([42]);
    expect(runtime.state).toBe('ready');
    expect(runtime.restarts).toBe(1);
  });

  it('keeps restarting a program that crashes while loading after a restart', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'cairn-command-state-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const { runtime, logs } = await start({ env: { STATE_DIR: stateDir, CRASH_ON_START: '2' } });
    await expect(ask(runtime, 'crash')).rejects.toMatchObject(unavailable(/exited \(code 3\); restarting/));
    await expect(ask(runtime)).rejects.toMatchObject(
      unavailable(/model process is restarting; retry shortly/),
    );
    const outputs = await answersAgain(runtime);
    expect(output(outputs, 'z')).toEqual([3]);
    expect(runtime.restarts).toBe(2);
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^warn: .*model process exited \(code 5\) before it was ready; restarting in \d+ ms; stderr: failing to load on purpose \(start 2\)/,
      ),
    );
  });

  it('restarts a program that writes a line over the limit', async () => {
    const { runtime } = await start({ env: { OVERSIZE: '200000' }, factory: { maxLineBytes: 64 * 1024 } });
    const held = ask(runtime, 'hold');
    await expect(ask(runtime, 'oversized')).rejects.toMatchObject(
      unavailable(/^model process wrote a line longer than 65536 bytes on stdout; restarting$/),
    );
    await expect(held).rejects.toMatchObject(unavailable(/longer than 65536 bytes/));
    await answersAgain(runtime);
    expect(runtime.restarts).toBe(1);
  });

  it('fails a request that takes longer than requestTimeoutMs and restarts the program', async () => {
    const { runtime } = await start({ manifest: { requestTimeoutMs: 500 } });
    const hung = ask(runtime, 'hang');
    const held = ask(runtime, 'hold');
    await expect(hung).rejects.toMatchObject(
      unavailable(/^model did not answer within 500 ms; restarting the model process$/),
    );
    await expect(held).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await answersAgain(runtime);
    expect(runtime.restarts).toBe(1);
  });

  it('restarts a program that closed its stdin (EPIPE is handled, never thrown)', async () => {
    const { runtime } = await start();
    expect(output(await ask(runtime, 'close-stdin', [1]), 'y')).toEqual([2]);
    await expect(ask(runtime)).rejects.toMatchObject(
      unavailable(/^model process closed its stdin \(EPIPE\); restarting$/),
    );
    await answersAgain(runtime);
    expect(runtime.restarts).toBe(1);
  });

  it('refuses requests beyond maxQueue in flight as overloaded', async () => {
    const { runtime } = await start({ settings: { maxQueue: 3 } });
    const accepted = [ask(runtime, 'hold', [1]), ask(runtime, 'hold', [2]), ask(runtime, 'release', [3])];
    const refused = await ask(runtime).catch((e) => e);
    expect(isCairnError(refused)).toBe(true);
    expect(refused).toMatchObject(unavailable(/overloaded \(3 requests in flight\); retry shortly/));
    expect((await Promise.all(accepted)).map((outputs) => output(outputs, 'y'))).toEqual([[2], [4], [6]]);
    expect(output(await ask(runtime), 'y')).toEqual([2, 4]);
  });
});

describe('close', () => {
  it('refuses new requests, answers those in flight, then stops the program', async () => {
    const { runtime } = await start();
    const inFlight = [ask(runtime, 'sleep:300', [1]), ask(runtime, 'sleep:100', [2])];
    const closing = runtime.close();
    await expect(ask(runtime)).rejects.toMatchObject(unavailable(/^model is closed$/));
    expect((await Promise.all(inFlight)).map((outputs) => output(outputs, 'y'))).toEqual([[2], [4]]);
    await closing;
    expect(runtime.state).toBe('closed');
    expect(runtime.restarts).toBe(0);
    await expect(ask(runtime)).rejects.toMatchObject(unavailable(/^model is closed$/));
    await expect(runtime.close()).resolves.toBeUndefined();
  });

  it('gives up on requests and on a program that ignores EOF and SIGTERM after its timeouts', async () => {
    const { runtime, logs } = await start({
      env: { IGNORE_EOF: '1', IGNORE_SIGTERM: '1' },
      factory: { shutdown: { drainMs: 200, exitMs: 200 } },
    });
    const hung = ask(runtime, 'hang');
    await runtime.close();
    await expect(hung).rejects.toMatchObject(unavailable(/^model process was killed \(signal SIGKILL\)$/));
    expect(logs).toContainEqual(expect.stringMatching(/closing with 1 requests unanswered after 200 ms/));
    expect(logs).toContainEqual(
      expect.stringMatching(/did not exit within 200 ms of its input closing; SIGTERM/),
    );
    expect(logs).toContainEqual(expect.stringMatching(/did not exit within 200 ms of SIGTERM; SIGKILL/));
    expect(runtime.state).toBe('closed');
  });

  it('does not restart a program that crashes while close waits for its requests', async () => {
    const { runtime } = await start();
    const inFlight = ask(runtime, 'hold');
    void ask(runtime, 'crash-after:100').catch(() => {});
    const closing = runtime.close();
    expect(runtime.state).toBe('closed');
    await expect(inFlight).rejects.toMatchObject(unavailable(/^model process exited \(code 3\)$/));
    await closing;
    expect(runtime.restarts).toBe(0);
  });

  it('does not restart a program that crashed before close', async () => {
    const { runtime } = await start({ factory: { restartBackoff: { initialMs: 10 } } });
    await expect(ask(runtime, 'crash')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await runtime.close();
    // Give a wrongly scheduled restart (10 ms backoff) time to happen.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runtime.state).toBe('closed');
    expect(runtime.restarts).toBe(0);
  });
});
