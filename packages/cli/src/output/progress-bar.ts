import { formatBytes, formatCount } from './models-format.js';

/**
 * A one-line progress bar on stderr for long transfers: percentage, bytes,
 * speed over the last few seconds, time left, files, current path. On a
 * terminal the line is redrawn in place (10 times a second at most);
 * elsewhere, when asked for, a line is printed every few seconds. Never on
 * stdout, so `--json` output stays one document.
 */

export interface ProgressState {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  path?: string;
}

export interface ProgressBar {
  update(state: ProgressState, label?: string): void;
  /** Draws the last state and ends the line. */
  done(): void;
}

export interface ProgressBarOptions {
  /** `Uploading`, `Fetching`… */
  label: string;
  /** Show it even when stderr is not a terminal (`--progress`). */
  force?: boolean;
  /** Never show it (`--json` without `--progress`). */
  off?: boolean;
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

const RATE_WINDOW_MS = 5_000;
const TTY_INTERVAL_MS = 100;
const LOG_INTERVAL_MS = 2_000;
const BAR_WIDTH = 20;

/** `0:05`, `12:34`, `1:02:03`; `--:--` when unknown. */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The line for one state; `rate` in bytes per second (undefined before there is a measure). */
export function renderProgressLine(input: {
  label: string;
  state: ProgressState;
  rate: number | undefined;
  width: number;
}): string {
  const { state, rate } = input;
  // With no bytes to count (checking files already there), files are the measure.
  const byFiles = state.bytesTotal === 0 && state.filesTotal > 0;
  const [done, total] = byFiles ? [state.filesDone, state.filesTotal] : [state.bytesDone, state.bytesTotal];
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const left = rate !== undefined && rate > 0 ? (state.bytesTotal - state.bytesDone) / rate : undefined;
  const parts = [
    `${input.label} ${bar} ${percent}`,
    ...(byFiles
      ? []
      : [
          `${formatBytes(state.bytesDone)}/${formatBytes(state.bytesTotal)}`,
          `${rate === undefined ? '-' : formatBytes(Math.round(rate))}/s`,
          `ETA ${fraction >= 1 ? '0:00' : formatEta(left)}`,
        ]),
    `${formatCount(state.filesDone)}/${formatCount(state.filesTotal)} files`,
  ];
  let line = parts.join('  ');
  if (state.path !== undefined && state.path !== '') {
    const room = input.width - line.length - 3;
    if (room >= 8) {
      const shown =
        state.path.length > room ? `…${state.path.slice(state.path.length - room + 1)}` : state.path;
      line += `  ${shown}`;
    }
  }
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, Math.max(20, input.width - 1));
}

/** Bytes per second over the last few seconds of samples. */
class RateMeter {
  private samples: Array<{ at: number; bytes: number }> = [];

  add(at: number, bytes: number): number | undefined {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && (this.samples[0]?.at ?? at) < at - RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    if (first === undefined || at - first.at < 250) return undefined;
    return ((bytes - first.bytes) * 1000) / (at - first.at);
  }
}

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const enabled = options.off !== true && (tty || options.force === true);
  const now = options.now ?? Date.now;
  let meter = new RateMeter();
  let label = options.label;
  let last: ProgressState | undefined;
  let rate: number | undefined;
  let drawnAt = -Infinity;
  let drawn = false;
  const draw = (): void => {
    if (last === undefined) return;
    const line = renderProgressLine({ label, state: last, rate, width: stream.columns ?? 100 });
    stream.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
    drawn = true;
  };
  return {
    update(state, newLabel) {
      if (!enabled) return;
      const at = now();
      if (newLabel !== undefined && newLabel !== label) {
        // A new phase counts different bytes: its speed starts afresh.
        label = newLabel;
        meter = new RateMeter();
        rate = undefined;
        drawnAt = -Infinity;
      }
      rate = meter.add(at, state.bytesDone) ?? rate;
      last = state;
      if (at - drawnAt < (tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS)) return;
      drawnAt = at;
      draw();
    },
    done() {
      if (!enabled || last === undefined) return;
      draw();
      if (tty && drawn) stream.write('\n');
    },
  };
}
