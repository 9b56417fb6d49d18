import type {
  PipelineRunDetailJson,
  PipelineRunJson,
  PipelineRunSummaryJson,
  StepRunJson,
  StepRunStatus,
} from '@cairn/contract';
import { formatDuration, formatTime, renderTable, type Column } from './table.js';

/**
 * Readable forms of pipeline runs for `cairn pipeline …`: the live step table
 * (a foreach step's items collapsed into one line), the lines printed when
 * not on a terminal, the result and failure report, `runs ls` and `runs show`.
 * Everything here but `LiveView` is pure.
 */

export const STATUS_SYMBOLS: Readonly<Record<StepRunStatus | 'cancelling', string>> = {
  pending: '○',
  queued: '◌',
  running: '▶',
  succeeded: '✓',
  cached: '↺',
  failed: '✗',
  skipped: '–',
  cancelled: '⊘',
  cancelling: '⊘',
};

const FINISHED: ReadonlySet<StepRunStatus> = new Set([
  'succeeded',
  'cached',
  'failed',
  'skipped',
  'cancelled',
]);
/** A foreach step with more items than this is one line in `runs show` and when not on a terminal. */
export const ITEMS_SHOWN_ONE_BY_ONE = 20;

/** A step's runs: one row, or a foreach step's items (or its placeholder before the items are known). */
export interface StepGroup {
  step: string;
  rows: StepRunJson[];
  /** Whether the rows are foreach items (`name[i]`). */
  foreach: boolean;
}

/** Step runs grouped by step, in the order the server lists them. */
export function groupStepRuns(steps: readonly StepRunJson[]): StepGroup[] {
  const groups = new Map<string, StepGroup>();
  for (const row of steps) {
    const group = groups.get(row.step) ?? { step: row.step, rows: [], foreach: false };
    group.rows.push(row);
    if (row.index !== null) group.foreach = true;
    groups.set(row.step, group);
  }
  return [...groups.values()];
}

function countBy(rows: readonly StepRunJson[]): Map<StepRunStatus, number> {
  const counts = new Map<StepRunStatus, number>();
  for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  return counts;
}

/** One status for a group: running while any item runs, then failed if any failed, and so on. */
export function groupStatus(rows: readonly StepRunJson[]): StepRunStatus {
  const counts = countBy(rows);
  const has = (s: StepRunStatus): boolean => (counts.get(s) ?? 0) > 0;
  if (has('running')) return 'running';
  if (has('queued')) return 'queued';
  if (has('failed')) return 'failed';
  if (has('pending')) return 'pending';
  if (has('cancelled')) return 'cancelled';
  if (has('skipped') && !has('succeeded') && !has('cached')) return 'skipped';
  return has('succeeded') || !has('cached') ? 'succeeded' : 'cached';
}

/** `scale [37/100 done, 2 running, 1 failed]`: done counts succeeded and cached items. */
export function foreachSummary(group: Pick<StepGroup, 'step' | 'rows'>): string {
  const counts = countBy(group.rows);
  const done = (counts.get('succeeded') ?? 0) + (counts.get('cached') ?? 0);
  const parts = [`${done}/${group.rows.length} done`];
  for (const status of ['running', 'queued', 'failed', 'skipped', 'cancelled'] as const) {
    const n = counts.get(status) ?? 0;
    if (n > 0) parts.push(`${n} ${status}`);
  }
  return `${group.step} [${parts.join(', ')}]`;
}

function rowDuration(rows: readonly StepRunJson[], now: number): string {
  const starts = rows.map((r) => r.startedAt).filter((t): t is number => t !== null);
  if (starts.length === 0) return '-';
  const ends = rows.map((r) => r.endedAt).filter((t): t is number => t !== null);
  const end = rows.some((r) => !FINISHED.has(r.status)) ? now : ends.length === 0 ? null : Math.max(...ends);
  return formatDuration(Math.min(...starts), end);
}

/** One line of the live table. */
export interface StepLine {
  name: string;
  status: StepRunStatus;
  cached: string;
  attempt: string;
  duration: string;
}

/** The live table's lines: a step per line, a foreach step's items collapsed into one. */
export function stepLines(steps: readonly StepRunJson[], now: number): StepLine[] {
  return groupStepRuns(steps).map((group): StepLine => {
    const first = group.rows[0] as StepRunJson;
    if (!group.foreach) {
      return {
        name: first.name,
        status: first.status,
        cached: first.cached ? 'yes' : '',
        attempt: first.attempt === 0 ? '' : String(first.attempt),
        duration: rowDuration([first], now),
      };
    }
    const cached = group.rows.filter((r) => r.cached).length;
    const attempts = group.rows.map((r) => r.attempt).filter((a) => a > 0);
    const [fewest, most] = [Math.min(...attempts), Math.max(...attempts)];
    return {
      name: foreachSummary(group),
      status: groupStatus(group.rows),
      cached: cached === 0 ? '' : `${cached}/${group.rows.length}`,
      attempt: attempts.length === 0 ? '' : fewest === most ? String(most) : `${fewest}-${most}`,
      duration: rowDuration(group.rows, now),
    };
  });
}

const statusCell = (status: StepRunStatus): string => `${STATUS_SYMBOLS[status]} ${status}`;

/**
 * At most `maxRows` lines: when there are more, the finished steps that are
 * neither failed nor the most recent give way first, and a last line says
 * how many are not shown.
 */
export function fitLines(lines: readonly StepLine[], maxRows: number): { shown: StepLine[]; hidden: number } {
  if (lines.length <= maxRows) return { shown: [...lines], hidden: 0 };
  const room = Math.max(1, maxRows - 1);
  const rank = (l: StepLine): number =>
    l.status === 'running' || l.status === 'failed' || l.status === 'queued'
      ? 0
      : l.status === 'pending'
        ? 1
        : 2;
  const keep = new Set(
    lines
      .map((line, i) => ({ line, i }))
      .sort((a, b) => rank(a.line) - rank(b.line) || (rank(a.line) === 2 ? b.i - a.i : a.i - b.i))
      .slice(0, room)
      .map((x) => x.i),
  );
  return { shown: lines.filter((_, i) => keep.has(i)), hidden: lines.length - keep.size };
}

const STEP_COLUMNS: readonly Column<StepLine>[] = [
  { header: 'STEP', value: (l) => l.name },
  { header: 'STATUS', value: (l) => statusCell(l.status), keep: true },
  { header: 'CACHED', value: (l) => l.cached },
  { header: 'ATTEMPT', value: (l) => l.attempt, align: 'right' },
  { header: 'DURATION', value: (l) => l.duration, align: 'right', keep: true },
];

/** The live table: one line per step (foreach items collapsed), fitted to `maxRows` lines and `width` columns. */
export function stepsTable(
  detail: Pick<PipelineRunDetailJson, 'steps'>,
  view: { now: number; width: number; maxRows?: number },
): string {
  const { shown, hidden } = fitLines(
    stepLines(detail.steps, view.now),
    view.maxRows ?? Number.MAX_SAFE_INTEGER,
  );
  const table = renderTable(shown, STEP_COLUMNS, view.width);
  return hidden === 0 ? table : `${table}\n… ${hidden} more steps`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `12 step runs: 5 succeeded, 2 cached, 3 running, 2 pending`, in lifecycle order. */
export function countsText(steps: readonly StepRunJson[]): string {
  const counts = countBy(steps);
  const order: StepRunStatus[] = [
    'succeeded',
    'cached',
    'running',
    'queued',
    'pending',
    'failed',
    'skipped',
    'cancelled',
  ];
  const parts = order.filter((s) => (counts.get(s) ?? 0) > 0).map((s) => `${counts.get(s)} ${s}`);
  return `${plural(steps.length, 'step run')}${parts.length === 0 ? '' : `: ${parts.join(', ')}`}`;
}

function runDuration(run: Pick<PipelineRunJson, 'startedAt' | 'createdAt' | 'endedAt'>, now: number): string {
  return formatDuration(run.startedAt ?? run.createdAt, run.endedAt ?? now);
}

/** The line under the live table: `pr_… running 1m12s · 37 succeeded, 2 running, 61 pending`. */
export function footerLine(detail: PipelineRunDetailJson, now: number): string {
  return `${detail.id} ${detail.status} ${runDuration(detail, now)} · ${countsText(detail.steps)}`;
}

/** What `--json` prints once the run has ended: one entry per step run, in the server's order. */
export function runSummaryJson(detail: PipelineRunDetailJson): PipelineRunSummaryJson {
  return {
    run: detail.id,
    status: detail.status,
    steps: detail.steps.map((s) => ({ name: s.name, status: s.status, cached: s.cached })),
  };
}

/** The one line printed when the run has ended. */
export function resultLine(detail: PipelineRunDetailJson): string {
  const took = formatDuration(detail.startedAt ?? detail.createdAt, detail.endedAt ?? detail.startedAt);
  const counts = countBy(detail.steps);
  const cached = counts.get('cached') ?? 0;
  if (detail.status === 'succeeded') {
    const reused = cached === 0 ? '' : ` (${cached} cached)`;
    return `${STATUS_SYMBOLS.succeeded} Run ${detail.id} of ${detail.pipeline} succeeded in ${took}: ${plural(detail.steps.length, 'step run')}${reused}`;
  }
  const failed = detail.steps.filter((s) => s.status === 'failed').map((s) => s.name);
  const names = failed.length > 3 ? `${failed.slice(0, 3).join(', ')}, …` : failed.join(', ');
  const why = failed.length > 0 ? `${plural(failed.length, 'step')} failed (${names})` : (detail.error ?? '');
  if (detail.status === 'cancelled') {
    return `${STATUS_SYMBOLS.cancelled} Run ${detail.id} of ${detail.pipeline} was cancelled after ${took}`;
  }
  return `${STATUS_SYMBOLS.failed} Run ${detail.id} of ${detail.pipeline} ${detail.status} after ${took}${why === '' ? '' : `: ${why}`}`;
}

const indent = (text: string, by: string): string =>
  text
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');

/** For stderr when a run failed or was cancelled: each failed step with its error and stderr tail, then what to do. */
export function failureReport(detail: PipelineRunDetailJson, options: { maxSteps?: number } = {}): string {
  const failed = detail.steps.filter((s) => s.status === 'failed');
  const shown = failed.slice(0, options.maxSteps ?? 3);
  const out: string[] = [];
  if (failed.length === 0 && detail.error !== null) out.push(`Run ${detail.id}: ${detail.error}`);
  for (const step of shown) {
    const facts = [
      step.exitCode === null || step.exitCode === 0 ? null : `exit code ${step.exitCode}`,
      step.attempt > 1 ? `attempt ${step.attempt}` : null,
    ].filter((f) => f !== null);
    out.push(
      `Step ${step.name} failed${facts.length === 0 ? '' : ` (${facts.join(', ')})`}${step.error === null ? '' : `: ${step.error}`}`,
    );
    if (step.stderrTail !== null && step.stderrTail.trim() !== '') {
      out.push('  stderr (last lines):', indent(step.stderrTail, '    '));
    }
  }
  if (failed.length > shown.length)
    out.push(
      `… and ${failed.length - shown.length} more failed step runs (cairn pipeline runs show ${detail.id})`,
    );
  const first = failed[0];
  if (first !== undefined)
    out.push(`See the whole log:  cairn pipeline runs logs ${detail.id} ${first.name} --stderr`);
  out.push(`Resume the run:     cairn pipeline runs resume ${detail.id}`);
  return out.join('\n');
}

/** A status line for one step run (or a collapsed foreach step), for output that is not a terminal. */
function changeText(label: string, status: StepRunStatus, row: StepRunJson | undefined): string {
  let detail = '';
  if (row !== undefined && FINISHED.has(status) && row.startedAt !== null) {
    detail = ` ${formatDuration(row.startedAt, row.endedAt)}`;
  }
  if (row !== undefined && status === 'cached' && row.cachedFrom !== null)
    detail += ` (reused ${row.cachedFrom})`;
  if (row !== undefined && status === 'running' && row.attempt > 1) detail += ` (attempt ${row.attempt})`;
  if (row !== undefined && status === 'failed') {
    detail += row.exitCode === null || row.exitCode === 0 ? '' : ` (exit code ${row.exitCode})`;
    detail += row.error === null ? '' : `: ${row.error}`;
  }
  return `${STATUS_SYMBOLS[status]} ${label} ${status}${detail}`;
}

/**
 * The lines to print since the `seen` state, and the new state (for output
 * that is not a terminal): one line per step run whose status changed; a
 * foreach step of many items is one line, printed when its summary moves by
 * a tenth, a failure, or a new overall status.
 */
export function changeLines(
  seen: ReadonlyMap<string, string>,
  steps: readonly StepRunJson[],
): { lines: string[]; seen: Map<string, string> } {
  const next = new Map<string, string>();
  const lines: string[] = [];
  const note = (key: string, state: string, line: () => string): void => {
    next.set(key, state);
    // Waiting is where every step starts: not a change worth a line.
    if (seen.get(key) !== state && !(state.startsWith('pending') && !seen.has(key))) lines.push(line());
  };
  for (const group of groupStepRuns(steps)) {
    if (group.foreach && group.rows.length > ITEMS_SHOWN_ONE_BY_ONE) {
      const status = groupStatus(group.rows);
      const counts = countBy(group.rows);
      const done = (counts.get('succeeded') ?? 0) + (counts.get('cached') ?? 0);
      const tenth = Math.floor((done * 10) / group.rows.length);
      const state = `${status}:${tenth}:${counts.get('failed') ?? 0}`;
      note(`${group.step}[*]`, state, () => `${STATUS_SYMBOLS[status]} ${foreachSummary(group)}`);
    } else {
      for (const row of group.rows) note(row.name, row.status, () => changeText(row.name, row.status, row));
    }
  }
  return { lines, seen: next };
}

// ── runs ls / runs show ──

function stepCounts(run: PipelineRunJson): { done: number; total: number; cached: number } {
  const total = Object.values(run.counts).reduce((a, b) => a + b, 0);
  const cached = run.counts['cached'] ?? 0;
  return { done: (run.counts['succeeded'] ?? 0) + cached, total, cached };
}

export function runsTable(runs: readonly PipelineRunJson[], now: number, width?: number): string {
  const columns: Column<PipelineRunJson>[] = [
    { header: 'RUN', value: (r) => r.id, keep: true },
    { header: 'PIPELINE', value: (r) => r.pipeline },
    { header: 'STATUS', value: (r) => r.status, keep: true },
    {
      header: 'STEPS',
      value: (r) => {
        const c = stepCounts(r);
        return c.total === 0 ? '-' : `${c.done}/${c.total}`;
      },
      align: 'right',
    },
    {
      header: 'CACHED',
      value: (r) => (stepCounts(r).total === 0 ? '-' : String(stepCounts(r).cached)),
      align: 'right',
    },
    { header: 'STARTED', value: (r) => formatTime(r.startedAt ?? r.createdAt) },
    {
      header: 'DURATION',
      value: (r) => (r.startedAt === null ? '-' : formatDuration(r.startedAt, r.endedAt ?? now)),
      align: 'right',
    },
  ];
  return renderTable(runs, columns, width);
}

function paramText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const LABEL_WIDTH = 12;
const field = (label: string, value: string): string => `${`${label}:`.padEnd(LABEL_WIDTH)}${value}`;

interface ShowRow {
  name: string;
  status: StepRunStatus;
  cached: string;
  attempt: string;
  exit: string;
  duration: string;
  note: string;
}

function showRow(row: StepRunJson, now: number): ShowRow {
  const note = row.error ?? row.reason ?? '';
  return {
    name: row.name,
    status: row.status,
    cached: row.cached ? (row.cachedFrom === null ? 'yes' : `from ${row.cachedFrom}`) : '',
    attempt: row.attempt === 0 ? '' : String(row.attempt),
    exit: row.exitCode === null ? '' : String(row.exitCode),
    duration: rowDuration([row], now),
    note,
  };
}

/**
 * What `runs show` prints: the run, then every step run; a foreach step of
 * many items is a summary line followed by its failed items only.
 */
export function runDetailText(detail: PipelineRunDetailJson, view: { now: number; width?: number }): string {
  const params = Object.entries(detail.params);
  const lines = [
    field('Run', `${detail.id} (pipeline ${detail.pipeline}, project ${detail.project})`),
    field('Status', `${detail.status}${detail.error === null ? '' : `: ${detail.error}`}`),
    field('Executor', `${detail.executor}, cache ${detail.useCache ? 'on' : 'off'}`),
    field('Params', params.length === 0 ? '-' : params.map(([k, v]) => `${k}=${paramText(v)}`).join(', ')),
    field('Code', detail.codeDigest ?? '-'),
    field('Started', `${formatTime(detail.startedAt ?? detail.createdAt)} by ${detail.createdBy}`),
    field('Duration', runDuration(detail, view.now)),
    field('Steps', countsText(detail.steps)),
  ];
  const rows: ShowRow[] = [];
  for (const group of groupStepRuns(detail.steps)) {
    if (!group.foreach || group.rows.length <= ITEMS_SHOWN_ONE_BY_ONE) {
      rows.push(...group.rows.map((r) => showRow(r, view.now)));
      continue;
    }
    const cached = group.rows.filter((r) => r.cached).length;
    rows.push({
      name: foreachSummary(group),
      status: groupStatus(group.rows),
      cached: cached === 0 ? '' : `${cached}/${group.rows.length}`,
      attempt: '',
      exit: '',
      duration: rowDuration(group.rows, view.now),
      note: '',
    });
    rows.push(...group.rows.filter((r) => r.status === 'failed').map((r) => showRow(r, view.now)));
  }
  const columns: Column<ShowRow>[] = [
    { header: 'STEP', value: (r) => r.name },
    { header: 'STATUS', value: (r) => statusCell(r.status), keep: true },
    { header: 'CACHED', value: (r) => r.cached },
    { header: 'ATTEMPT', value: (r) => r.attempt, align: 'right' },
    { header: 'EXIT', value: (r) => r.exit, align: 'right' },
    { header: 'DURATION', value: (r) => r.duration, align: 'right' },
    { header: 'REASON / ERROR', value: (r) => r.note },
  ];
  return `${lines.join('\n')}\n\n${renderTable(rows, columns, view.width)}`;
}

// ── the live view ──

export interface LiveViewOptions {
  stream: NodeJS.WriteStream;
  /** Redraw a table in place (a terminal) or print a line per change. */
  tty: boolean;
  now?: () => number;
  redrawMs?: number;
}

/**
 * Follows a run on `stream`: on a terminal, the step table and a footer
 * redrawn in place about four times a second; otherwise a line per change.
 */
export class LiveView {
  private detail: PipelineRunDetailJson | undefined;
  private seen = new Map<string, string>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LiveViewOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (!this.options.tty || this.timer !== undefined) return;
    this.timer = setInterval(() => this.draw(), this.options.redrawMs ?? 250);
    this.timer.unref();
  }

  update(detail: PipelineRunDetailJson): void {
    this.detail = detail;
    if (this.options.tty) {
      this.draw();
      return;
    }
    const { lines, seen } = changeLines(this.seen, detail.steps);
    this.seen = seen;
    for (const line of lines) this.options.stream.write(`${line}\n`);
  }

  /** A message above the table (on a terminal) or a line of its own. */
  note(text: string): void {
    if (!this.options.tty) {
      this.options.stream.write(`${text}\n`);
      return;
    }
    this.erase();
    this.options.stream.write(`${text}\n`);
    this.draw();
  }

  /** Draws the last state once more and leaves it on screen. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.options.tty) this.draw();
    this.drawn = 0;
  }

  private erase(): void {
    if (this.drawn > 0) this.options.stream.write(`\u001b[${this.drawn}A\r\u001b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (this.detail === undefined) return;
    const width = Math.max(40, (this.options.stream.columns ?? 100) - 1);
    const rows = Math.max(5, (this.options.stream.rows ?? 24) - 4);
    const now = this.now();
    const text = `${stepsTable(this.detail, { now, width, maxRows: rows })}\n${footerLine(this.detail, now)}`;
    // Lines longer than the terminal would wrap, and the cursor would go back up too few lines.
    const lines = text
      .split('\n')
      .map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
    this.erase();
    this.options.stream.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
