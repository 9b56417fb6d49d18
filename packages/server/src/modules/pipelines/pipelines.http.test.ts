import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { PipelineRunDetailJson, PipelineRunJson } from '@cairn/contract';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import {
  demoPipeline,
  outputText,
  startRun,
  statuses,
  waitEnded,
  waitStep,
} from '../../testing/pipeline-world.js';

const API = '/api/v1';

describeEachDatabase('pipelines: running, caching, failing and resuming', ({ database }) => {
  let t: TestApp;
  let scratch: string;
  const api = (method: 'GET' | 'POST', url: string, body?: unknown) => call(t.app, method, API + url, body);

  beforeAll(async () => {
    t = await createTestApp(database());
    scratch = mkdtempSync(path.join(os.tmpdir(), 'cairn-pipeline-test-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A pipeline name no other test uses, so cache hits come only from this test's runs. */
  let counter = 0;
  const unique = (base: string): string => `${base}-${Date.now().toString(36)}-${counter++}`;
  /**
   * The demo under a fresh name, its first command marked with the name: the cache is shared by
   * every pipeline of a project (same command, inputs and parameters give the same key), so each
   * test starts from steps no other test ran.
   */
  const demo = (factor = 3, name = unique('demo')) => {
    const definition = demoPipeline(factor) as { steps: Record<string, { run: string }> };
    const make = definition.steps['make'] as { run: string };
    return {
      ...definition,
      name,
      steps: { ...definition.steps, make: { ...make, run: `${make.run} # ${name}` } },
    };
  };

  it('runs the demo pipeline: steps in order, outputs by reference, each step a tracking run', async () => {
    const started = await startRun(t.app, { definition: demo() });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(Value.Check(PipelineRunDetailJson, started.body.run)).toBe(true);
    const run = await waitEnded(t.app, started.body.run.id);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(Value.Check(PipelineRunDetailJson, run)).toBe(true);
    expect(statuses(run)).toEqual({ make: 'succeeded', scale: 'succeeded', total: 'succeeded' });
    const sum = await outputText(t.app, { run: run.id, step: 'total', output: 'sum' });
    expect(sum).toMatchObject({ status: 200, type: 'file' });
    expect(sum.text.trim()).toBe(String(3 * 5050));
    for (const step of run.steps) {
      expect(step.cached).toBe(false);
      expect(step.reason).toMatch(/no earlier successful run/);
      const tracked = await api('GET', `/runs/${step.runId}`);
      expect(tracked.status).toBe(200);
      expect(JSON.stringify(tracked.body)).toContain(run.id);
    }
    const log = await t.app.inject({
      method: 'GET',
      url: `${API}/pipeline-runs/${run.id}/logs?step=make&stream=stderr`,
    });
    expect(log.statusCode).toBe(200);
    const listed = await api('GET', `/pipeline-runs?pipeline=${run.pipeline}`);
    expect(listed.body.runs).toHaveLength(1);
    expect(listed.body.runs[0]).toMatchObject({ id: run.id, status: 'succeeded', counts: { succeeded: 3 } });
    const lineage = await api('GET', `/lineage/pipeline_run/${run.id}/downstream`);
    expect(lineage.status, JSON.stringify(lineage.body)).toBe(200);
    expect(JSON.stringify(lineage.body)).toContain(run.steps[0].runId);
  });

  it('skips every step of an unchanged re-run, re-runs what a changed parameter reaches, and --no-cache runs all', async () => {
    const name = unique('cached');
    const first = await waitEnded(t.app, (await startRun(t.app, { definition: demo(3, name) })).body.run.id);
    expect(first.status).toBe('succeeded');

    const again = await waitEnded(t.app, (await startRun(t.app, { definition: demo(3, name) })).body.run.id);
    expect(again.status).toBe('succeeded');
    expect(again.steps.map((s: any) => s.cached)).toEqual([true, true, true]);
    // make's command is this test's own; scale and total may reuse another test's identical work.
    const reused = again.steps.find((s: any) => s.name === 'make');
    const original = first.steps.find((s: any) => s.name === 'make');
    expect(reused.cachedFrom).toBe(original.id);
    expect(reused.runId).toBe(original.runId);
    expect(again.steps.map((s: any) => s.cacheKey)).toEqual(first.steps.map((s: any) => s.cacheKey));
    expect(reused.reason).toMatch(/reused step run .* same code, inputs, parameters/);
    expect((await outputText(t.app, { run: again.id, step: 'total', output: 'sum' })).text.trim()).toBe(
      '15150',
    );

    const changed = await startRun(t.app, { definition: demo(3, name), params: { factor: 5 } });
    const third = await waitEnded(t.app, changed.body.run.id);
    expect(third.params).toEqual({ factor: 5 });
    expect(Object.fromEntries(third.steps.map((s: any) => [s.name, s.cached]))).toEqual({
      make: true,
      scale: false,
      total: false,
    });
    expect((await outputText(t.app, { run: third.id, step: 'total', output: 'sum' })).text.trim()).toBe(
      '25250',
    );

    const uncached = await waitEnded(
      t.app,
      (await startRun(t.app, { definition: demo(3, name), noCache: true })).body.run.id,
    );
    expect(uncached.steps.map((s: any) => s.cached)).toEqual([false, false, false]);
    expect(uncached.steps[0].reason).toMatch(/--no-cache/);
  });

  it('fails a run on a non-zero exit, names the step, keeps its stderr tail and skips what depends on it', async () => {
    const definition = {
      name: unique('failing'),
      steps: {
        ok: { run: 'echo fine > {{outputs.out}}', outputs: ['out'] },
        broken: {
          run: 'echo "line one" >&2; echo "the model diverged" >&2; exit 3',
          inputs: { x: 'steps.ok.outputs.out' },
          outputs: ['y'],
        },
        after: {
          run: 'cat {{inputs.y}} > {{outputs.z}}',
          inputs: { y: 'steps.broken.outputs.y' },
          outputs: ['z'],
        },
      },
    };
    const run = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/step broken failed: .*exit.* 3/);
    expect(statuses(run)).toEqual({ ok: 'succeeded', broken: 'failed', after: 'skipped' });
    const broken = run.steps.find((s: any) => s.name === 'broken');
    expect(broken.exitCode).toBe(3);
    expect(broken.stderrTail).toContain('the model diverged');
    expect(run.steps.find((s: any) => s.name === 'after').reason).toMatch(/upstream step broken failed/);
  });

  it('resumes a failed run: finished steps are kept, the failed one and those after it run again', async () => {
    const marker = path.join(scratch, unique('marker'));
    const definition = {
      name: unique('resumable'),
      steps: {
        first: { run: 'date +%s%N > {{outputs.out}}', outputs: ['out'] },
        flaky: {
          run: `test -f ${marker} || { echo "not yet" >&2; exit 1; }; cp {{inputs.x}} {{outputs.y}}`,
          inputs: { x: 'steps.first.outputs.out' },
          outputs: ['y'],
        },
        last: {
          run: 'cat {{inputs.y}} > {{outputs.z}}',
          inputs: { y: 'steps.flaky.outputs.y' },
          outputs: ['z'],
        },
      },
    };
    const failed = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(statuses(failed)).toEqual({ first: 'succeeded', flaky: 'failed', last: 'skipped' });
    const firstBefore = failed.steps.find((s: any) => s.name === 'first');

    await import('node:fs/promises').then((fs) => fs.writeFile(marker, 'go'));
    const resumed = await api('POST', `/pipeline-runs/${failed.id}/resume`);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    const done = await waitEnded(t.app, failed.id);
    expect(done.status).toBe('succeeded');
    const firstAfter = done.steps.find((s: any) => s.name === 'first');
    expect(firstAfter.runId).toBe(firstBefore.runId);
    expect(firstAfter.attempt).toBe(1);
    const first = await outputText(t.app, { run: done.id, step: 'first', output: 'out' });
    const last = await outputText(t.app, { run: done.id, step: 'last', output: 'z' });
    expect(last.text).toBe(first.text);
    expect((await api('POST', `/pipeline-runs/${done.id}/resume`)).status).toBe(412);
  });

  it('retries a failing step with backoff until it succeeds', async () => {
    const counterFile = path.join(scratch, unique('count'));
    const definition = {
      name: unique('retrying'),
      steps: {
        shaky: {
          run: `n=$(cat ${counterFile} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counterFile}; [ $n -ge 3 ] || exit 7; echo $n > {{outputs.n}}`,
          outputs: ['n'],
          retry: { count: 3, backoff: '20ms' },
        },
      },
    };
    const run = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].attempt).toBe(3);
    expect((await outputText(t.app, { run: run.id, step: 'shaky', output: 'n' })).text.trim()).toBe('3');
  });

  it('times a hanging step out and fails one that writes no declared output', async () => {
    const definition = {
      name: unique('faults'),
      steps: {
        hangs: { run: 'sleep 30', timeout: '300ms', outputs: [] },
        forgets: { run: 'echo nothing', outputs: ['model'] },
      },
    };
    const run = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(run.status).toBe('failed');
    const byName = Object.fromEntries(run.steps.map((s: any) => [s.name, s]));
    expect(byName.hangs.status).toBe('failed');
    expect(byName.hangs.error).toMatch(/timed out/);
    expect(byName.forgets.status).toBe('failed');
    expect(byName.forgets.error).toMatch(/no output "?model"?/);
  });

  it('cancels a whole run: the running step is stopped and the rest never start', async () => {
    const definition = {
      name: unique('cancelled'),
      steps: {
        long: { run: 'sleep 30; echo x > {{outputs.x}}', outputs: ['x'] },
        next: { run: 'cat {{inputs.x}}', inputs: { x: 'steps.long.outputs.x' } },
      },
    };
    const started = await startRun(t.app, { definition });
    await waitStep(t.app, { run: started.body.run.id, step: 'long', statuses: ['running'] });
    const cancelled = await api('POST', `/pipeline-runs/${started.body.run.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(Value.Check(PipelineRunJson, cancelled.body.run)).toBe(true);
    const run = await waitEnded(t.app, started.body.run.id, 10_000);
    expect(run.status).toBe('cancelled');
    expect(statuses(run)).toEqual({ long: 'cancelled', next: 'cancelled' });
    expect((await api('POST', `/pipeline-runs/${run.id}/cancel`)).status).toBe(412);
  });

  it('fans out with foreach over a parameter list and joins the items in order', async () => {
    const definition = {
      name: unique('fanout'),
      params: { items: [4, 5, 6] },
      steps: {
        square: {
          run: `echo $(({{item}} * {{item}})) > {{outputs.sq}} # ${unique('square')}`,
          foreach: 'params.items',
          outputs: ['sq'],
        },
        join: {
          run: 'cat {{inputs.all}}/* > {{outputs.list}}',
          inputs: { all: 'steps.square.outputs.sq' },
          outputs: ['list'],
        },
      },
    };
    const run = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.steps.map((s: any) => s.name)).toEqual(['square[0]', 'square[1]', 'square[2]', 'join']);
    expect((await outputText(t.app, { run: run.id, step: 'join', output: 'list' })).text).toBe(
      '16\n25\n36\n',
    );
    const joined = await outputText(t.app, { run: run.id, step: 'square', output: 'sq' });
    expect(joined.type).toBe('dir');
    expect(JSON.parse(joined.text).files.map((f: any) => f.path)).toEqual(['00000', '00001', '00002']);
    const one = await outputText(t.app, { run: run.id, step: 'square[1]', output: 'sq' });
    expect(one.text).toBe('25\n');

    const more = await waitEnded(
      t.app,
      (await startRun(t.app, { definition, params: { items: [4, 5, 6, 7] } })).body.run.id,
    );
    expect(more.steps.filter((s: any) => s.cached).map((s: any) => s.name)).toEqual([
      'square[0]',
      'square[1]',
      'square[2]',
    ]);
  });

  it('fans out over the lines an upstream step wrote', async () => {
    const definition = {
      name: unique('lines'),
      steps: {
        list: { run: 'printf "a\\nb\\n\\nc\\n" > {{outputs.names}}', outputs: ['names'] },
        shout: {
          run: 'echo {{item}} | tr a-z A-Z > {{outputs.up}}',
          foreach: 'steps.list.outputs.names',
          outputs: ['up'],
        },
      },
    };
    const run = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.steps.map((s: any) => [s.name, s.item])).toEqual([
      ['list', null],
      ['shout[0]', 'a'],
      ['shout[1]', 'b'],
      ['shout[2]', 'c'],
    ]);
  });

  it('reads a dataset version as an input and pins it in the run', async () => {
    expect((await api('POST', '/datasets', { name: 'pipe-data' })).status).toBe(200);
    const begun = await api('POST', '/datasets/pipe-data/uploads', {});
    await t.app.inject({
      method: 'PUT',
      url: `${API}/datasets/pipe-data/uploads/${begun.body.uploadId}/files?path=rows.csv&mode=644`,
      payload: Buffer.from('a\n1\n2\n3\n'),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(
      (await api('POST', `/datasets/pipe-data/uploads/${begun.body.uploadId}/commit`, { message: 'v1' }))
        .status,
    ).toBe(200);
    const definition = {
      name: unique('with-data'),
      steps: {
        count: {
          run: 'wc -l < {{inputs.data}}/rows.csv > {{outputs.n}}',
          inputs: { data: 'dataset:pipe-data@latest' },
          outputs: ['n'],
        },
      },
    };
    const run = await waitEnded(t.app, (await startRun(t.app, { definition })).body.run.id);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect((await outputText(t.app, { run: run.id, step: 'count', output: 'n' })).text.trim()).toBe('4');
  });

  describe('bad input', () => {
    const before = async () => (await api('GET', '/pipeline-runs?max_results=1000')).body.runs.length;

    it.each([
      ['no definition', {}, /definition/],
      [
        'a cycle',
        {
          definition: {
            name: 'c',
            steps: {
              a: { run: 'x {{inputs.i}}', inputs: { i: 'steps.b.outputs.o' }, outputs: ['o'] },
              b: { run: 'y {{inputs.i}}', inputs: { i: 'steps.a.outputs.o' }, outputs: ['o'] },
            },
          },
        },
        /cycle/,
      ],
      [
        'an unknown step',
        {
          definition: {
            name: 'u',
            steps: { a: { run: 'x {{inputs.i}}', inputs: { i: 'steps.nope.outputs.o' } } },
          },
        },
        /unknown step/,
      ],
      [
        'a missing output',
        {
          definition: {
            name: 'm',
            steps: {
              a: { run: 'x', outputs: ['o'] },
              b: { run: 'y {{inputs.i}}', inputs: { i: 'steps.a.outputs.p' } },
            },
          },
        },
        /no output/,
      ],
      [
        'an unknown parameter',
        { definition: demoPipeline(), params: { speed: 2 } },
        /unknown parameter "speed"/,
      ],
      ['a bad executor', { definition: demoPipeline(), executor: 'cloud' }, /executor/],
      [
        'an unknown dataset',
        {
          definition: {
            name: 'd',
            steps: { a: { run: 'ls {{inputs.d}}', inputs: { d: 'dataset:no-such-data@latest' } } },
          },
        },
        /no-such-data/,
      ],
      [
        'a code digest that names nothing',
        { definition: demoPipeline(), codeDigest: `sha256:${'0'.repeat(64)}` },
        /code package/,
      ],
    ])('refuses %s with a 4xx and starts nothing', async (_label, body, message) => {
      const count = await before();
      const answer = await startRun(t.app, body as Record<string, unknown>);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.body.error.message).toMatch(message);
      expect(await before()).toBe(count);
    });

    it('answers unknown and malformed run ids, steps and outputs with 4xx', async () => {
      expect((await api('GET', '/pipeline-runs/nope')).status).toBe(400);
      expect((await api('GET', `/pipeline-runs/pr_${'0'.repeat(20)}`)).status).toBe(404);
      const run = await waitEnded(t.app, (await startRun(t.app, { definition: demo() })).body.run.id);
      expect((await outputText(t.app, { run: run.id, step: 'nope', output: 'x' })).status).toBe(404);
      expect((await outputText(t.app, { run: run.id, step: 'make', output: 'nope' })).status).toBe(404);
      expect((await outputText(t.app, { run: run.id, step: 'make[', output: 'numbers' })).status).toBe(400);
      const log = await t.app.inject({
        method: 'GET',
        url: `${API}/pipeline-runs/${run.id}/logs?step=make&stream=both`,
      });
      expect(log.statusCode).toBe(400);
    });

    it('never answers a random body with a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue(), async (definition) => {
          const answer = await startRun(t.app, { definition });
          expect(answer.status).toBeLessThan(500);
          if (answer.status === 201) await waitEnded(t.app, answer.body.run.id);
        }),
        { numRuns: 60 },
      );
    });

    it('refuses a malformed code package and stores a valid one by content', async () => {
      const bad = await t.app.inject({
        method: 'POST',
        url: `${API}/pipeline-code`,
        payload: Buffer.from([0, 0, 0, 9, 1, 2]),
        headers: { 'content-type': 'application/vnd.cairn.tree' },
      });
      expect(bad.statusCode).toBe(400);
      const { treeFrameHeader } = await import('@cairn/contract');
      const content = Buffer.from('print("hi")\n');
      const body = Buffer.concat([
        treeFrameHeader({ path: 'train.py', sizeBytes: content.length, executable: false }),
        content,
      ]);
      const upload = () =>
        t.app.inject({
          method: 'POST',
          url: `${API}/pipeline-code`,
          payload: body,
          headers: { 'content-type': 'application/vnd.cairn.tree' },
        });
      const first = await upload();
      expect(first.statusCode, first.body).toBe(201);
      expect(JSON.parse((await upload()).body).digest).toBe(JSON.parse(first.body).digest);
      const escape = Buffer.concat([
        treeFrameHeader({ path: '../evil', sizeBytes: 1, executable: false }),
        Buffer.from('x'),
      ]);
      const refused = await t.app.inject({
        method: 'POST',
        url: `${API}/pipeline-code`,
        payload: escape,
        headers: { 'content-type': 'application/vnd.cairn.tree' },
      });
      expect(refused.statusCode).toBe(400);
      expect(existsSync(path.join(scratch, 'evil'))).toBe(false);
    });
  });
});
