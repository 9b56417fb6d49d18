import { readFileSync } from 'node:fs';
import type { PredictionJson } from '@cairn/sdk';
import type { Command } from 'commander';
import { predictionsTable, shadowTable } from '../output/deploy-format.js';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';
import { clientFor } from './context.js';
import {
  deploymentName,
  jsonArgument,
  parseInstances,
  parseKind,
  parseTime,
  wholeNumber,
} from './deploy-args.js';

interface JsonFlag {
  json?: boolean;
}

/** The server's largest page of predictions; `--limit` above it is fetched page by page. */
const MAX_PAGE = 1000;

/** A file's text, or standard input's for `-`. */
const readText = (file: string): string => readFileSync(file === '-' ? 0 : file, 'utf8');

interface PredictionsFlags extends JsonFlag {
  kind?: string;
  since?: string;
  until?: string;
  limit: string;
  pageToken?: string;
}

export async function predictionsCommand(
  name: string,
  flags: PredictionsFlags,
  command: Command,
): Promise<void> {
  deploymentName(name);
  const kind = parseKind(flags.kind);
  const limit = wholeNumber(flags.limit, '--limit', { min: 1 });
  const filters = {
    ...(kind === undefined ? {} : { kind }),
    ...(flags.since === undefined ? {} : { since: parseTime(flags.since, '--since') }),
    ...(flags.until === undefined ? {} : { until: parseTime(flags.until, '--until') }),
  };
  const deployments = clientFor(command).deployments;
  const predictions: PredictionJson[] = [];
  let pageToken = flags.pageToken;
  do {
    const page = await deployments.predictions(name, {
      ...filters,
      maxResults: Math.min(MAX_PAGE, limit - predictions.length),
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    predictions.push(...page.predictions);
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined && predictions.length < limit);
  if (flags.json === true) {
    printJson(predictions);
    return;
  }
  if (predictions.length === 0) {
    const when = flags.since === undefined && flags.until === undefined ? 'yet' : 'in that time';
    printLine(`No ${kind === undefined ? '' : `${kind} `}predictions of ${name} logged ${when}.`);
    return;
  }
  printLine(predictionsTable(predictions));
  if (pageToken !== undefined) printLine(`\nMore: --page-token ${pageToken}`);
}

export async function shadowCommand(
  name: string,
  flags: { since?: string } & JsonFlag,
  command: Command,
): Promise<void> {
  deploymentName(name);
  const since = flags.since === undefined ? undefined : parseTime(flags.since, '--since');
  const shadows = await clientFor(command).deployments.shadowSummary(
    name,
    since === undefined ? {} : { since },
  );
  if (flags.json === true) printJson(shadows);
  else if (shadows.length === 0) printLine(`No shadow of ${name} has answered in that time.`);
  else printLine(shadowTable(shadows));
}

export async function predictCommand(
  name: string,
  flags: { instances: string; key?: string } & JsonFlag,
  command: Command,
): Promise<void> {
  deploymentName(name);
  const instances = parseInstances(jsonArgument(flags.instances, '--instances', readText));
  if (flags.key === '') throw new UsageError('--key is empty: give the text to route by (a user id, say)');
  const answer = await clientFor(command).deployments.predict(
    name,
    instances,
    flags.key === undefined ? {} : { key: flags.key },
  );
  if (flags.json === true) {
    printJson(answer);
    return;
  }
  printLine(`${answer.model}/${answer.version} answered (request id ${answer.requestId}):`);
  for (const prediction of answer.predictions) printLine(`  ${JSON.stringify(prediction)}`);
  printLine(
    `\nSend the right answer later: cairn deploy feedback ${name} --request-id ${answer.requestId} --truth JSON`,
  );
}

export async function feedbackCommand(
  name: string,
  flags: { requestId: string; truth: string } & JsonFlag,
  command: Command,
): Promise<void> {
  deploymentName(name);
  if (flags.requestId.trim() === '') throw new UsageError('--request-id is empty');
  const truth = jsonArgument(flags.truth, '--truth', readText);
  const result = await clientFor(command).deployments.feedback(name, [{ requestId: flags.requestId, truth }]);
  if (flags.json === true) printJson(result);
  else printLine(`Recorded the truth for request ${flags.requestId} of ${name}.`);
}
