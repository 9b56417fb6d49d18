import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * What a checkout knows about the files it wrote or checked, so the next
 * checkout into the same folder can skip a file without reading it when its
 * size, mtime and inode are unchanged (git's index does the same). One JSON
 * file per checkout folder, under `$XDG_CACHE_HOME/cairn/checkouts/`.
 *
 * A file changed within the filesystem's timestamp resolution of the moment
 * it was recorded could keep its mtime, so an entry is trusted only once its
 * mtime is `RACY_WINDOW_MS` older than when it was recorded (git's "racily
 * clean" rule); younger entries are hashed again.
 */

export interface StatEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  /** The content digest the file had when recorded. */
  digest: string;
  /** When the stat was taken. */
  checkedAtMs: number;
}

export interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** FAT and some network filesystems keep mtimes to 2 s: whole-second mtimes get this window. */
export const RACY_WINDOW_MS = 2_000;
/**
 * Filesystems with sub-second mtimes (ext4, xfs, btrfs, APFS) still stamp
 * them from a coarse kernel clock (a few ms); this window covers that.
 */
export const FINE_RACY_WINDOW_MS = 50;

/** The window an entry needs: a fractional-second mtime shows the filesystem keeps fine times. */
function racyWindow(mtimeMs: number): number {
  return mtimeMs % 1000 === 0 ? RACY_WINDOW_MS : FINE_RACY_WINDOW_MS;
}

const FORMAT = 1;

/** The default cache folder: `$XDG_CACHE_HOME/cairn/checkouts`, else `~/.cache/cairn/checkouts`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  const base =
    xdg !== undefined && xdg !== '' && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'cairn', 'checkouts');
}

/** One cache file per checkout folder, named by the sha256 of the folder's real path. */
export function cacheFileFor(realDir: string, cacheDir: string): string {
  return path.join(cacheDir, `${createHash('sha256').update(realDir).digest('hex')}.json`);
}

/** Whether `entry` proves the file still holds `digest` without reading it. */
export function isCleanByStat(entry: StatEntry | undefined, stat: FileStat, digest: string): boolean {
  return (
    entry !== undefined &&
    entry.digest === digest &&
    entry.size === stat.size &&
    entry.mtimeMs === stat.mtimeMs &&
    entry.ino === stat.ino &&
    entry.mtimeMs + racyWindow(entry.mtimeMs) <= entry.checkedAtMs
  );
}

const isEntry = (value: unknown): value is StatEntry => {
  const e = value as Partial<StatEntry> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.size === 'number' &&
    typeof e.mtimeMs === 'number' &&
    typeof e.ino === 'number' &&
    typeof e.digest === 'string' &&
    typeof e.checkedAtMs === 'number'
  );
};

export class StatCache {
  private constructor(
    readonly file: string,
    private readonly entries: Map<string, StatEntry>,
  ) {}

  /** The cache for a folder; empty when there is none or it cannot be read (it is only a shortcut). */
  static async load(file: string): Promise<StatCache> {
    const entries = new Map<string, StatEntry>();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { format?: unknown; files?: unknown };
      if (parsed.format === FORMAT && typeof parsed.files === 'object' && parsed.files !== null) {
        for (const [p, entry] of Object.entries(parsed.files)) if (isEntry(entry)) entries.set(p, entry);
      }
    } catch {
      // no cache yet, or a damaged one: every file is checked by content
    }
    return new StatCache(file, entries);
  }

  get(filePath: string): StatEntry | undefined {
    return this.entries.get(filePath);
  }

  isClean(filePath: string, stat: FileStat, digest: string): boolean {
    return isCleanByStat(this.entries.get(filePath), stat, digest);
  }

  /** Records a file's stat; `checkedAtMs` is when the stat was taken (now by default). */
  record(filePath: string, stat: FileStat, seen: { digest: string; checkedAtMs?: number }): void {
    this.entries.set(filePath, {
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      ino: stat.ino,
      digest: seen.digest,
      checkedAtMs: seen.checkedAtMs ?? Date.now(),
    });
  }

  /** Drops entries for paths outside `keep` (files of earlier versions). */
  retain(keep: ReadonlySet<string>): void {
    for (const p of this.entries.keys()) if (!keep.has(p)) this.entries.delete(p);
  }

  /**
   * Makes entries recorded right after their file was written trustworthy:
   * waits out the racy window (tens of ms on modern filesystems), then
   * re-stats each such file and, when it is unchanged, records it as checked
   * now. Without this a file checked out a moment ago would be hashed again
   * on the next checkout.
   */
  async settle(statOf: (filePath: string) => Promise<FileStat | undefined>): Promise<void> {
    const racy = [...this.entries].filter(([, e]) => e.mtimeMs + racyWindow(e.mtimeMs) > e.checkedAtMs);
    if (racy.length === 0) return;
    const until = Math.max(...racy.map(([, e]) => e.mtimeMs + racyWindow(e.mtimeMs)));
    const wait = until - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 1));
    for (const [filePath, entry] of racy) {
      const now = await statOf(filePath).catch(() => undefined);
      if (
        now === undefined ||
        now.size !== entry.size ||
        now.mtimeMs !== entry.mtimeMs ||
        now.ino !== entry.ino
      ) {
        this.entries.delete(filePath);
        continue;
      }
      this.entries.set(filePath, { ...entry, checkedAtMs: Date.now() });
    }
  }

  /** Written whole to a temporary name, then renamed: a crash leaves the old cache or the new one. */
  async save(): Promise<void> {
    const body = JSON.stringify({ format: FORMAT, files: Object.fromEntries(this.entries) });
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      await writeFile(temp, body);
      await rename(temp, this.file);
    } catch {
      await rm(temp, { force: true }).catch(() => undefined);
    }
  }
}
