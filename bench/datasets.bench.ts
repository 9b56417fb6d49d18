/**
 * Dataset figures of issue #5, through the built CLI against a `cairn server`
 * child process, each beside its reference measured in the same run:
 * - `cairn data add` of a 1 GiB file vs `sha256sum` of it and Node's own
 *   streamed read + sha256 (the ceiling), for a CSV and for random bytes;
 * - new bytes stored by a second version with 1% of rows changed (scattered)
 *   and a third with 1% of rows appended (target ≤ 5% each);
 * - `cairn data diff --key id` of two 1,000,000-row versions (target < 5 s);
 * - `cairn data checkout` into a folder that already holds the version, vs a
 *   full checkout into an empty one (target < 10%).
 *
 *   node --import tsx bench/datasets.bench.ts [--dialect sqlite|postgres|both] [--gib 1]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dialectsFrom, pgSchemaUrl, REPO, saveFigures, startCairn } from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    gib: { type: 'string', default: '1' },
    rows: { type: 'string', default: '1000000' },
  },
});
const BYTES = Math.round(Number(values.gib) * 1024 ** 3);
const TABLE_ROWS = Number(values.rows);
const CLI = path.join(REPO, 'packages/cli/bin/cairn.js');
const WORK = path.join(REPO, 'bench/.work/datasets');
mkdirSync(WORK, { recursive: true });

const COLORS = ['red', 'green', 'blue', 'cyan', 'magenta'];
const CITIES = ['Oslo', 'Lima', 'Pune', 'Kobe', 'Graz', 'Perth'];
function row(i: number, edited = false): string {
  const color = edited ? 'teal' : COLORS[i % 5];
  return `${i},user_${(i * 7919) % 1_000_003},${((i * 37) % 100_000) / 100},${(Math.sin(i) * 1000).toFixed(3)},${color},${CITIES[(i * 13) % 6]},2026-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}\n`;
}
/** About 1% of rows, spread through the whole file. */
const scattered = (i: number): boolean => ((i * 2654435761) >>> 0) % 10_000 < 100;

/** Writes a CSV of about `bytes` (or exactly `rows` rows); returns its row count. */
async function writeCsv(
  file: string,
  options: { bytes?: number; rows?: number; edit?: boolean; extraRows?: number },
) {
  const out = createWriteStream(file);
  out.write('id,user,amount,score,color,city,day\n');
  let written = 0;
  let i = 0;
  const more = () => (options.rows !== undefined ? i < options.rows : written < options.bytes!);
  while (more()) {
    let block = '';
    for (let k = 0; k < 4096 && more(); k++, i++) block += row(i, options.edit === true && scattered(i));
    written += block.length;
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  const rows = i;
  for (let k = 0; k < (options.extraRows ?? 0); k++) out.write(row(rows + k));
  out.end();
  await new Promise<void>((r) => out.on('finish', () => r()));
  return rows;
}

async function writeRandom(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const block = Buffer.alloc(1024 * 1024);
  for (let done = 0; done < bytes; done += block.length) {
    for (let j = 0; j < block.length; j += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, j);
    if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await new Promise<void>((r) => out.on('finish', () => r()));
}

function seconds(work: () => void): number {
  const t = performance.now();
  work();
  return (performance.now() - t) / 1000;
}

async function nodeCeiling(file: string): Promise<number> {
  const t = performance.now();
  const hash = createHash('sha256');
  for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 }))
    hash.update(piece as Buffer);
  hash.digest();
  return (performance.now() - t) / 1000;
}

/**
 * The floor under any add that keeps the bytes: the file copied to the same
 * disk in 32 MiB writes and fsynced, with no hashing at all (what
 * `dd bs=32M conv=fsync` does). An add also moves the bytes over loopback,
 * hashes the file and every chunk and chunks it; this part alone shows how
 * much of sha256sum's time the disk takes.
 */
async function durableCopy(file: string): Promise<number> {
  const copy = path.join(WORK, 'durable-copy.tmp');
  const t = performance.now();
  const out = await open(copy, 'w');
  try {
    for await (const piece of createReadStream(file, { highWaterMark: 32 * 1024 * 1024 }))
      await out.write(piece as Buffer);
    await out.sync();
  } finally {
    await out.close();
  }
  const s = (performance.now() - t) / 1000;
  rmSync(copy, { force: true });
  return s;
}

function cairn(url: string, args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, CAIRN_URL: url },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

// Versions of one file keep its name (a manifest path), as a user's re-add would.
/**
 * Waits until the server has profiled the dataset's newest version: profiling
 * runs in the background after an add, and must not eat into the next
 * measurement's CPU.
 */
async function profiled(url: string, name: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const answer = (await (await fetch(`${url}/api/v1/datasets/${name}/versions/latest`)).json()) as {
      tables: Array<{ status: string }>;
    };
    if (answer.tables.every((t) => t.status !== 'pending')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the profile of ${name} was not ready in 2 minutes`);
}

const files = {
  csv: path.join(WORK, 'v1', 'big.csv'),
  edited: path.join(WORK, 'edited', 'big.csv'),
  appended: path.join(WORK, 'appended', 'big.csv'),
  random: path.join(WORK, 'random', 'big.bin'),
  table1: path.join(WORK, 'table-v1', 'table.csv'),
  table2: path.join(WORK, 'table-v2', 'table.csv'),
};
console.log(`writing inputs under ${WORK} …`);
for (const file of Object.values(files)) mkdirSync(path.dirname(file), { recursive: true });
const rows = await writeCsv(files.csv, { bytes: BYTES });
await writeCsv(files.edited, { rows, edit: true });
await writeCsv(files.appended, { rows, extraRows: Math.round(rows / 100) });
await writeRandom(files.random, BYTES);
await writeCsv(files.table1, { rows: TABLE_ROWS });
await writeCsv(files.table2, { rows: TABLE_ROWS, edit: true, extraRows: TABLE_ROWS / 100 });

const results: Record<string, Record<string, number>> = {};
for (const dialect of dialectsFrom(values.dialect)) {
  const pg = dialect === 'postgres' ? await pgSchemaUrl('datasets') : undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-data-'));
  const server = await startCairn({ dataDir, ...(pg ? { dbUrl: pg.url } : {}) });
  try {
    const figures: Record<string, number> = {};
    const add = async (name: string, file: string, message: string) => {
      let out = '';
      const s = seconds(() => {
        out = cairn(server.url, ['data', 'add', name, file, '-m', message, '--json']);
      });
      await profiled(server.url, name);
      return { s, result: JSON.parse(out) as { bytesTotal: number; bytesNew: number } };
    };
    for (const [label, file] of [
      ['csv', files.csv],
      ['random', files.random],
    ] as const) {
      const size = statSync(file).size;
      const sha = seconds(() => execFileSync('sha256sum', [file]));
      const ceiling = await nodeCeiling(file);
      const copy = await durableCopy(file);
      const added = await add(`big-${label}`, file, 'first');
      figures[`add_${label}_MBps`] = size / added.s / 1e6;
      figures[`sha256sum_${label}_MBps`] = size / sha / 1e6;
      figures[`ceiling_${label}_MBps`] = size / ceiling / 1e6;
      figures[`add_vs_sha256sum_${label}`] = sha / added.s;
      figures[`add_vs_ceiling_${label}`] = ceiling / added.s;
      figures[`durable_copy_${label}_MBps`] = size / copy / 1e6;
      figures[`durable_copy_vs_sha256sum_${label}`] = sha / copy;
      figures[`stored_ratio_${label}`] = added.result.bytesNew / size;
    }
    const edited = await add('big-csv', files.edited, '1% of rows changed, scattered');
    figures['edited_bytesNew_pct'] = (100 * edited.result.bytesNew) / edited.result.bytesTotal;
    figures['edited_add_s'] = edited.s;
    const appended = await add('big-csv', files.appended, '1% of rows appended');
    figures['appended_bytesNew_pct'] = (100 * appended.result.bytesNew) / appended.result.bytesTotal;
    figures['appended_add_s'] = appended.s;

    await add('table', files.table1, 'v1');
    await add('table', files.table2, 'v2');
    let diff = '';
    figures['diff_1M_rows_s'] = seconds(() => {
      diff = cairn(server.url, ['data', 'diff', 'table@1', 'table@2', '--key', 'id', '--json']);
    });
    const table = (JSON.parse(diff) as { tables: Array<Record<string, number>> }).tables[0];
    figures['diff_rowsChanged'] = table?.['rowsChanged'] ?? -1;
    figures['diff_rowsAdded'] = table?.['rowsAdded'] ?? -1;

    const out = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-checkout-'));
    figures['checkout_full_s'] = seconds(() =>
      cairn(server.url, ['data', 'checkout', 'big-csv@1', '-o', out]),
    );
    figures['checkout_unchanged_s'] = seconds(() =>
      cairn(server.url, ['data', 'checkout', 'big-csv@1', '-o', out]),
    );
    figures['checkout_unchanged_pct'] = (100 * figures['checkout_unchanged_s']) / figures['checkout_full_s'];
    rmSync(out, { recursive: true, force: true });
    results[dialect] = figures;
  } finally {
    await server.stop();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
saveFigures('datasets', results);
writeFileSync(path.join(WORK, 'done'), new Date().toISOString());
