import type {
  CreateProjectRequest,
  Project,
  ProjectList,
  ProjectMember,
  ProjectMemberList,
  ProjectRole,
} from '@cairn/contract';
import { pathOf, readJson, type Transport } from './transport.js';

const API = '/api/v1';

/** `cairn.projects` — the permission boundary, and who holds which role there. */
export class ProjectsResource {
  constructor(private readonly transport: Transport) {}

  /** Cairn admins only. */
  async create(input: CreateProjectRequest): Promise<Project> {
    return readJson(await this.transport.send({ method: 'POST', path: `${API}/projects`, json: input }));
  }

  /** The projects you may read. */
  async list(): Promise<Project[]> {
    const page = await readJson<ProjectList>(
      await this.transport.send({ method: 'GET', path: `${API}/projects` }),
    );
    return page.projects;
  }

  async get(id: string): Promise<Project> {
    return readJson(await this.transport.send({ method: 'GET', path: `${API}/projects${pathOf(id)}` }));
  }

  async members(id: string): Promise<ProjectMember[]> {
    const page = await readJson<ProjectMemberList>(
      await this.transport.send({ method: 'GET', path: `${API}/projects${pathOf(id, 'members')}` }),
    );
    return page.members;
  }

  /** Needs the project's admin role. */
  async grant(id: string, user: string, role: ProjectRole): Promise<ProjectMember> {
    return readJson(
      await this.transport.send({
        method: 'POST',
        path: `${API}/projects${pathOf(id, 'members')}`,
        json: { user, role },
      }),
    );
  }

  async revoke(id: string, user: string, role: ProjectRole): Promise<void> {
    await this.transport.send({
      method: 'DELETE',
      path: `${API}/projects${pathOf(id, 'members', user, role)}`,
    });
  }
}
