import { createReadStream, createWriteStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { EXIT_CODE_BY_CODE, type AuditEvent, type AuditVerifyResult } from '@cairn/contract';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { formatCount } from '../output/models-format.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor, parsePositiveInt } from './context.js';

interface JsonFlag {
  json?: boolean;
}

interface ListFlags extends JsonFlag {
  target?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  project?: string;
  since?: string;
  until?: string;
  order: string;
  limit: string;
  pageToken?: string;
}

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

function compactDetails(details: unknown): string {
  const text = typeof details === 'string' ? details : JSON.stringify(details);
  return text === '{}' ? '' : text;
}

export async function listAuditCommand(flags: ListFlags, command: Command): Promise<void> {
  if (flags.outcome !== undefined && flags.outcome !== 'ok' && flags.outcome !== 'denied') {
    throw new UsageError(`--outcome must be ok or denied, not "${flags.outcome}"`);
  }
  if (flags.order !== 'asc' && flags.order !== 'desc') {
    throw new UsageError(`--order must be asc or desc, not "${flags.order}"`);
  }
  const page = await clientFor(command).audit.list({
    ...(flags.target === undefined ? {} : { target: flags.target }),
    ...(flags.actor === undefined ? {} : { actor: flags.actor }),
    ...(flags.action === undefined ? {} : { action: flags.action }),
    ...(flags.outcome === undefined ? {} : { outcome: flags.outcome }),
    ...(flags.project === undefined ? {} : { projectId: flags.project }),
    ...(flags.since === undefined ? {} : { since: flags.since }),
    ...(flags.until === undefined ? {} : { until: flags.until }),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
    order: flags.order,
    limit: parsePositiveInt(flags.limit, '--limit'),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.events.length === 0) {
    printLine('No audit events match.');
    return;
  }
  printLine(
    renderTable<AuditEvent>(page.events, [
      { header: 'SEQ', value: (e) => String(e.seq), keep: true, align: 'right' },
      { header: 'TIME', value: (e) => formatTime(e.time), keep: true },
      { header: 'ACTOR', value: (e) => e.actor },
      { header: 'ACTION', value: (e) => e.action, keep: true },
      { header: 'OUTCOME', value: (e) => e.outcome },
      { header: 'TARGET', value: (e) => `${e.target.kind}:${e.target.id}` },
      { header: 'PROJECT', value: (e) => e.projectId ?? '-' },
      { header: 'DETAILS', value: (e) => compactDetails(e.details) },
    ]),
  );
  if (page.nextPageToken !== undefined) {
    printLine(`\nMore: --page-token ${page.nextPageToken}`);
  }
}

interface VerifyFlags extends JsonFlag {
  dataDir?: string;
  dbUrl?: string;
  file?: string;
  publicKey?: string;
}

/** `Checked 120,000 events…` on one rewritten stderr line, when someone is watching. */
function progress(label: string): { update(n: number): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(n) {
      if (!tty || Date.now() - last < 200) return;
      last = Date.now();
      shown = true;
      process.stderr.write(`\r${label} ${formatCount(n)} events…\u001b[K`);
    },
    done() {
      if (shown) process.stderr.write('\r\u001b[K');
    },
  };
}

function readPublicKey(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--public-key ${file} cannot be read: ${(error as Error).message}`);
  }
}

function printVerifyResult(
  result: AuditVerifyResult & { keyId?: string | undefined; keyPinned?: boolean },
): void {
  if (result.ok) {
    printLine(
      `Audit trail intact: ${formatCount(result.events)} events checked ` +
        `(seq ${formatCount(result.firstSeq)}–${formatCount(result.lastSeq)}), ` +
        `${formatCount(result.checkpoints)} signed checkpoint${result.checkpoints === 1 ? '' : 's'} matched.`,
    );
  } else {
    const problem = result.problem!;
    printLine(`Audit trail BROKEN at event ${problem.seq}: ${problem.kind}`);
    printLine(`  ${problem.message}`);
    printLine(`  ${formatCount(result.events)} events before it are intact.`);
  }
  printLine(`Head: seq ${formatCount(result.lastSeq)}, hash ${result.lastHash || '-'}`);
  if (result.keyId !== undefined) {
    printLine(
      result.keyPinned === true
        ? `Signed by key ${result.keyId} (the public key you gave).`
        : `Signature checked with the key in the file (${result.keyId}); pass --public-key to prove which server signed it.`,
    );
  }
}

export async function verifyAuditCommand(flags: VerifyFlags, command: Command): Promise<void> {
  const modes = [flags.dataDir, flags.dbUrl, flags.file].filter((m) => m !== undefined);
  if (modes.length > 1) throw new UsageError('give one of --data-dir, --db-url or --file');
  if (modes.length === 0 && flags.publicKey !== undefined) {
    throw new UsageError('--public-key goes with --data-dir, --db-url or --file; the server checks its own');
  }
  const meter = progress('Checked');
  let result: AuditVerifyResult & { keyId?: string | undefined; keyPinned?: boolean };
  try {
    if (modes.length === 0) {
      result = await clientFor(command).audit.verify();
    } else if (flags.file !== undefined) {
      const { verifyAuditExport } = await import('@cairn/server');
      const file = flags.file;
      result = await verifyAuditExport({
        open: () => createInterface({ input: createReadStream(file), crlfDelay: Infinity }),
        publicKeyPem: readPublicKey(flags.publicKey),
        onProgress: meter.update,
      });
    } else {
      const { auditPublicKeyOfDataDir, dataDirLocations, verifyAuditStore } = await import('@cairn/server');
      const dbUrl = flags.dbUrl ?? dataDirLocations(flags.dataDir!).dbUrl;
      const publicKeyPem =
        readPublicKey(flags.publicKey) ??
        (flags.dataDir === undefined ? undefined : auditPublicKeyOfDataDir(flags.dataDir));
      result = await verifyAuditStore({ dbUrl, publicKeyPem, onProgress: meter.update });
    }
  } finally {
    meter.done();
  }
  if (flags.json === true) printJson(result);
  else printVerifyResult(result);
  // A broken chain is stored data that no longer matches what was recorded.
  if (!result.ok) process.exitCode = EXIT_CODE_BY_CODE.DATA_LOSS;
}

interface ExportFlags extends JsonFlag {
  output: string;
  fromSeq?: string;
}

/** Counts lines as they pass and keeps the last few KB, where the signed checkpoint line is. */
function lineCounter(onLines: (n: number) => void): Transform & { lastLine(): string; lines(): number } {
  const TAIL_BYTES = 16 * 1024;
  let lines = 0;
  const tail: Buffer[] = [];
  let tailBytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
      tail.push(chunk);
      tailBytes += chunk.length;
      while (tail.length > 1 && tailBytes - tail[0]!.length >= TAIL_BYTES) tailBytes -= tail.shift()!.length;
      onLines(lines);
      callback(null, chunk);
    },
  });
  const lastLine = (): string => {
    const text = Buffer.concat(tail).toString('utf8').trimEnd();
    return text.slice(text.lastIndexOf('\n') + 1);
  };
  return Object.assign(counter, { lastLine, lines: () => lines });
}

export async function exportAuditCommand(flags: ExportFlags, command: Command): Promise<void> {
  const fromSeq = flags.fromSeq === undefined ? undefined : parsePositiveInt(flags.fromSeq, '--from-seq');
  const body = await clientFor(command).audit.export(fromSeq === undefined ? {} : { fromSeq });
  const toStdout = flags.output === '-';
  const meter = progress('Exported');
  const counter = lineCounter((n) => meter.update(Math.max(0, n - 1)));
  const temporary = `${flags.output}.${process.pid}.partial`;
  const sink: Writable = toStdout ? process.stdout : createWriteStream(temporary, { mode: 0o600 });
  try {
    await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), counter, sink, {
      end: !toStdout,
    });
    if (!toStdout) renameSync(temporary, flags.output);
  } catch (error) {
    if (!toStdout) rmSync(temporary, { force: true });
    throw error;
  } finally {
    meter.done();
  }
  let checkpoint: { seq?: number; keyId?: string } = {};
  try {
    checkpoint = (JSON.parse(counter.lastLine()) as { checkpoint?: typeof checkpoint }).checkpoint ?? {};
  } catch {
    // reported below as an export without its checkpoint
  }
  const summary = {
    file: flags.output,
    events: Math.max(0, counter.lines() - 1),
    lastSeq: checkpoint.seq ?? null,
    keyId: checkpoint.keyId ?? null,
  };
  if (checkpoint.seq === undefined) {
    throw new UsageError('the export ended without its signed checkpoint line; run it again');
  }
  if (flags.json === true && !toStdout) {
    printJson(summary);
    return;
  }
  process.stderr.write(
    `Exported ${formatCount(summary.events)} events (to seq ${formatCount(checkpoint.seq)}) ` +
      `${toStdout ? '' : `to ${flags.output}, `}signed by key ${summary.keyId}.\n` +
      `Check it offline: cairn audit verify --file ${toStdout ? 'FILE' : flags.output} --public-key server.pem\n`,
  );
}

export async function checkpointCommand(flags: JsonFlag, command: Command): Promise<void> {
  const checkpoint = await clientFor(command).audit.checkpoint();
  if (flags.json === true) {
    printJson(checkpoint);
    return;
  }
  printLine(`Signed checkpoint at seq ${formatCount(checkpoint.seq)} (hash ${short(checkpoint.hash)}).`);
  printLine(`Key ${checkpoint.keyId}, ${formatTime(checkpoint.time)}.`);
}

export async function publicKeyCommand(flags: JsonFlag, command: Command): Promise<void> {
  const key = await clientFor(command).audit.publicKey();
  if (flags.json === true) {
    printJson(key);
    return;
  }
  process.stderr.write(`${key.algorithm} key ${key.keyId}\n`);
  process.stdout.write(key.publicKey.endsWith('\n') ? key.publicKey : `${key.publicKey}\n`);
}

export async function pruneCommand(
  flags: JsonFlag & { olderThanDays: string },
  command: Command,
): Promise<void> {
  const days = Number(flags.olderThanDays);
  if (flags.olderThanDays.trim() === '' || !Number.isFinite(days) || days < 0) {
    throw new UsageError(`--older-than-days must be a number of days, not "${flags.olderThanDays}"`);
  }
  const result = await clientFor(command).audit.prune(days);
  if (flags.json === true) {
    printJson(result);
    return;
  }
  printLine(
    `Deleted ${formatCount(result.deleted)} events recorded before ${formatTime(result.before)}; ` +
      `the chain now starts at seq ${formatCount(result.firstSeq)} and still verifies from its anchor.`,
  );
}
