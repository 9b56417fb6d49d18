import type { DeploymentStore } from './deployments.store.js';
import type { DeploymentRecord, DeploymentRevisionRecord } from './entities.js';
import { ActiveDeployment, type LoadedRoute, type LoadedShadow } from './active-deployment.js';
import type { RuntimeLease, RuntimePool } from './runtime-pool.js';
import type { DeploymentChanges } from './serving-context.js';

export interface DeploymentStatus {
  /** `loading` until the first revision is up, `ready` while the current revision serves, `failed` when it could not load. */
  state: 'loading' | 'ready' | 'failed';
  /** The revision answering requests (null before the first load). */
  servedRevision: number | null;
  /** The revision the store says is current. */
  wantedRevision: number;
  /** Why the wanted revision is not served (a load error), if so. */
  message: string | null;
}

export interface ServingEngineDeps {
  store: Pick<DeploymentStore, 'listActive'>;
  pool: RuntimePool;
  /** Serve only these deployments (a `cairn serve --deployment` process); all when absent. */
  only?: readonly string[];
  onError?: (error: unknown, message: string) => void;
}

/** Told when a deployment starts serving a revision (`active`), or stops (undefined). */
export type ServedListener = (name: string, active: ActiveDeployment | undefined) => void;

/**
 * Keeps this process serving the current revision of every deployment. It
 * polls the store (so revisions made by any replica arrive within a poll)
 * and reconciles at once when told of a change made here. A new revision is
 * loaded beside the old one and swapped in only when every runtime is up:
 * a version that fails to load (a corrupted file) leaves the old revision
 * serving and the failure in the deployment's status.
 */
export class ServingEngine implements DeploymentChanges {
  readonly #deps: ServingEngineDeps;
  readonly #active = new Map<string, ActiveDeployment>();
  readonly #status = new Map<string, DeploymentStatus>();
  /** Revisions being loaded, by deployment name. */
  readonly #loading = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #served = new Set<ServedListener>();

  constructor(deps: ServingEngineDeps) {
    this.#deps = deps;
  }

  onServed(listener: ServedListener): void {
    this.#served.add(listener);
  }

  #tellServed(name: string, active: ActiveDeployment | undefined): void {
    for (const listener of this.#served) listener(name, active);
  }

  start(pollMs = 1000): Promise<void> {
    const first = this.reconcile();
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        void this.reconcile().finally(() => {
          if (!this.#stopped) tick();
        });
      }, pollMs);
      this.#timer.unref();
    };
    tick();
    return first;
  }

  changed(): void {
    void this.reconcile();
  }

  get(name: string): ActiveDeployment | undefined {
    return this.#active.get(name);
  }

  status(name: string): DeploymentStatus | undefined {
    return this.#status.get(name);
  }

  /** Whether every deployment this process serves has a revision up. */
  get ready(): boolean {
    for (const status of this.#status.values()) if (status.servedRevision === null) return false;
    return true;
  }

  get names(): string[] {
    return [...this.#active.keys()];
  }

  /** One pass; concurrent calls share it, and a call during a pass causes one more pass after it. */
  reconcile(): Promise<void> {
    if (this.#reconciling !== undefined) {
      this.#again = true;
      return this.#reconciling;
    }
    this.#reconciling = this.#pass()
      .catch((error: unknown) => this.#deps.onError?.(error, 'reading deployments failed; retrying'))
      .finally(() => {
        this.#reconciling = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          void this.reconcile();
        }
      });
    return this.#reconciling;
  }

  /** Waits until every deployment this process serves is loaded (or failed), for tests and start-up. */
  async settled(): Promise<void> {
    await this.reconcile();
    while (this.#loads.size > 0) await Promise.allSettled([...this.#loads]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#reconciling;
    await Promise.allSettled([...this.#loads]);
    for (const active of this.#active.values()) active.retire();
    this.#active.clear();
  }

  readonly #loads = new Set<Promise<void>>();

  async #pass(): Promise<void> {
    if (this.#stopped) return;
    const rows = await this.#deps.store.listActive();
    const only = this.#deps.only === undefined ? undefined : new Set(this.#deps.only);
    const wanted = new Map(
      rows
        .filter((r) => only === undefined || only.has(r.deployment.name))
        .map((r) => [r.deployment.name, r]),
    );
    for (const [name, active] of this.#active) {
      if (wanted.has(name)) continue;
      this.#active.delete(name);
      this.#status.delete(name);
      active.retire();
      this.#tellServed(name, undefined);
    }
    for (const name of this.#status.keys()) if (!wanted.has(name)) this.#status.delete(name);
    for (const [name, { deployment, revision }] of wanted) {
      const served = this.#active.get(name);
      const status = this.#status.get(name);
      if (
        served?.revision.revision === revision.revision &&
        served.deployment.deploymentId === deployment.deploymentId
      )
        continue;
      if (this.#loading.get(name) === revision.revision) continue;
      // A revision that failed stays failed until a newer one is made (the poll must not retry it forever).
      if (status?.state === 'failed' && status.wantedRevision === revision.revision) continue;
      this.#status.set(name, {
        state: served === undefined ? 'loading' : 'ready',
        servedRevision: served?.revision.revision ?? null,
        wantedRevision: revision.revision,
        message: null,
      });
      const load = this.#load(deployment, revision).finally(() => this.#loads.delete(load));
      this.#loads.add(load);
    }
  }

  async #load(deployment: DeploymentRecord, revision: DeploymentRevisionRecord): Promise<void> {
    const name = deployment.name;
    this.#loading.set(name, revision.revision);
    const leases: RuntimeLease[] = [];
    try {
      const settings = revision.settings;
      const routes: LoadedRoute[] = [];
      for (const route of revision.routes) {
        const lease = await this.#deps.pool.acquire({ deployment: name, route, settings });
        leases.push(lease);
        routes.push({ route, runtime: lease.runtime });
      }
      const shadows: LoadedShadow[] = [];
      for (const route of revision.shadows) {
        const lease = await this.#deps.pool.acquire({ deployment: name, route, settings });
        leases.push(lease);
        shadows.push({ route, runtime: lease.runtime });
      }
      if (this.#stopped || this.#loading.get(name) !== revision.revision) {
        for (const lease of leases) lease.release();
        return;
      }
      const next = new ActiveDeployment(deployment, revision, { routes, shadows, leases });
      const previous = this.#active.get(name);
      this.#active.set(name, next);
      previous?.retire();
      this.#status.set(name, {
        state: 'ready',
        servedRevision: revision.revision,
        wantedRevision: revision.revision,
        message: null,
      });
      this.#tellServed(name, next);
    } catch (error) {
      for (const lease of leases) lease.release();
      const served = this.#active.get(name);
      this.#status.set(name, {
        state: 'failed',
        servedRevision: served?.revision.revision ?? null,
        wantedRevision: revision.revision,
        message: (error as Error).message,
      });
      this.#deps.onError?.(
        error,
        `deployment ${name}: revision ${revision.revision} could not be loaded` +
          (served === undefined ? '' : `; revision ${served.revision.revision} keeps serving`),
      );
    } finally {
      if (this.#loading.get(name) === revision.revision) this.#loading.delete(name);
    }
  }
}
