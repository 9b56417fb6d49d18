/**
 * Loaded sessions shared by key (a version's digest and the thread settings), counted by reference: two
 * deployments of the same version use one session, released when the last of them lets go.
 */

export interface Releasable {
  release(): Promise<void>;
}

/** One holder's use of a cached session. `release` is idempotent. */
export interface Lease<S> {
  readonly session: S;
  release(): Promise<void>;
}

interface Entry<S> {
  session: Promise<S>;
  refs: number;
}

export class SessionCache<S extends Releasable> {
  readonly #entries = new Map<string, Entry<S>>();

  /** How many sessions are open (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Holders of the session under `key`; 0 when none is open. */
  references(key: string): number {
    return this.#entries.get(key)?.refs ?? 0;
  }

  /**
   * The session under `key`, created with `create` when none is open. Concurrent acquires of a key being
   * created wait for the same session; a failed creation is forgotten so the next acquire tries again.
   */
  async acquire(key: string, create: () => Promise<S>): Promise<Lease<S>> {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const created: Entry<S> = { session: create(), refs: 0 };
      created.session.catch(() => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
      });
      this.#entries.set(key, created);
      entry = created;
    }
    entry.refs++;
    let session: S;
    try {
      session = await entry.session;
    } catch (error) {
      entry.refs--;
      throw error;
    }
    return this.#lease(key, entry, session);
  }

  #lease(key: string, entry: Entry<S>, session: S): Lease<S> {
    let released = false;
    return {
      session,
      release: async () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (entry.refs > 0) return;
        // Forgotten before it is freed: an acquire from now on opens a fresh session.
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
        await session.release();
      },
    };
  }
}
