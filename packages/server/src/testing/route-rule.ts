import type { Permission } from '../modules/governance/index.js';
import type { CallerName, Fixtures, PermissionWorld, Reply, TestRequest } from './permission-world.js';

/**
 * What a route needs:
 * - `public`: anyone, even without a token (health probes);
 * - `authenticated`: any valid token (whoami, your own tokens, lists filtered to what you may read);
 * - a project permission (`read` … `admin`) in the project of the resource the request names;
 * - `staging`: the editor role in some project (model folder uploads before registration);
 * - `server-admin`: a Cairn admin only.
 */
export type Need = 'public' | 'authenticated' | 'staging' | 'server-admin' | Permission;

export interface BuildContext {
  /** Things in the project the request is about; fresh per route (and per call when `consumes`). */
  fx: Fixtures;
  who: CallerName;
  /** Unique per call: names that must not collide. */
  n: number;
  world: PermissionWorld;
}

export interface RouteRule {
  need: Need;
  /** A request that is valid for the route, about `ctx.fx.project`. */
  build(ctx: BuildContext): Promise<TestRequest>;
  /** What an allowed caller gets. */
  ok: number;
  /** An allowed call uses up what it acts on (a delete, a decision): each gets its own fixtures. */
  consumes?: boolean;
  /** False when the request names no project: it is sent once, not once per project. */
  scoped?: boolean;
  /** A list: `kind:id` of each item in the answer, to prove nobody sees another project's items. */
  items?(body: any): string[];
  /** The item of `fx` the list must show to whoever may read its project. */
  shows?(fx: Fixtures): Promise<string>;
  /** More checks of an allowed answer. */
  inspect?(reply: Reply, ctx: BuildContext): void;
}
