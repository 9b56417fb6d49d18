import {
  CairnError,
  parseFileTree,
  TREE_FRAMES_CONTENT_TYPE,
  type FileTree,
  type ParamValue,
  type PipelineExecutorName,
  type PipelineRunDetailJson,
  type PipelineRunJson,
  type PipelineRunStatus,
  type StepRunJson,
} from '@cairn/contract';
import type { CodePackage, PackCodeOptions, SkippedEntry } from './code-package.js';
import { transferTimeoutMs } from './models.js';
import { checkPipeline } from './pipeline-builder.js';
import { PipelineTriggersResource } from './pipeline-triggers.js';
import { pathOf, readJson, type Transport } from './transport.js';

export interface UploadCodeOptions extends PackCodeOptions {
  /** The project the package is stored for (`default` when not given). */
  project?: string;
}

export interface UploadedCode {
  /** The package's digest for `start({ codeDigest })`; null when the folder held no files (nothing was sent). */
  digest: string | null;
  files: number;
  sizeBytes: number;
  /** Links and other entries left out of the package. */
  skipped: SkippedEntry[];
}

export interface StartPipelineRunInput {
  /** A definition from `pipeline()`, or a raw one (a parsed YAML or JSON file). */
  definition: unknown;
  /** Overrides of the pipeline's parameter defaults. */
  params?: Record<string, ParamValue>;
  /** `local` (the server runs the steps) or `queue` (workers take them); the server's default when not given. */
  executor?: PipelineExecutorName;
  /** Run every step, reusing nothing. */
  noCache?: boolean;
  project?: string;
  /** From `uploadCode()`: the folder the steps run in. */
  codeDigest?: string;
}

export interface RunPipelineOptions extends Omit<StartPipelineRunInput, 'definition' | 'codeDigest'> {
  /** The folder the steps run in, uploaded first (see `uploadCode`). */
  codeDir?: string;
  /** Globs to leave out of the code package besides `.cairnignore`. */
  exclude?: readonly string[];
  /** Files to leave out (the pipeline's own file, say). */
  skip?: readonly string[];
  /** Told what was uploaded before the run starts. */
  onCodeUploaded?: (code: UploadedCode) => void;
}

export interface ListPipelineRunsOptions {
  project?: string;
  pipeline?: string;
  status?: PipelineRunStatus;
  maxResults?: number;
  pageToken?: string;
}

export interface PipelineRunPage {
  /** Newest first. */
  runs: PipelineRunJson[];
  nextPageToken?: string;
}

/** One output of one step: `{ step: 'train', output: 'model' }`; `step` may be `scale[3]` for one item of a foreach step. */
export interface OutputRef {
  step: string;
  output: string;
}

/** A step output as the server sends it: a file's bytes, or a directory's file tree. */
export type StepOutputContent =
  | { type: 'file'; digest: string | null; sizeBytes: number | null; response: Response }
  | { type: 'dir'; tree: FileTree };

export interface DownloadedOutput {
  /** Where it was written. */
  path: string;
  type: 'file' | 'dir';
  files: number;
  sizeBytes: number;
}

export interface WaitOptions {
  /** The longest pause between two polls; 1 s by default (the first polls come quicker). */
  intervalMs?: number;
  /** Called with every state fetched, the final one included. */
  onUpdate?: (detail: PipelineRunDetailJson) => void;
  /** Stops waiting (the run goes on): `wait` rejects with the signal's reason. */
  signal?: AbortSignal;
}

const API = '/api/v1';
const runPath = (id: string, ...rest: string[]): string => `${API}/pipeline-runs${pathOf(id, ...rest)}`;

export const ENDED_PIPELINE_STATUSES: ReadonlySet<PipelineRunStatus> = new Set([
  'succeeded',
  'failed',
  'cancelled',
]);

const STEP_LABEL = /^[A-Za-z_][A-Za-z0-9_-]{0,63}(?:\[\d{1,6}\])?$/;
const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const DOWNLOADS_IN_FLIGHT = 4;
const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 10_000;

/** `train.model` or `scale[3].squares` → `{ step, output }`. */
export function parseOutputRef(text: string): OutputRef {
  const dot = text.lastIndexOf('.');
  const step = dot < 0 ? '' : text.slice(0, dot);
  const output = dot < 0 ? '' : text.slice(dot + 1);
  if (!STEP_LABEL.test(step) || !OUTPUT_NAME.test(output)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `"${text}" does not name a step output: write STEP.OUTPUT, e.g. train.model or scale[3].squares`,
      { field: 'output' },
    );
  }
  return { step, output };
}

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The step runs an output reference covers: one row, or every item of a foreach step. */
export function stepRunsOf(detail: PipelineRunDetailJson, step: string): StepRunJson[] {
  return step.includes('[')
    ? detail.steps.filter((s) => s.name === step)
    : detail.steps.filter((s) => s.step === step);
}

/** The size the run records for an output (summed over items), when it knows one. */
function recordedSize(detail: PipelineRunDetailJson, ref: OutputRef): number | undefined {
  const rows = stepRunsOf(detail, ref.step);
  const sizes = rows.map((row) => row.outputs[ref.output]?.sizeBytes);
  return rows.length === 0 || sizes.some((s) => s === undefined)
    ? undefined
    : sizes.reduce<number>((sum, s) => sum + (s ?? 0), 0);
}

async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DOWNLOADS_IN_FLIGHT, items.length) }, worker));
}

/**
 * `cairn.pipelines` — pipeline runs over HTTP: upload a code folder, start a
 * run, follow it to its end, cancel or resume it, read its logs and outputs.
 *
 * ```ts
 * const run = await cairn.pipelines.run(definition, { codeDir: '.', params: { n: 100 } });
 * const done = await cairn.pipelines.wait(run.id);
 * await cairn.pipelines.downloadOutput(done.id, 'square.squares', 'out/squares.txt');
 * ```
 */
export class PipelinesResource {
  /** `cairn.pipelines.triggers`: cron schedules and dataset triggers that start runs. */
  readonly triggers: PipelineTriggersResource;

  constructor(
    private readonly transport: Transport,
    private readonly timeoutMs = 30_000,
  ) {
    this.triggers = new PipelineTriggersResource(transport, this);
  }

  /**
   * What `uploadCode` would send, without sending it (Node only): the files of
   * `dir` in path order, framed, less `.git`, `node_modules`, virtual
   * environments, caches and what `.cairnignore` lists; links are left out and
   * reported. Fails with PAYLOAD_TOO_LARGE past PIPELINE_LIMITS.maxCodeFiles
   * or maxCodeBytes.
   */
  async pack(dir: string, options: PackCodeOptions = {}): Promise<CodePackage> {
    const { packCodeDirectory } = await import('./code-package.js');
    return packCodeDirectory(dir, options);
  }

  /** Packs `dir` (see `pack`) and uploads it. An empty folder sends nothing (`digest: null`). */
  async uploadCode(dir: string, options: UploadCodeOptions = {}): Promise<UploadedCode> {
    const { project, ...packOptions } = options;
    const pack = await this.pack(dir, packOptions);
    if (pack.files === 0) return { digest: null, files: 0, sizeBytes: 0, skipped: pack.skipped };
    const stored = await readJson<{ digest: string; files: number; sizeBytes: number }>(
      await this.transport.send({
        method: 'POST',
        path: `${API}/pipeline-code`,
        query: { project },
        headers: { 'content-type': TREE_FRAMES_CONTENT_TYPE },
        body: () => pack.body,
        timeoutMs: transferTimeoutMs(this.timeoutMs, pack.body.byteLength),
      }),
    );
    return { ...stored, skipped: pack.skipped };
  }

  /** Starts a run; a definition the server refuses fails with INVALID_ARGUMENT listing every problem. */
  async start(input: StartPipelineRunInput): Promise<PipelineRunDetailJson> {
    const answer = await readJson<{ run: PipelineRunDetailJson }>(
      await this.transport.send({ method: 'POST', path: `${API}/pipeline-runs`, json: input }),
    );
    return answer.run;
  }

  /**
   * Checks the definition here (a mistake throws PipelineDefinitionError
   * before anything is sent), uploads `codeDir` when given and not empty,
   * then starts the run.
   */
  async run(definition: unknown, options: RunPipelineOptions = {}): Promise<PipelineRunDetailJson> {
    checkPipeline(definition);
    const { codeDir, exclude, skip, onCodeUploaded, ...start } = options;
    let codeDigest: string | undefined;
    if (codeDir !== undefined) {
      const code = await this.uploadCode(codeDir, {
        ...(exclude === undefined ? {} : { exclude }),
        ...(skip === undefined ? {} : { skip }),
        ...(start.project === undefined ? {} : { project: start.project }),
      });
      onCodeUploaded?.(code);
      codeDigest = code.digest ?? undefined;
    }
    return this.start({ ...start, definition, ...(codeDigest === undefined ? {} : { codeDigest }) });
  }

  /** The run with every step run (`name[i]` for foreach items), in the server's order. */
  async get(id: string): Promise<PipelineRunDetailJson> {
    return (
      await readJson<{ run: PipelineRunDetailJson }>(
        await this.transport.send({ method: 'GET', path: runPath(id) }),
      )
    ).run;
  }

  /** One page, newest first. */
  async list(options: ListPipelineRunsOptions = {}): Promise<PipelineRunPage> {
    const page = await readJson<PipelineRunPage>(
      await this.transport.send({
        method: 'GET',
        path: `${API}/pipeline-runs`,
        query: {
          project: options.project,
          pipeline: options.pipeline,
          status: options.status,
          max_results: options.maxResults,
          page_token: options.pageToken,
        },
      }),
    );
    return {
      runs: page.runs,
      ...(page.nextPageToken === undefined || page.nextPageToken === ''
        ? {}
        : { nextPageToken: page.nextPageToken }),
    };
  }

  /** Asks the run to stop: it is `cancelling` until its running steps have ended, then `cancelled`. */
  async cancel(id: string): Promise<PipelineRunJson> {
    return (
      await readJson<{ run: PipelineRunJson }>(
        await this.transport.send({ method: 'POST', path: runPath(id, 'cancel') }),
      )
    ).run;
  }

  /** Runs a failed or cancelled run again from where it stopped; finished steps are kept. */
  async resume(id: string): Promise<PipelineRunDetailJson> {
    return (
      await readJson<{ run: PipelineRunDetailJson }>(
        await this.transport.send({ method: 'POST', path: runPath(id, 'resume') }),
      )
    ).run;
  }

  /** A step run's stdout or stderr; `step` is `name`, or `name[i]` for one item of a foreach step. */
  async logs(id: string, step: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
    const response = await this.transport.send({
      method: 'GET',
      path: runPath(id, 'logs'),
      query: { step, stream },
      headers: { accept: 'text/plain' },
    });
    return response.text();
  }

  /**
   * A step output: a file's bytes (as a Response to read or stream), or a
   * directory's file tree; with `path`, one file of the directory. A foreach
   * step's output (`scale`, no `[i]`) is a directory with one entry per item:
   * `00000`, `00001`, …
   */
  async output(
    id: string,
    ref: OutputRef | string,
    options: { path?: string; timeoutMs?: number } = {},
  ): Promise<StepOutputContent> {
    const { step, output } = typeof ref === 'string' ? parseOutputRef(ref) : ref;
    const response = await this.transport.send({
      method: 'GET',
      path: runPath(id, 'outputs', step, output),
      query: { path: options.path === '' ? undefined : options.path },
      headers: { accept: '*/*' },
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    if (response.headers.get('x-cairn-output-type') === 'dir') {
      return { type: 'dir', tree: parseFileTree(await response.text()) };
    }
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    return {
      type: 'file',
      digest: response.headers.get('x-cairn-digest'),
      sizeBytes: Number.isSafeInteger(length) ? length : null,
      response,
    };
  }

  /**
   * Writes an output to disk (Node only): a file output to `target`, a
   * directory output as the tree under the folder `target`. Every file is
   * streamed, checked against its digest and renamed into place whole.
   */
  async downloadOutput(id: string, ref: OutputRef | string, target: string): Promise<DownloadedOutput> {
    const where = typeof ref === 'string' ? parseOutputRef(ref) : ref;
    const disk = await import('./code-package.js');
    const size = recordedSize(await this.get(id), where);
    const content = await this.output(id, where, { timeoutMs: transferTimeoutMs(this.timeoutMs, size) });
    if (content.type === 'file') {
      const written = await disk.saveBody(content.response, target, content);
      return { path: target, type: 'file', files: 1, sizeBytes: written };
    }
    await disk.ensureFolder(target);
    let sizeBytes = 0;
    await eachLimited(content.tree.files, async (file) => {
      const local = disk.pathInside(target, file.path);
      const one = await this.output(id, where, {
        path: file.path,
        timeoutMs: transferTimeoutMs(this.timeoutMs, file.sizeBytes),
      });
      if (one.type !== 'file') throw new CairnError('DATA_LOSS', `${file.path} was listed as a file`);
      const written = await disk.saveBody(one.response, local, file);
      sizeBytes += written;
    });
    return { path: target, type: 'dir', files: content.tree.files.length, sizeBytes };
  }

  /**
   * Polls the run until it has ended (succeeded, failed or cancelled) and
   * resolves with its final state. Polls come quickly at first, then every
   * `intervalMs`, and less often for runs with thousands of step runs.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<PipelineRunDetailJson> {
    const interval = Math.max(50, options.intervalMs ?? 1000);
    let delay = Math.min(FIRST_POLL_MS, interval);
    for (;;) {
      if (options.signal?.aborted === true) throw options.signal.reason as Error;
      const detail = await this.get(id);
      options.onUpdate?.(detail);
      if (ENDED_PIPELINE_STATUSES.has(detail.status)) return detail;
      // A detail of N step runs costs the server and this process O(N): ask for it less often.
      const floor = Math.min(MAX_POLL_MS, detail.steps.length / 2);
      await sleep(Math.max(delay, floor), options.signal);
      delay = Math.min(interval, delay * 2);
    }
  }
}
