import { Cairn, pushDataset, type PushResult } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { formatBytes, formatCount } from '../output/models-format.js';
import { printJson, printLine } from '../output/print.js';
import { clientFor } from './context.js';
import { datasetRef } from './data-args.js';

interface TransferFlags {
  remote: string;
  remoteToken?: string;
  project?: string;
  json?: boolean;
}

/**
 * The other server. Its token comes from --remote-token or CAIRN_REMOTE_TOKEN
 * only: this server's CAIRN_TOKEN is never sent to another one.
 */
function remoteClient(flags: TransferFlags): Cairn {
  try {
    new URL(flags.remote);
  } catch {
    throw new UsageError(`--remote "${flags.remote}" is not a URL (expected e.g. https://cairn.example.com)`);
  }
  const token = flags.remoteToken ?? process.env['CAIRN_REMOTE_TOKEN'] ?? '';
  return new Cairn({ url: flags.remote, token });
}

function report(result: PushResult, what: { verb: string; where: string; json?: boolean }): void {
  if (what.json === true) {
    printJson({ ...result, remote: what.where });
    return;
  }
  if (result.versions.length === 0) {
    printLine(`${result.dataset}: already up to date (${formatCount(result.upToDate)} versions)`);
    return;
  }
  const numbers = result.versions.map((v) => (v.from === v.to ? `${v.from}` : `${v.from} → ${v.to}`));
  printLine(
    `${what.verb} ${result.dataset} ${what.verb === 'Pushed' ? 'to' : 'from'} ${what.where}: ` +
      `${formatCount(result.versions.length)} version${result.versions.length === 1 ? '' : 's'} ` +
      `(${numbers.join(', ')}), ${formatCount(result.chunksSent)} chunk${result.chunksSent === 1 ? '' : 's'}, ` +
      `${formatBytes(result.bytesSent)} sent` +
      (result.upToDate > 0 ? `; ${formatCount(result.upToDate)} already there` : ''),
  );
}

export async function pushCommand(ref: string, flags: TransferFlags, command: Command): Promise<void> {
  const at = datasetRef(ref);
  const local = clientFor(command);
  const remote = remoteClient(flags);
  const result = await pushDataset({
    from: local,
    to: remote,
    name: at.name,
    ...(ref.includes('@') ? { ref: at.ref } : {}),
    ...(flags.project === undefined ? {} : { project: flags.project }),
  });
  report(result, { verb: 'Pushed', where: remote.url, ...(flags.json === true ? { json: true } : {}) });
}

export async function pullCommand(ref: string, flags: TransferFlags, command: Command): Promise<void> {
  const at = datasetRef(ref);
  const local = clientFor(command);
  const remote = remoteClient(flags);
  const result = await pushDataset({
    from: remote,
    to: local,
    name: at.name,
    ...(ref.includes('@') ? { ref: at.ref } : {}),
    ...(flags.project === undefined ? {} : { project: flags.project }),
  });
  report(result, { verb: 'Pulled', where: remote.url, ...(flags.json === true ? { json: true } : {}) });
}
