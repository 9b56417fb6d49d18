import type { Permission } from '../modules/governance/index.js';
import { MLFLOW_ROUTE_RULES } from './route-permissions-mlflow.js';
import { DATASET_ROUTE_RULES } from './route-permissions-datasets.js';
import { GOVERNANCE_ROUTE_RULES } from './route-permissions-governance.js';
import { NATIVE_ROUTE_RULES } from './route-permissions-native.js';
import { SERVING_ROUTE_RULES } from './route-permissions-serving.js';
import { PIPELINE_ROUTE_RULES } from './route-permissions-pipelines.js';
import { OWN, type CallerName } from './permission-world.js';
import type { Need, RouteRule } from './route-rule.js';

export type { BuildContext, Need, RouteRule } from './route-rule.js';

/** Roles each sweep user holds in `own` (none anywhere else). */
const HELD: Partial<Record<CallerName, readonly Permission[]>> = {
  viewer: ['read'],
  editor: ['read', 'write', 'promote'],
  approver: ['read', 'approve'],
  padmin: ['read', 'write', 'promote', 'approve', 'admin'],
};

/** The decision the permission model makes, written out independently of the server's code. */
export function allows(need: Need, who: CallerName, project: string): boolean {
  if (need === 'public') return true;
  if (who === 'anonymous') return false;
  if (need === 'authenticated' || who === 'admin') return true;
  if (need === 'server-admin') return false;
  const held = HELD[who] ?? [];
  if (need === 'staging') return held.includes('write');
  return project === OWN && held.includes(need);
}

/** Every route's rule, by `METHOD url` as Fastify registered it; `/ajax-api/…` routes use their `/api/…` twin. */
export const ROUTE_RULES: Readonly<Record<string, RouteRule>> = merge(
  NATIVE_ROUTE_RULES,
  DATASET_ROUTE_RULES,
  SERVING_ROUTE_RULES,
  PIPELINE_ROUTE_RULES,
  GOVERNANCE_ROUTE_RULES,
  MLFLOW_ROUTE_RULES,
);

/** One table from the three, refusing a route decided twice (a spread would keep the last quietly). */
function merge(...tables: Array<Record<string, RouteRule>>): Record<string, RouteRule> {
  const merged: Record<string, RouteRule> = {};
  for (const [key, rule] of tables.flatMap((table) => Object.entries(table))) {
    if (key in merged) throw new Error(`two permission rules for ${key}`);
    merged[key] = rule;
  }
  return merged;
}
