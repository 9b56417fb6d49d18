import { encodeMetricValue, isCairnError, type Run } from '@cairn/contract';
import type { Command } from 'commander';
import { formatDuration, formatTime, renderTable } from '../output/table.js';
import { printJson, printLine } from '../output/print.js';
import { clientFor, parsePositiveInt, parseView } from './context.js';

interface ListFlags {
  experiment?: string[];
  filter?: string;
  orderBy?: string[];
  view: string;
  maxResults: string;
  pageToken?: string;
  json?: boolean;
}

const formatNumber = (value: number | string): string =>
  typeof value === 'string'
    ? value
    : Number.isInteger(value)
      ? String(value)
      : value.toPrecision(6).replace(/0+$/, '');

/** Accepts experiment ids or names, the way people remember them. */
async function resolveExperimentIds(
  cairn: ReturnType<typeof clientFor>,
  given: string[] | undefined,
): Promise<string[]> {
  if (given === undefined || given.length === 0) return ['0'];
  const ids: string[] = [];
  for (const ref of given) {
    if (/^\d+$/.test(ref)) {
      try {
        ids.push((await cairn.experiments.get(ref)).experimentId);
        continue;
      } catch (error) {
        if (!isCairnError(error) || error.code !== 'NOT_FOUND') throw error;
      }
    }
    const experiment = await cairn.experiments.getByName(ref);
    if (experiment === undefined) {
      const { CairnError } = await import('@cairn/contract');
      throw new CairnError(
        'NOT_FOUND',
        `No experiment named or numbered "${ref}". List them with \`cairn experiments ls\`.`,
      );
    }
    ids.push(experiment.experimentId);
  }
  return ids;
}

export async function listRuns(flags: ListFlags, command: Command): Promise<void> {
  const cairn = clientFor(command);
  const experimentIds = await resolveExperimentIds(cairn, flags.experiment);
  const page = await cairn.runs.search({
    experimentIds,
    ...(flags.filter === undefined ? {} : { filter: flags.filter }),
    ...(flags.orderBy === undefined ? {} : { orderBy: flags.orderBy }),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
    maxResults: parsePositiveInt(flags.maxResults, '--max-results'),
    viewType: parseView(flags.view),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.runs.length === 0) {
    printLine('No runs.');
    return;
  }
  const metricKeys = [...new Set(page.runs.flatMap((r) => r.data.metrics.map((m) => m.key)))].slice(0, 3);
  printLine(
    renderTable(page.runs, [
      { header: 'RUN ID', value: (r) => r.info.runId, keep: true },
      { header: 'NAME', value: (r) => r.info.runName },
      { header: 'STATUS', value: (r) => r.info.status, keep: true },
      { header: 'STARTED', value: (r) => formatTime(r.info.startTime), keep: true },
      { header: 'DURATION', value: (r) => formatDuration(r.info.startTime, r.info.endTime), align: 'right' },
      ...metricKeys.map((key) => ({
        header: key,
        value: (r: Run) => {
          const metric = r.data.metrics.find((m) => m.key === key);
          return metric === undefined ? '' : formatNumber(metric.value);
        },
        align: 'right' as const,
      })),
    ]),
  );
  if (page.nextPageToken !== undefined) printLine(`\nMore: --page-token ${page.nextPageToken}`);
}

export async function showRun(runId: string, flags: { json?: boolean }, command: Command): Promise<void> {
  const cairn = clientFor(command);
  const run = await cairn.runs.get(runId);
  const artifacts = await cairn.runs
    .listArtifacts(runId)
    .catch(() => ({ rootUri: run.info.artifactUri, files: [] }));
  if (flags.json === true) {
    printJson({ ...run, artifacts });
    return;
  }
  const info = run.info;
  const fields: Array<[string, string]> = [
    ['Run', info.runId],
    ['Name', info.runName],
    ['Experiment', info.experimentId],
    ['Status', info.status],
    ['Lifecycle', info.lifecycleStage],
    ['User', info.userId],
    ['Started', formatTime(info.startTime)],
    ['Ended', formatTime(info.endTime)],
    ['Duration', formatDuration(info.startTime, info.endTime)],
    ['Artifacts', info.artifactUri],
  ];
  const parent = run.data.tags['mlflow.parentRunId'];
  if (parent !== undefined) fields.push(['Parent run', parent]);
  for (const [label, value] of fields) printLine(`${`${label}:`.padEnd(13)}${value}`);
  const section = (title: string, body: string): void => printLine(`\n${title}\n${body}`);
  const params = Object.entries(run.data.params).sort(([a], [b]) => a.localeCompare(b));
  if (params.length > 0) {
    section(
      'Params',
      renderTable(params, [
        { header: 'KEY', value: ([k]) => k },
        { header: 'VALUE', value: ([, v]) => v },
      ]),
    );
  }
  const metrics = [...run.data.metrics].sort((a, b) => a.key.localeCompare(b.key));
  if (metrics.length > 0) {
    section(
      'Metrics (latest)',
      renderTable(metrics, [
        { header: 'KEY', value: (m) => m.key },
        { header: 'VALUE', value: (m) => formatNumber(encodeMetricValue(Number(m.value))), align: 'right' },
        { header: 'STEP', value: (m) => String(m.step), align: 'right' },
        { header: 'TIME', value: (m) => formatTime(m.timestamp) },
      ]),
    );
  }
  const tags = Object.entries(run.data.tags)
    .filter(([k]) => !k.startsWith('mlflow.') || k === 'mlflow.note.content')
    .sort(([a], [b]) => a.localeCompare(b));
  if (tags.length > 0) {
    section(
      'Tags',
      renderTable(tags, [
        { header: 'KEY', value: ([k]) => k },
        { header: 'VALUE', value: ([, v]) => v },
      ]),
    );
  }
  if (run.inputs.datasetInputs.length > 0) {
    section(
      'Inputs',
      renderTable(run.inputs.datasetInputs, [
        { header: 'DATASET', value: (d) => d.dataset.name },
        { header: 'DIGEST', value: (d) => d.dataset.digest },
        { header: 'SOURCE', value: (d) => d.dataset.source },
      ]),
    );
  }
  if (artifacts.files.length > 0) {
    section(
      'Artifacts',
      renderTable(artifacts.files, [
        { header: 'PATH', value: (f) => (f.isDir ? `${f.path}/` : f.path) },
        {
          header: 'SIZE',
          value: (f) => (f.sizeBytes === undefined ? '' : String(f.sizeBytes)),
          align: 'right',
        },
      ]),
    );
  }
}
