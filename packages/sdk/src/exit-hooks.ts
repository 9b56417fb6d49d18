/**
 * Runs still open when the process is about to exit. One `beforeExit`
 * handler (the event loop is empty: a script ran to its end without calling
 * `end()`) flushes and ends them as FINISHED; `exit` (no more async work is
 * possible) can only warn about what was never sent.
 */
export interface ClosableRun {
  readonly runId: string;
  /** Items logged but not yet accepted by the server. */
  readonly pendingCount: number;
  end(status: 'FINISHED'): Promise<void>;
}

const open = new Set<ClosableRun>();
let installed = false;

function processOrUndefined(): NodeJS.Process | undefined {
  return typeof process === 'undefined' || typeof process.on !== 'function' ? undefined : process;
}

async function endOpenRuns(): Promise<void> {
  const runs = [...open];
  open.clear();
  await Promise.all(
    runs.map((run) =>
      run.end('FINISHED').catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        console.warn(`cairn: could not end run ${run.runId} at exit: ${message}`);
      }),
    ),
  );
}

function install(): void {
  const proc = processOrUndefined();
  if (installed || proc === undefined) return;
  installed = true;
  proc.on('beforeExit', () => {
    if (open.size > 0) void endOpenRuns();
  });
  proc.on('exit', () => {
    for (const run of open) {
      const pending = run.pendingCount;
      console.warn(
        `cairn: run ${run.runId} was not ended` +
          (pending > 0 ? `; ${pending} queued metrics/params/tags were not sent` : '') +
          '. Call `await run.end()` before the process exits.',
      );
    }
  });
}

export function trackOpenRun(run: ClosableRun): void {
  install();
  open.add(run);
}

export function untrackRun(run: ClosableRun): void {
  open.delete(run);
}
