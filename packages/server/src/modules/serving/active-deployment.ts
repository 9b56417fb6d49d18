import { CairnError } from '@cairn/contract';
import type { ModelRuntime } from '@cairn/serving';
import type { DeploymentRecord, DeploymentRevisionRecord, LiveRoute, ShadowRoute } from './entities.js';
import { pickWeighted } from './route-picker.js';
import type { RuntimeLease } from './runtime-pool.js';

export interface LoadedRoute {
  route: LiveRoute;
  runtime: ModelRuntime;
}

export interface LoadedShadow {
  route: ShadowRoute;
  runtime: ModelRuntime;
}

/**
 * One revision of a deployment, loaded and taking traffic. When a newer
 * revision replaces it, it is retired: requests that already entered finish
 * on it, and its runtimes are released only once the last one leaves — which
 * is why a weight change or a rollback under load drops nothing.
 */
export class ActiveDeployment {
  readonly routes: readonly LoadedRoute[];
  readonly shadows: readonly LoadedShadow[];
  readonly #weighted: ReadonlyArray<{ weight: number; loaded: LoadedRoute }>;
  #inflight = 0;
  #retired = false;

  constructor(
    readonly deployment: DeploymentRecord,
    readonly revision: DeploymentRevisionRecord,
    private readonly loaded: { routes: LoadedRoute[]; shadows: LoadedShadow[]; leases: RuntimeLease[] },
  ) {
    this.routes = loaded.routes;
    this.shadows = loaded.shadows;
    this.#weighted = loaded.routes.map((r) => ({ weight: r.route.weight, loaded: r }));
  }

  get name(): string {
    return this.deployment.name;
  }

  /** Versions taking live traffic, as the v2 routes name them. */
  get versions(): string[] {
    return this.routes.map((r) => String(r.route.version));
  }

  /** Marks a request as running on this revision; pair with `leave`. */
  enter(): void {
    this.#inflight++;
  }

  leave(): void {
    this.#inflight--;
    if (this.#retired && this.#inflight === 0) this.#release();
  }

  /** Stops being current; its runtimes go once the requests running on it finish. */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    if (this.#inflight === 0) this.#release();
  }

  /**
   * The route a request takes: the version it names (v2 `versions/{v}`), or
   * one picked by weight, sticky by `key` when given.
   */
  pick(input: { key?: string | undefined; version?: string | undefined }): LoadedRoute {
    if (input.version !== undefined) {
      const named = this.routes.find((r) => String(r.route.version) === input.version);
      if (named === undefined) {
        throw new CairnError(
          'NOT_FOUND',
          `deployment ${this.name} serves version${this.routes.length > 1 ? 's' : ''} ${this.versions.join(', ')}, not ${input.version}`,
        );
      }
      return named;
    }
    if (this.routes.length === 1) return this.routes[0]!;
    return pickWeighted(this.#weighted, input.key).loaded;
  }

  #release(): void {
    for (const lease of this.loaded.leases) lease.release();
  }
}
