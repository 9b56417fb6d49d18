import { CairnError } from '@cairn/contract';
import type { ProjectRecord, RoleBindingRecord } from './entities.js';
import type { IdentityStore } from './governance.store.js';
import { requireUser, type IdentityContext } from './identity-context.js';
import { checkDescription, checkProjectId, checkRole, checkText, checkUserName } from './identity-names.js';

export interface CreateProjectInput {
  id: string;
  name?: string | undefined;
  description?: string | undefined;
}

export interface RoleChange {
  projectId: string;
  user: string;
  role: string;
}

const projectTarget = (id: string) => ({ kind: 'project', id });

async function requireProject(identity: IdentityStore, projectId: string): Promise<ProjectRecord> {
  const project = await identity.getProject(projectId);
  if (project === undefined) {
    throw new CairnError(
      'NOT_FOUND',
      `Project '${projectId}' does not exist (cairn projects ls lists yours).`,
      {
        field: 'id',
      },
    );
  }
  return project;
}

/**
 * Projects are the permission boundary. A Cairn admin creates them; a
 * project's admins decide who holds which role there.
 */
export class ProjectsService {
  constructor(private readonly context: IdentityContext) {}

  async create(input: CreateProjectInput): Promise<ProjectRecord> {
    const { access, transactor, clock } = this.context;
    access.requireAdmin({ action: 'projects.create', target: projectTarget(String(input.id).slice(0, 64)) });
    const projectId = checkProjectId(input.id);
    const project: ProjectRecord = {
      projectId,
      name: checkText(input.name ?? projectId, { field: 'name' }),
      description: checkDescription(input.description ?? ''),
      createdAt: clock.now(),
      createdBy: access.caller().actor,
    };
    return transactor.run(async ({ identity, audit }) => {
      if ((await identity.getProject(projectId)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `Project '${projectId}' already exists.`, { field: 'id' });
      }
      await identity.insertProject(project);
      audit.record({
        action: 'projects.create',
        target: projectTarget(projectId),
        projectId,
        details: { name: project.name, description: project.description },
      });
      return project;
    });
  }

  /** Only the projects the caller may read. */
  async list(): Promise<ProjectRecord[]> {
    return this.context.identity.listProjects(this.context.access.readableProjects());
  }

  async get(projectId: string): Promise<ProjectRecord> {
    // Permission first: a project the caller may not read looks the same whether it exists or not.
    this.context.access.require('read', projectId, {
      action: 'projects.get',
      target: projectTarget(projectId),
    });
    return requireProject(this.context.identity, checkProjectId(projectId));
  }

  async members(projectId: string): Promise<RoleBindingRecord[]> {
    this.context.access.require('read', projectId, {
      action: 'projects.members',
      target: projectTarget(projectId),
    });
    await requireProject(this.context.identity, checkProjectId(projectId));
    return this.context.identity.listBindings(projectId);
  }

  async grant(change: RoleChange): Promise<RoleBindingRecord> {
    const { access, transactor, clock } = this.context;
    const { projectId, role, user } = this.checkChange(change, 'projects.grant');
    const createdAt = clock.now();
    const createdBy = access.caller().actor;
    return transactor.run(async ({ identity, audit }) => {
      await requireProject(identity, projectId);
      const member = await requireUser(identity, user, 'user');
      const held = await identity.rolesOfUser(member.userId);
      if (held.some((b) => b.projectId === projectId && b.role === role)) {
        throw new CairnError('ALREADY_EXISTS', `${user} already holds ${role} in project '${projectId}'.`, {
          field: 'role',
        });
      }
      const binding = { projectId, userId: member.userId, role, createdAt, createdBy };
      await identity.insertBinding(binding);
      audit.record({
        action: 'projects.grant',
        target: projectTarget(projectId),
        projectId,
        details: { user, userId: member.userId, role },
      });
      return { ...binding, userName: member.name };
    });
  }

  async revoke(change: RoleChange): Promise<void> {
    const { transactor } = this.context;
    const { projectId, role, user } = this.checkChange(change, 'projects.revoke');
    await transactor.run(async ({ identity, audit }) => {
      await requireProject(identity, projectId);
      const member = await requireUser(identity, user, 'user');
      if (!(await identity.deleteBinding({ projectId, userId: member.userId, role }))) {
        throw new CairnError('NOT_FOUND', `${user} does not hold ${role} in project '${projectId}'.`, {
          field: 'role',
        });
      }
      audit.record({
        action: 'projects.revoke',
        target: projectTarget(projectId),
        projectId,
        details: { user, userId: member.userId, role },
      });
    });
  }

  /** Members are managed by the project's admins (and Cairn admins). */
  private checkChange(change: RoleChange, action: string) {
    this.context.access.require('admin', change.projectId, {
      action,
      target: projectTarget(change.projectId),
    });
    return {
      projectId: checkProjectId(change.projectId, 'projectId'),
      user: checkUserName(change.user, 'user'),
      role: checkRole(change.role),
    };
  }
}
