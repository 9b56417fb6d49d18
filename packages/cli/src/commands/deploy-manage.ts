import type { DeploymentJson } from '@cairn/sdk';
import type { Command } from 'commander';
import { deploymentsTable, deploymentSummary, revisionsTable } from '../output/deploy-format.js';
import { printJson, printLine } from '../output/print.js';
import { clientFor } from './context.js';
import {
  createInput,
  deploymentName,
  updatePatch,
  wholeNumber,
  type CreateFlags,
  type UpdateFlags,
} from './deploy-args.js';

interface JsonFlag {
  json?: boolean;
}

/** `--json`: the DeploymentJson itself; otherwise the summary with the endpoints to call. */
function printDeployment(deployment: DeploymentJson, options: { json?: boolean; url: string }): void {
  if (options.json === true) printJson(deployment);
  else printLine(deploymentSummary(deployment, options.url));
}

// Commander passes the arguments, then the flags, then the command.
export async function createCommand(
  name: string,
  flags: CreateFlags & JsonFlag,
  command: Command,
): Promise<void> {
  const input = createInput(name, flags);
  const cairn = clientFor(command);
  const deployment = await cairn.deployments.create(input);
  printDeployment(deployment, { json: flags.json, url: cairn.url });
}

export async function listCommand(flags: { project?: string } & JsonFlag, command: Command): Promise<void> {
  const deployments = await clientFor(command).deployments.all(
    flags.project === undefined ? {} : { project: flags.project },
  );
  if (flags.json === true) printJson(deployments);
  else if (deployments.length === 0) printLine('No deployments.');
  else printLine(deploymentsTable(deployments));
}

export async function getCommand(name: string, flags: JsonFlag, command: Command): Promise<void> {
  const cairn = clientFor(command);
  const deployment = await cairn.deployments.get(deploymentName(name));
  printDeployment(deployment, { json: flags.json, url: cairn.url });
}

export async function updateCommand(
  name: string,
  flags: UpdateFlags & JsonFlag,
  command: Command,
): Promise<void> {
  deploymentName(name);
  const patch = updatePatch(flags);
  const cairn = clientFor(command);
  const deployment = await cairn.deployments.update(name, patch);
  printDeployment(deployment, { json: flags.json, url: cairn.url });
}

export async function rollbackCommand(
  name: string,
  flags: { to?: string } & JsonFlag,
  command: Command,
): Promise<void> {
  deploymentName(name);
  const to = flags.to === undefined ? undefined : wholeNumber(flags.to, '--to', { min: 1 });
  const cairn = clientFor(command);
  const deployment = await cairn.deployments.rollback(name, to === undefined ? {} : { to });
  if (flags.json !== true) printLine(`Rolled ${name} back as revision ${deployment.revision}.\n`);
  printDeployment(deployment, { json: flags.json, url: cairn.url });
}

export async function revisionsCommand(
  name: string,
  flags: { limit?: string } & JsonFlag,
  command: Command,
): Promise<void> {
  deploymentName(name);
  const maxResults = flags.limit === undefined ? undefined : wholeNumber(flags.limit, '--limit', { min: 1 });
  const revisions = await clientFor(command).deployments.revisions(
    name,
    maxResults === undefined ? {} : { maxResults },
  );
  if (flags.json === true) printJson(revisions);
  else printLine(revisionsTable(revisions));
}

export async function deleteCommand(name: string, flags: JsonFlag, command: Command): Promise<void> {
  deploymentName(name);
  await clientFor(command).deployments.delete(name);
  if (flags.json === true) printJson({ deleted: { name } });
  else printLine(`Deleted deployment ${name}; it no longer answers.`);
}
