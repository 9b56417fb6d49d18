import { CairnError } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import type { UserRecord } from './entities.js';
import { requireUser, type IdentityContext } from './identity-context.js';
import { checkEmail, checkNewUserName, checkText, checkUserName } from './identity-names.js';

export interface CreateUserInput {
  name: string;
  displayName?: string | undefined;
  email?: string | undefined;
  /** A Cairn admin: every project, users, the whole audit trail. */
  isAdmin?: boolean | undefined;
}

const userTarget = (name: string) => ({ kind: 'user', id: name });

/** Accounts. Only a Cairn admin manages them; everyone else sees themselves through whoami. */
export class UsersService {
  constructor(private readonly context: IdentityContext) {}

  async create(input: CreateUserInput): Promise<UserRecord> {
    const { access, transactor, clock } = this.context;
    access.requireAdmin({ action: 'users.create', target: userTarget(String(input.name).slice(0, 64)) });
    const name = checkNewUserName(input.name);
    const displayName = checkText(input.displayName ?? '', { field: 'displayName' });
    const email = checkEmail(input.email ?? '');
    const user: UserRecord = {
      userId: newId(),
      name,
      displayName,
      email,
      isAdmin: input.isAdmin === true,
      disabledAt: null,
      createdAt: clock.now(),
      createdBy: access.caller().actor,
    };
    return transactor.run(async ({ identity, audit }) => {
      if ((await identity.getUserByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `User '${name}' already exists.`, { field: 'name' });
      }
      await identity.insertUser(user);
      audit.record({
        action: 'users.create',
        target: userTarget(name),
        details: { userId: user.userId, name, displayName, email, isAdmin: user.isAdmin },
      });
      return user;
    });
  }

  async list(): Promise<UserRecord[]> {
    this.context.access.requireAdmin({ action: 'users.list', target: { kind: 'user', id: '*' } });
    return this.context.identity.listUsers();
  }

  /** Disabled users keep their tokens and roles, but nothing they send is accepted until enabled again. */
  async disable(name: string): Promise<UserRecord> {
    return this.setDisabled(name, true);
  }

  async enable(name: string): Promise<UserRecord> {
    return this.setDisabled(name, false);
  }

  private async setDisabled(name: string, disable: boolean): Promise<UserRecord> {
    const { access, transactor, clock } = this.context;
    const action = disable ? 'users.disable' : 'users.enable';
    access.requireAdmin({ action, target: userTarget(name) });
    checkUserName(name);
    return transactor.run(async ({ identity, audit }) => {
      const user = await requireUser(identity, name);
      if ((user.disabledAt !== null) === disable) return user;
      if (disable && user.isAdmin) {
        const admins = (await identity.listUsers()).filter((u) => u.isAdmin && u.disabledAt === null);
        if (admins.length <= 1) {
          throw new CairnError(
            'FAILED_PRECONDITION',
            `'${name}' is the last enabled admin; create or enable another admin first, or nobody could manage users.`,
          );
        }
      }
      const disabledAt = disable ? clock.now() : null;
      await identity.setUserDisabled(user.userId, disabledAt);
      audit.record({ action, target: userTarget(name), details: { userId: user.userId } });
      return { ...user, disabledAt };
    });
  }
}
