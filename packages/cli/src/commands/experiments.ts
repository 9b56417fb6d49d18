import type { Command } from 'commander';
import { formatTime, renderTable } from '../output/table.js';
import { printJson, printLine } from '../output/print.js';
import { clientFor, parsePositiveInt, parseView } from './context.js';

interface ListFlags {
  filter?: string;
  orderBy?: string[];
  view: string;
  maxResults: string;
  pageToken?: string;
  json?: boolean;
}

export async function listExperiments(flags: ListFlags, command: Command): Promise<void> {
  const cairn = clientFor(command);
  const page = await cairn.experiments.list({
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
  if (page.experiments.length === 0) {
    printLine('No experiments.');
    return;
  }
  printLine(
    renderTable(page.experiments, [
      { header: 'ID', value: (e) => e.experimentId, keep: true },
      { header: 'NAME', value: (e) => e.name },
      { header: 'STAGE', value: (e) => e.lifecycleStage },
      { header: 'CREATED', value: (e) => formatTime(e.creationTime), keep: true },
      { header: 'ARTIFACTS', value: (e) => e.artifactLocation },
    ]),
  );
  if (page.nextPageToken !== undefined) printLine(`\nMore: --page-token ${page.nextPageToken}`);
}

export async function createExperiment(
  name: string,
  flags: { artifactLocation?: string; project?: string; json?: boolean },
  command: Command,
): Promise<void> {
  const cairn = clientFor(command);
  const experiment = await cairn.experiments.create({
    name,
    ...(flags.artifactLocation === undefined ? {} : { artifactLocation: flags.artifactLocation }),
    ...(flags.project === undefined ? {} : { project: flags.project }),
  });
  if (flags.json === true) printJson(experiment);
  else printLine(`Created experiment ${experiment.experimentId} "${experiment.name}"`);
}
