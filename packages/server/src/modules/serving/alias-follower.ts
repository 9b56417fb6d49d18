import { runAsCaller, SYSTEM_CALLER } from '../governance/index.js';
import type { DeploymentsService } from './deployments.service.js';
import type { DeploymentStore } from './deployments.store.js';

/**
 * Rolls follow-mode deployments when their alias moves — for example when
 * an approved promotion points `champion` at a new version. Polling the
 * registry through the store (rather than a hook in this process) sees
 * moves made by any replica; the roll itself is a compare-and-set on the
 * deployment's revision, so two servers noticing the same move roll once.
 */
export class AliasFollower {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly deps: {
      store: Pick<DeploymentStore, 'listActive'>;
      deployments: Pick<DeploymentsService, 'follow'>;
      intervalMs: number;
      onError: (error: unknown, message: string) => void;
    },
  ) {}

  start(): void {
    this.#stopped = false;
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        this.#running = this.check().then(() => {
          this.#running = undefined;
          if (!this.#stopped) tick();
        });
      }, this.deps.intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }

  /** One look at every follow-mode deployment; answers how many rolled. */
  async check(): Promise<number> {
    let rolled = 0;
    try {
      const active = await this.deps.store.listActive();
      for (const entry of active) {
        if (entry.revision.follow === null) continue;
        try {
          if (await runAsCaller(SYSTEM_CALLER, () => this.deps.deployments.follow(entry))) rolled++;
        } catch (error) {
          this.deps.onError(error, `deployment ${entry.deployment.name}: following its alias failed`);
        }
      }
    } catch (error) {
      this.deps.onError(error, 'reading deployments to follow their aliases failed');
    }
    return rolled;
  }
}
