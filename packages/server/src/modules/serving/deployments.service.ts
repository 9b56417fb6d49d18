import { CairnError } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import { checkLimit, decodeCursor, encodeCursor } from '../../kernel/page-cursor.js';
import { recordEdges, type LineageEdge } from '../lineage/index.js';
import { buildSpec, type SpecInput } from './deployment-spec.js';
import type { DeploymentRecord, DeploymentRevisionRecord, DeploymentSpec } from './entities.js';
import {
  actor,
  authorizedDeployment,
  checkDeploymentName,
  DEFAULT_DEPLOYMENT_PROJECT,
  deploymentTarget,
  type DeploymentChanges,
  type ServingContext,
  type ServingTransactionStores,
} from './serving-context.js';

export interface DeploymentView {
  deployment: DeploymentRecord;
  revision: DeploymentRevisionRecord;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

const MAX_DESCRIPTION = 5_000;
const MAX_LISTED_REVISIONS = 1_000;

/**
 * Deployments and their revisions. Every change — routes, weights, shadows,
 * settings, a rollback, an alias the deployment follows moving — is a new
 * immutable revision, written with its audit event and a `deployed` lineage
 * edge from each version it serves in the same transaction. Serving
 * processes pick the current revision up from the store (and at once, in
 * this process, through `changes`).
 */
export class DeploymentsService {
  constructor(
    private readonly ctx: ServingContext,
    private readonly changes: DeploymentChanges = { changed: () => undefined },
  ) {}

  async create(
    input: SpecInput & { name: unknown; project?: unknown; description?: unknown; port?: unknown },
  ): Promise<DeploymentView> {
    const name = checkDeploymentName(input.name);
    const projectId = checkProject(input.project);
    const description = checkDescription(input.description);
    const asked = checkPort(input.port);
    this.ctx.access.require('write', projectId, {
      action: 'deployments.create',
      target: deploymentTarget(name),
    });
    if ((await this.ctx.projects.getProject(projectId)) === undefined) {
      throw new CairnError('NOT_FOUND', `project ${projectId} not found`, { field: 'project' });
    }
    const spec = await buildSpec(this.ctx.models, input);
    const port =
      asked === 'none'
        ? null
        : (asked ?? (this.ctx.ports === undefined ? null : await this.ctx.ports.free()));
    const at = this.ctx.clock.now();
    const deployment: DeploymentRecord = {
      deploymentId: newId(),
      name,
      projectId,
      description,
      port,
      currentRevision: 1,
      createdAt: at,
      updatedAt: at,
      createdBy: actor(),
    };
    const revision = revisionOf(deployment, { spec, number: 1, reason: 'created', at });
    await this.ctx.transactor.run(async (stores) => {
      if ((await stores.deployments.getDeploymentByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `deployment ${name} already exists`, { field: 'name' });
      }
      await stores.deployments.insertDeployment(deployment);
      await stores.deployments.insertRevision(revision);
      await recordServedEdges(stores, { deployment, spec, at });
      stores.audit.record({
        action: 'deployments.create',
        target: deploymentTarget(name),
        projectId,
        details: { revision: 1, port, ...specDetails(spec) },
      });
    });
    this.changes.changed(name);
    return { deployment, revision };
  }

  async get(name: unknown): Promise<DeploymentView> {
    const deployment = await authorizedDeployment(this.ctx, {
      name,
      permission: 'read',
      action: 'deployments.get',
    });
    return { deployment, revision: await this.currentRevision(deployment) };
  }

  async list(input: {
    project?: unknown;
    maxResults?: unknown;
    pageToken?: unknown;
  }): Promise<Page<DeploymentView>> {
    const limit = checkLimit(input.maxResults, { max: 1_000, fallback: 100 });
    const offset = decodeCursor(input.pageToken);
    const readable = this.ctx.access.readableProjects();
    let projectIds = readable === 'all' ? undefined : [...readable];
    if (input.project !== undefined && input.project !== '') {
      const wanted = checkProject(input.project);
      projectIds = projectIds === undefined || projectIds.includes(wanted) ? [wanted] : [];
    }
    const rows = await this.ctx.store.listDeployments({
      ...(projectIds === undefined ? {} : { projectIds }),
      offset,
      limit,
    });
    const items = await Promise.all(
      rows
        .slice(0, limit)
        .map(async (deployment) => ({ deployment, revision: await this.currentRevision(deployment) })),
    );
    return rows.length > limit ? { items, nextPageToken: encodeCursor(offset + limit) } : { items };
  }

  /** Changes routes, weights, shadows, follow mode or settings: a new revision. */
  async update(input: SpecInput & { name: unknown }): Promise<DeploymentView> {
    const deployment = await authorizedDeployment(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'deployments.update',
    });
    const current = await this.currentRevision(deployment);
    const spec = await buildSpec(this.ctx.models, input, current);
    return this.commit(deployment, { spec, reason: 'updated', action: 'deployments.update' });
  }

  /** Serves an earlier revision's spec again, as a new revision (`to` defaults to the one before the current). */
  async rollback(input: { name: unknown; to?: unknown }): Promise<DeploymentView> {
    const deployment = await authorizedDeployment(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'deployments.rollback',
    });
    const to =
      input.to === undefined || input.to === null || input.to === ''
        ? deployment.currentRevision - 1
        : input.to;
    const number = typeof to === 'string' && /^[0-9]{1,9}$/.test(to) ? Number(to) : to;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        deployment.currentRevision === 1
          ? `deployment ${deployment.name} has only one revision; there is nothing to roll back to`
          : 'to must be a revision number (see cairn deploy revisions NAME)',
        { field: 'to' },
      );
    }
    if (number === deployment.currentRevision) {
      throw new CairnError('FAILED_PRECONDITION', `revision ${number} is already the current one`, {
        field: 'to',
      });
    }
    const target = await this.ctx.store.getRevision(deployment.deploymentId, number);
    if (target === undefined) {
      throw new CairnError('NOT_FOUND', `deployment ${deployment.name} has no revision ${number}`, {
        field: 'to',
      });
    }
    // Rolling back to a pinned set of versions: following an alias would undo it at the next move.
    const spec: DeploymentSpec = { ...specOf(target), follow: null };
    return this.commit(deployment, {
      spec,
      reason: `rolled back to revision ${number}`,
      action: 'deployments.rollback',
    });
  }

  async revisions(input: { name: unknown; maxResults?: unknown }): Promise<DeploymentRevisionRecord[]> {
    const deployment = await authorizedDeployment(this.ctx, {
      name: input.name,
      permission: 'read',
      action: 'deployments.revisions',
    });
    const limit = checkLimit(input.maxResults, { max: MAX_LISTED_REVISIONS, fallback: 100 });
    return this.ctx.store.listRevisions(deployment.deploymentId, limit);
  }

  async delete(name: unknown): Promise<void> {
    const deployment = await authorizedDeployment(this.ctx, {
      name,
      permission: 'write',
      action: 'deployments.delete',
    });
    await this.ctx.transactor.run(async (stores) => {
      await stores.deployments.deleteDeployment(deployment.deploymentId);
      stores.audit.record({
        action: 'deployments.delete',
        target: deploymentTarget(deployment.name),
        projectId: deployment.projectId,
        details: { revision: deployment.currentRevision },
      });
    });
    this.changes.changed(deployment.name);
  }

  /**
   * Rolls a follow-mode deployment to the version its alias now names. Runs
   * as the system, from the follower; a no-op when someone else already
   * rolled it (two servers noticing the same move) or the alias is back.
   */
  async follow(input: {
    deployment: DeploymentRecord;
    revision: DeploymentRevisionRecord;
  }): Promise<boolean> {
    const { deployment, revision } = input;
    const follow = revision.follow;
    if (follow === null) return false;
    const primary = revision.routes[0]!;
    const spec = await buildSpec(
      this.ctx.models,
      { model: `${follow.model}@${follow.alias}` },
      specOf(revision),
    );
    if (spec.routes[0]!.versionId === primary.versionId) return false;
    const reason = `${follow.alias} moved to ${spec.routes[0]!.model}/${spec.routes[0]!.version}`;
    try {
      await this.commit(deployment, { spec, reason, action: 'deployments.follow' });
      return true;
    } catch (error) {
      if (error instanceof CairnError && error.code === 'FAILED_PRECONDITION' && error.field === 'revision')
        return false;
      throw error;
    }
  }

  private async currentRevision(deployment: DeploymentRecord): Promise<DeploymentRevisionRecord> {
    const revision = await this.ctx.store.getRevision(deployment.deploymentId, deployment.currentRevision);
    if (revision === undefined) {
      throw new CairnError(
        'INTERNAL',
        `deployment ${deployment.name} lost revision ${deployment.currentRevision}`,
      );
    }
    return revision;
  }

  /**
   * Writes the next revision and moves the deployment to it, only if no one
   * moved it since it was read: two changes at once never both land on the
   * same base (the loser is told to retry).
   */
  private async commit(
    deployment: DeploymentRecord,
    change: { spec: DeploymentSpec; reason: string; action: string },
  ): Promise<DeploymentView> {
    const at = this.ctx.clock.now();
    const number = deployment.currentRevision + 1;
    const revision = revisionOf(deployment, { spec: change.spec, number, reason: change.reason, at });
    await this.ctx.transactor.run(async (stores: ServingTransactionStores) => {
      const moved = await stores.deployments.setCurrentRevision({
        deploymentId: deployment.deploymentId,
        expectedRevision: deployment.currentRevision,
        revision: number,
        at,
      });
      if (!moved) {
        throw new CairnError(
          'FAILED_PRECONDITION',
          `deployment ${deployment.name} changed while this change was prepared; look at it again and retry`,
          { field: 'revision' },
        );
      }
      await stores.deployments.insertRevision(revision);
      await recordServedEdges(stores, { deployment, spec: change.spec, at });
      stores.audit.record({
        action: change.action,
        target: deploymentTarget(deployment.name),
        projectId: deployment.projectId,
        details: {
          revision: number,
          previousRevision: deployment.currentRevision,
          reason: change.reason,
          ...specDetails(change.spec),
        },
      });
    });
    this.changes.changed(deployment.name);
    return { deployment: { ...deployment, currentRevision: number, updatedAt: at }, revision };
  }
}

function revisionOf(
  deployment: DeploymentRecord,
  input: { spec: DeploymentSpec; number: number; reason: string; at: number },
): DeploymentRevisionRecord {
  return {
    deploymentId: deployment.deploymentId,
    revision: input.number,
    ...input.spec,
    reason: input.reason,
    createdAt: input.at,
    createdBy: actor(),
  };
}

function specOf(revision: DeploymentRevisionRecord): DeploymentSpec {
  return {
    routes: revision.routes,
    shadows: revision.shadows,
    settings: revision.settings,
    follow: revision.follow,
  };
}

/** What the audit trail keeps of a spec: which versions took which share. */
function specDetails(spec: DeploymentSpec): Record<string, unknown> {
  return {
    routes: spec.routes.map((r) => ({
      version: `${r.model}/${r.version}`,
      digest: r.digest,
      weight: r.weight,
    })),
    shadows: spec.shadows.map((s) => ({ version: `${s.model}/${s.version}`, percent: s.percent })),
    follow: spec.follow === null ? null : `${spec.follow.model}@${spec.follow.alias}`,
    settings: spec.settings,
  };
}

async function recordServedEdges(
  stores: ServingTransactionStores,
  input: { deployment: DeploymentRecord; spec: DeploymentSpec; at: number },
): Promise<void> {
  const { deployment, spec, at } = input;
  const edges: LineageEdge[] = [...spec.routes, ...spec.shadows].map((route) => ({
    from: { kind: 'model_version', id: route.versionId },
    to: { kind: 'deployment', id: deployment.deploymentId },
    relation: 'deployed',
    createdAt: at,
  }));
  await recordEdges(stores, edges);
}

function checkProject(value: unknown): string {
  if (value === undefined || value === null || value === '') return DEFAULT_DEPLOYMENT_PROJECT;
  if (typeof value !== 'string' || value.length > 256) {
    throw new CairnError('INVALID_ARGUMENT', 'project must be a project name', { field: 'project' });
  }
  return value;
}

function checkDescription(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `description must be text of at most ${MAX_DESCRIPTION} characters`,
      {
        field: 'description',
      },
    );
  }
  return value;
}

/**
 * A fixed port for the deployment's own listener; absent or 0 lets the
 * server pick a free one, null means none (it answers on the API port only).
 */
function checkPort(value: unknown): number | 'none' | undefined {
  if (value === null) return 'none';
  if (value === undefined || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1024 || value > 65535) {
    throw new CairnError('INVALID_ARGUMENT', 'port must be a whole number from 1024 to 65535', {
      field: 'port',
    });
  }
  return value;
}
