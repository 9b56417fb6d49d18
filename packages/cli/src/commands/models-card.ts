import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CairnError, normalizeModelReference, type ModelCardPatch } from '@cairn/contract';
import type { Command } from 'commander';
import { renderLineageTree } from '../output/lineage-tree.js';
import { printJson, printLine } from '../output/print.js';
import { clientFor } from './context.js';

/** Section names as the server's Markdown and MLflow-style JSON spell them, to the API's. */
const SNAKE_TO_CAMEL: Record<string, keyof ModelCardPatch> = {
  intended_use: 'intendedUse',
  out_of_scope_use: 'outOfScopeUse',
  ethical_considerations: 'ethicalConsiderations',
  risk_tier: 'riskTier',
};

const invalidFile = (file: string, why: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', `${file}: ${why}`, { field: 'edit' });

/**
 * What `--edit FILE` sends: a `.json` file is a patch of sections (or a whole
 * `cairn models card --json` export, whose `fields` are taken); anything else
 * is an edited Markdown export that replaces the sections.
 */
async function readEdit(file: string): Promise<ModelCardPatch | string> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    throw new CairnError('NOT_FOUND', `${file} does not exist or cannot be read`, {
      field: 'edit',
      cause: error,
    });
  }
  if (path.extname(file).toLowerCase() !== '.json') return content;
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    throw invalidFile(file, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidFile(file, 'expected an object of card sections, e.g. {"intendedUse": "…"}');
  }
  const record = parsed as Record<string, unknown>;
  const sections =
    typeof record['fields'] === 'object' && record['fields'] !== null
      ? (record['fields'] as Record<string, unknown>)
      : record;
  return Object.fromEntries(
    Object.entries(sections).map(([k, v]) => [SNAKE_TO_CAMEL[k] ?? k, v]),
  ) as ModelCardPatch;
}

// Commander passes the arguments, then the flags, then the command: a tuple keeps them typed.
export async function cardCommand(
  ...args: [string, string, { edit?: string; markdown?: boolean; json?: boolean }, Command]
): Promise<void> {
  const [name, versionOrAlias, flags, command] = args;
  const cairn = clientFor(command);
  const ref = /^\d+$/.test(versionOrAlias) ? `${name}/${versionOrAlias}` : `${name}@${versionOrAlias}`;
  const version = await cairn.resolveModel(ref);
  const card =
    flags.edit === undefined
      ? undefined
      : await cairn.updateCard(`${version.name}/${version.version}`, await readEdit(flags.edit));
  if (flags.json === true && flags.markdown !== true) {
    printJson(card ?? (await cairn.models.getCard(version.name, version.version)));
    return;
  }
  process.stdout.write(await cairn.models.getCardMarkdown(version.name, version.version));
}

export async function lineageCommand(
  ref: string,
  flags: { json?: boolean },
  command: Command,
): Promise<void> {
  const cairn = clientFor(command);
  const graph = await cairn.modelLineage(normalizeModelReference(ref));
  if (flags.json === true) printJson(graph);
  else printLine(renderLineageTree(graph));
}
