import type { Readable } from 'node:stream';
import { CairnError, parseFileTree, type FileTree, type FileTreeEntry } from '@cairn/contract';
import type { ArtifactService, BlobStore, Digest } from '../artifacts/index.js';
import type { TrackingService } from '../tracking/index.js';
import { stepRunLabel, type StepOutput, type StepRunRecord } from './entities.js';
import type { PipelineRunsService } from './pipeline-runs.service.js';

export type OutputContent =
  { type: 'file'; digest: string; sizeBytes: number; body: Readable } | { type: 'dir'; tree: FileTree };

const STEP_OUTPUT = /^([A-Za-z_][A-Za-z0-9_-]{0,63})(?:\[(\d{1,6})\])?$/;

/**
 * Reads what steps left: their outputs (a file, a directory's manifest or one
 * file in it; a `foreach` step's outputs as one directory, an entry per item)
 * and their stdout/stderr logs, after checking the caller may read the run.
 */
export class PipelineFilesService {
  constructor(
    private readonly deps: {
      runs: PipelineRunsService;
      blobs: BlobStore;
      tracking: TrackingService;
      artifacts: ArtifactService;
    },
  ) {}

  async openOutput(input: {
    run: unknown;
    step: unknown;
    output: unknown;
    path?: unknown;
  }): Promise<OutputContent> {
    const { rows, label } = await this.stepRows(input.run, input.step);
    if (typeof input.output !== 'string' || input.output === '') {
      throw new CairnError('INVALID_ARGUMENT', 'output must name one of the step’s outputs', {
        field: 'output',
      });
    }
    const outputName = input.output;
    const finished = rows.filter((row) => row.status === 'succeeded' || row.status === 'cached');
    if (finished.length !== rows.length) {
      const row = rows.find((r) => r.status !== 'succeeded' && r.status !== 'cached') as StepRunRecord;
      throw new CairnError(
        'FAILED_PRECONDITION',
        `Step ${stepRunLabel(row)} is ${row.status}; it has no outputs yet.`,
      );
    }
    let content: OutputContent;
    const only = rows.length === 1 && rows[0]?.itemIndex === -1 ? rows[0] : undefined;
    if (only !== undefined || (rows.length === 1 && label.includes('['))) {
      const output = (rows[0] as StepRunRecord).outputs[outputName];
      if (output === undefined) throw noSuchOutput(label, outputName, rows[0] as StepRunRecord);
      content = await this.content(output);
    } else {
      content = { type: 'dir', tree: await this.joinedTree(rows, outputName, label) };
    }
    if (input.path === undefined || input.path === '') return content;
    if (content.type !== 'dir') {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `${label}.${outputName} is a file; path applies to directories`,
        {
          field: 'path',
        },
      );
    }
    const entry = content.tree.files.find((f) => f.path === input.path);
    if (entry === undefined) {
      throw new CairnError('NOT_FOUND', `${label}.${outputName} has no file ${String(input.path)}`, {
        field: 'path',
      });
    }
    return {
      type: 'file',
      digest: entry.digest,
      sizeBytes: entry.sizeBytes,
      body: await this.deps.blobs.get(entry.digest as Digest),
    };
  }

  /** A step run's stdout or stderr, as its (latest, or reused) tracking run kept it. */
  async openLog(input: {
    run: unknown;
    step: unknown;
    stream: unknown;
  }): Promise<{ body: Readable; sizeBytes: number }> {
    const stream = input.stream === undefined || input.stream === '' ? 'stdout' : input.stream;
    if (stream !== 'stdout' && stream !== 'stderr') {
      throw new CairnError('INVALID_ARGUMENT', 'stream must be stdout or stderr', { field: 'stream' });
    }
    const { rows, label } = await this.stepRows(input.run, input.step);
    if (rows.length !== 1) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `${label} is a foreach step; name one item, e.g. ${label}[0]`,
        {
          field: 'step',
        },
      );
    }
    const row = rows[0] as StepRunRecord;
    if (row.runId === null)
      throw new CairnError('NOT_FOUND', `Step ${label} has not run yet (it is ${row.status}).`);
    const info = await this.deps.tracking.getRunInfo(row.runId);
    const path = `${this.deps.tracking.artifactRootOf(info)}/logs/${stream}.txt`;
    const file = await this.deps.artifacts.stat(path);
    if (file === undefined) {
      throw new CairnError('NOT_FOUND', `Step ${label} has no ${stream} log yet (it is ${row.status}).`);
    }
    const download = await this.deps.artifacts.download(path);
    return { body: download.stream, sizeBytes: file.sizeBytes };
  }

  private async stepRows(
    rawRun: unknown,
    rawStep: unknown,
  ): Promise<{ rows: StepRunRecord[]; label: string }> {
    const match = typeof rawStep === 'string' ? STEP_OUTPUT.exec(rawStep) : null;
    if (match === null) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        'step must be a step name, or name[i] for one item of a foreach step',
        {
          field: 'step',
        },
      );
    }
    const [, name, index] = match as unknown as [string, string, string | undefined];
    const view = await this.deps.runs.get(rawRun);
    const all = view.steps.filter((row) => row.stepName === name);
    if (all.length === 0) {
      const names = view.run.spec.steps.map((s) => s.name).join(', ');
      throw new CairnError(
        'NOT_FOUND',
        `Run ${view.run.pipelineRunId} has no step ${name}; its steps are: ${names}.`,
        {
          field: 'step',
        },
      );
    }
    if (index === undefined) return { rows: all, label: name };
    const row = all.find((r) => r.itemIndex === Number(index));
    if (row === undefined)
      throw new CairnError('NOT_FOUND', `Step ${name} has no item ${index}.`, { field: 'step' });
    return { rows: [row], label: `${name}[${index}]` };
  }

  private async content(output: StepOutput): Promise<OutputContent> {
    if (output.type === 'file') {
      return {
        type: 'file',
        digest: output.digest,
        sizeBytes: output.sizeBytes,
        body: await this.deps.blobs.get(output.digest as Digest),
      };
    }
    return { type: 'dir', tree: await this.tree(output.digest) };
  }

  /** A `foreach` step's outputs as one directory: `00000`, `00001`, … (a file, or a folder of files). */
  private async joinedTree(rows: readonly StepRunRecord[], output: string, label: string): Promise<FileTree> {
    const files: FileTreeEntry[] = [];
    const width = Math.max(5, String(rows.length - 1).length);
    for (const row of rows) {
      if (row.itemIndex < 0) continue;
      const item = row.outputs[output];
      if (item === undefined) throw noSuchOutput(label, output, row);
      const name = String(row.itemIndex).padStart(width, '0');
      if (item.type === 'file')
        files.push({ path: name, digest: item.digest, sizeBytes: item.sizeBytes, executable: false });
      else
        for (const f of (await this.tree(item.digest)).files) files.push({ ...f, path: `${name}/${f.path}` });
    }
    return { format: 'cairn.tree/1', files };
  }

  private async tree(digest: string): Promise<FileTree> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.deps.blobs.get(digest as Digest)) chunks.push(chunk as Buffer);
    return parseFileTree(Buffer.concat(chunks).toString('utf8'));
  }
}

function noSuchOutput(label: string, output: string, row: StepRunRecord): CairnError {
  const names = Object.keys(row.outputs).join(', ') || 'none';
  return new CairnError('NOT_FOUND', `Step ${label} has no output ${output}; its outputs are: ${names}.`, {
    field: 'output',
  });
}
