import type { LabelKind } from '@cairn/contract';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor, parsePositiveInt } from './context.js';

/** `churn@champion` → name and alias; the alias itself is checked by the server. */
function splitAliasRef(ref: string): { name: string; alias: string } {
  const at = ref.lastIndexOf('@');
  if (at < 1 || at === ref.length - 1) {
    throw new UsageError(`expected NAME@ALIAS (e.g. churn@champion), not "${ref}"`);
  }
  return { name: ref.slice(0, at), alias: ref.slice(at + 1) };
}

// Commander passes the arguments, then the flags, then the command: a tuple keeps them typed.
export async function aliasCommand(
  ...args: [string, string | undefined, { delete?: boolean; json?: boolean }, Command]
): Promise<void> {
  const [ref, version, flags, command] = args;
  const { name, alias } = splitAliasRef(ref);
  const cairn = clientFor(command);
  if (flags.delete === true) {
    if (version !== undefined) throw new UsageError('--delete takes no VERSION');
    await cairn.deleteAlias(name, alias);
    if (flags.json === true) printJson({ deleted: { name, alias } });
    else printLine(`Removed alias ${alias} from ${name} (its history is kept)`);
    return;
  }
  if (version === undefined) throw new UsageError('give the VERSION to point the alias at, or --delete');
  const target = await cairn.setAlias(name, alias, parsePositiveInt(version, 'VERSION'));
  if (flags.json === true) printJson(target);
  else printLine(`${target.name}@${alias} → version ${target.version}`);
}

function parseKind(kind: string | undefined): LabelKind | undefined {
  if (kind === undefined) return undefined;
  const lower = kind.toLowerCase();
  if (lower !== 'alias' && lower !== 'stage')
    throw new UsageError(`--kind must be alias or stage, not "${kind}"`);
  return lower;
}

export async function historyCommand(
  ...args: [string, string | undefined, { at?: string; kind?: string; json?: boolean }, Command]
): Promise<void> {
  const [name, alias, flags, command] = args;
  const cairn = clientFor(command);
  const kind = parseKind(flags.kind);
  const history = await cairn.aliasHistory(name, {
    ...(alias === undefined ? {} : { alias }),
    ...(kind === undefined ? {} : { kind }),
    ...(flags.at === undefined ? {} : { at: flags.at }),
  });
  if (flags.json === true) {
    printJson(history);
    return;
  }
  const what = alias ?? (kind === 'stage' ? 'stages' : kind === 'alias' ? 'aliases' : 'aliases or stages');
  if (history.entries.length === 0) {
    printLine(
      flags.at === undefined ? `No history of ${what} of ${name}.` : `No ${what} of ${name} at ${flags.at}.`,
    );
    return;
  }
  if (flags.at !== undefined) printLine(`${name} at ${flags.at}:\n`);
  printLine(
    renderTable(history.entries, [
      { header: 'LABEL', value: (e) => e.label, keep: true },
      { header: 'KIND', value: (e) => e.kind },
      { header: 'VERSION', value: (e) => String(e.version), align: 'right' },
      { header: 'FROM', value: (e) => formatTime(e.startedAt), keep: true },
      { header: 'TO', value: (e) => (e.endedAt === null ? 'now' : formatTime(e.endedAt)), keep: true },
      { header: 'BY', value: (e) => (e.endedBy === null ? e.startedBy : `${e.startedBy} / ${e.endedBy}`) },
    ]),
  );
}

export async function stageCommand(
  ...args: [string, string, string, { archiveExisting?: boolean; json?: boolean }, Command]
): Promise<void> {
  const [name, version, stage, flags, command] = args;
  const cairn = clientFor(command);
  const moved = await cairn.models.transitionStage({
    name,
    version: parsePositiveInt(version, 'VERSION'),
    stage,
    ...(flags.archiveExisting === true ? { archiveExisting: true } : {}),
  });
  if (flags.json === true) printJson(moved);
  else
    printLine(
      `${moved.name} version ${moved.version} → ${moved.stage}` +
        (flags.archiveExisting === true ? ` (other ${moved.stage} versions archived)` : ''),
    );
}
