import { PROJECT_ROLES, type ProjectRole } from '@cairn/contract';
import type { Project, ProjectMember } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor } from './context.js';

interface JsonFlag {
  json?: boolean;
}

function parseRole(role: string): ProjectRole {
  if (!(PROJECT_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`ROLE must be one of ${PROJECT_ROLES.join(', ')}, not "${role}"`);
  }
  return role as ProjectRole;
}

const memberColumns = [
  { header: 'USER', value: (m: ProjectMember) => m.user, keep: true },
  { header: 'ROLE', value: (m: ProjectMember) => m.role },
  { header: 'SINCE', value: (m: ProjectMember) => formatTime(m.createdAt), keep: true },
  { header: 'GRANTED BY', value: (m: ProjectMember) => m.createdBy },
];

export async function createProjectCommand(
  id: string,
  flags: JsonFlag & { name?: string; description?: string },
  command: Command,
): Promise<void> {
  const project = await clientFor(command).projects.create({
    id,
    ...(flags.name === undefined ? {} : { name: flags.name }),
    ...(flags.description === undefined ? {} : { description: flags.description }),
  });
  if (flags.json === true) {
    printJson(project);
    return;
  }
  printLine(`Created project ${project.id}.`);
  printLine(`Add members: cairn projects grant ${project.id} USER ROLE (${PROJECT_ROLES.join(', ')})`);
}

export async function listProjectsCommand(flags: JsonFlag, command: Command): Promise<void> {
  const projects = await clientFor(command).projects.list();
  if (flags.json === true) {
    printJson({ projects });
    return;
  }
  if (projects.length === 0) {
    printLine('No projects you may read.');
    return;
  }
  printLine(
    renderTable(projects, [
      { header: 'ID', value: (p: Project) => p.id, keep: true },
      { header: 'NAME', value: (p: Project) => p.name },
      { header: 'CREATED', value: (p: Project) => formatTime(p.createdAt), keep: true },
      { header: 'DESCRIPTION', value: (p: Project) => p.description.split('\n')[0] ?? '' },
    ]),
  );
}

export async function showProjectCommand(id: string, flags: JsonFlag, command: Command): Promise<void> {
  const cairn = clientFor(command);
  const [project, members] = await Promise.all([cairn.projects.get(id), cairn.projects.members(id)]);
  if (flags.json === true) {
    printJson({ ...project, members });
    return;
  }
  printLine(`Project      ${project.id}`);
  if (project.name !== project.id) printLine(`Name         ${project.name}`);
  if (project.description !== '') printLine(`Description  ${project.description}`);
  printLine(`Created      ${formatTime(project.createdAt)} by ${project.createdBy}`);
  printLine('');
  printLine(members.length === 0 ? 'No members.' : renderTable(members, memberColumns));
}

export async function membersCommand(project: string, flags: JsonFlag, command: Command): Promise<void> {
  const members = await clientFor(command).projects.members(project);
  if (flags.json === true) {
    printJson({ members });
    return;
  }
  printLine(members.length === 0 ? 'No members.' : renderTable(members, memberColumns));
}

export function roleCommand(verb: 'grant' | 'revoke') {
  return async (...args: [string, string, string, JsonFlag, Command]): Promise<void> => {
    const [project, user, roleText, flags, command] = args;
    const role = parseRole(roleText);
    const cairn = clientFor(command);
    if (verb === 'grant') {
      const member = await cairn.projects.grant(project, user, role);
      if (flags.json === true) printJson(member);
      else printLine(`${user} is now ${role} in ${project}.`);
      return;
    }
    await cairn.projects.revoke(project, user, role);
    if (flags.json === true) printJson({ project, user, role, revoked: true });
    else printLine(`${user} is no longer ${role} in ${project}.`);
  };
}
