import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import { currentCaller, type AccessControl, type AuditStores, type Permission } from '../governance/index.js';
import type { LineageStores } from '../lineage/index.js';
import type { ModelVersionRecord, PinnedFile } from '../registry/index.js';
import type { DeploymentStore, DeploymentStores } from './deployments.store.js';
import type { DeploymentRecord } from './entities.js';

export type ServingTransactionStores = DeploymentStores & AuditStores & LineageStores;

/** What deployments need of the registry: versions by reference, and their pinned files. */
export interface ModelVersionSource {
  /** `name@alias`, `name/3` or `name` (newest); checks the caller may read the model. */
  resolve(reference: unknown): Promise<ModelVersionRecord>;
  listFiles(name: unknown, version: unknown): Promise<PinnedFile[]>;
}

/** Whether a project exists, so a deployment is never created in a misspelt one. */
export interface ProjectLookup {
  getProject(projectId: string): Promise<{ projectId: string } | undefined>;
}

/** Ports the serving process picks: told after each change so it reloads without waiting for its poll. */
export interface DeploymentChanges {
  changed(name: string): void;
}

/** Finds a free port for a deployment created without one (its own listener on the local server). */
export interface PortFinder {
  free(): Promise<number>;
}

export interface ServingContext {
  store: DeploymentStore;
  transactor: Transactor<ServingTransactionStores>;
  clock: Clock;
  access: AccessControl;
  projects: ProjectLookup;
  models: ModelVersionSource;
  ports?: PortFinder;
}

export const DEFAULT_DEPLOYMENT_PROJECT = 'default';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const deploymentTarget = (name: string) => ({ kind: 'deployment', id: name });

export function actor(): string {
  return currentCaller()?.actor ?? 'local';
}

/** Deployment names appear in URLs (`/v2/models/NAME`): URL-safe, no slashes. */
export function checkDeploymentName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${field} must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { field },
    );
  }
  return value;
}

export async function requireDeployment(store: DeploymentStore, name: string): Promise<DeploymentRecord> {
  const deployment = await store.getDeploymentByName(name);
  if (deployment === undefined) {
    throw new CairnError(
      'NOT_FOUND',
      `deployment ${name} not found (create it with cairn deploy create ${name} --model MODEL@ALIAS)`,
      { field: 'name' },
    );
  }
  return deployment;
}

/** The deployment, once the caller holds `permission` in its project; checked before any transaction opens. */
export async function authorizedDeployment(
  ctx: Pick<ServingContext, 'store' | 'access'>,
  request: { name: unknown; permission: Permission; action: string },
): Promise<DeploymentRecord> {
  const name = checkDeploymentName(request.name);
  const deployment = await requireDeployment(ctx.store, name);
  ctx.access.require(request.permission, deployment.projectId, {
    action: request.action,
    target: deploymentTarget(name),
  });
  return deployment;
}
