import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  handle: Promise<FileHandle>;
  users: number;
  /** Evicted while in use: closed when the last user lets go. */
  retired: boolean;
}

/**
 * Open read handles of immutable files, least recently used first out. Range
 * reads of packs come thousands per gigabyte; opening and closing the file
 * for each one cost more than reading it. A handle is never closed under a
 * reader: eviction waits for its users to finish.
 */
export class OpenFileCache {
  readonly #limit: number;
  readonly #entries = new Map<string, Entry>();

  constructor(limit = 64) {
    this.#limit = limit;
  }

  async use<T>(path: string, work: (handle: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.#entries.get(path);
    if (entry === undefined) {
      entry = { handle: open(path, 'r'), users: 0, retired: false };
      this.#entries.set(path, entry);
      entry.handle.catch(() => this.#entries.delete(path));
      this.#evict();
    } else {
      this.#entries.delete(path);
      this.#entries.set(path, entry);
    }
    entry.users++;
    try {
      return await work(await entry.handle);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) await close(entry);
    }
  }

  /** Closes the path's handle (the file is being deleted). */
  async forget(path: string): Promise<void> {
    const entry = this.#entries.get(path);
    if (entry === undefined) return;
    this.#entries.delete(path);
    entry.retired = true;
    if (entry.users === 0) await close(entry);
  }

  #evict(): void {
    for (const [path, entry] of this.#entries) {
      if (this.#entries.size <= this.#limit) break;
      this.#entries.delete(path);
      entry.retired = true;
      if (entry.users === 0) void close(entry);
    }
  }
}

async function close(entry: Entry): Promise<void> {
  try {
    await (await entry.handle).close();
  } catch {
    // Already closed, or never opened: nothing to release.
  }
}
