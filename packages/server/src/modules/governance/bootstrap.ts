import { CairnError, isCairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import { newId } from '../../kernel/ids.js';
import type { Transactor } from '../../kernel/transactor.js';
import { runAsCaller, SYSTEM_CALLER } from './caller.js';
import type { UserRecord } from './entities.js';
import type { IdentityStore } from './governance.store.js';
import type { IdentityTransactionStores } from './identity-context.js';
import { checkNewUserName } from './identity-names.js';
import {
  generateToken,
  MAX_TOKEN_CHARS,
  MIN_BOOTSTRAP_TOKEN_CHARS,
  parseToken,
  type ParsedToken,
} from './token-secret.js';
import { storeToken } from './tokens.service.js';

export interface BootstrapDeps {
  identity: IdentityStore;
  transactor: Transactor<IdentityTransactionStores>;
  clock: Clock;
}

export const FIRST_ADMIN_NAME = 'admin';
const BOOTSTRAP_TOKEN_NAME = 'bootstrap';

async function createAdmin(
  stores: IdentityTransactionStores,
  admin: { name: string; token: ParsedToken; now: number },
): Promise<UserRecord> {
  const user: UserRecord = {
    userId: newId(),
    name: admin.name,
    displayName: '',
    email: '',
    isAdmin: true,
    disabledAt: null,
    createdAt: admin.now,
    createdBy: SYSTEM_CALLER.actor,
  };
  await stores.identity.insertUser(user);
  stores.audit.record({
    action: 'users.create',
    target: { kind: 'user', id: user.name },
    details: { userId: user.userId, name: user.name, isAdmin: true, bootstrap: true },
  });
  await storeToken(stores, {
    parsed: admin.token,
    user,
    name: BOOTSTRAP_TOKEN_NAME,
    expiresAt: null,
    now: admin.now,
  });
  return user;
}

/**
 * Start-up with auth on: the first admin exists only through an explicit
 * bootstrap, never a default password. With no users yet, CAIRN_ADMIN_TOKEN
 * becomes the token of user `admin`; without it the server refuses to start.
 * Once any user exists the token is ignored.
 */
export async function ensureFirstAdmin(
  deps: BootstrapDeps,
  options: { adminToken: string | undefined },
): Promise<'created' | 'exists'> {
  if ((await deps.identity.countUsers()) > 0) return 'exists';
  const { adminToken } = options;
  if (adminToken === undefined) {
    throw new CairnError(
      'FAILED_PRECONDITION',
      'Authentication is on but no user exists yet, so nobody could sign in. Set CAIRN_ADMIN_TOKEN ' +
        '(at least 32 characters, e.g. `openssl rand -hex 32`) to make it the first admin’s token, ' +
        'or run `cairn admin bootstrap --data-dir DIR` (or --db-url URL) once and keep the token it prints.',
    );
  }
  const token = parseToken(adminToken);
  if (token === undefined) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `CAIRN_ADMIN_TOKEN must be ${MIN_BOOTSTRAP_TOKEN_CHARS} to ${MAX_TOKEN_CHARS} printable characters without spaces.`,
    );
  }
  try {
    return await runAsCaller(SYSTEM_CALLER, () =>
      deps.transactor.run(async (stores) => {
        if ((await stores.identity.countUsers()) > 0) return 'exists' as const;
        await createAdmin(stores, { name: FIRST_ADMIN_NAME, token, now: deps.clock.now() });
        return 'created' as const;
      }),
    );
  } catch (error) {
    // Another replica starting at the same moment created the admin first.
    if (isCairnError(error) && error.code === 'ALREADY_EXISTS' && (await deps.identity.countUsers()) > 0) {
      return 'exists';
    }
    throw error;
  }
}

/**
 * `cairn admin bootstrap`: on a store with no admin, creates one with a fresh
 * token and returns the token text (shown once, stored only hashed).
 */
export async function bootstrapAdmin(
  deps: BootstrapDeps,
  options: { name?: string | undefined } = {},
): Promise<{ token: string; tokenId: string; user: UserRecord }> {
  const name = checkNewUserName(options.name ?? FIRST_ADMIN_NAME);
  const token = generateToken();
  const user = await runAsCaller(SYSTEM_CALLER, () =>
    deps.transactor.run(async (stores) => {
      const admins = (await stores.identity.listUsers()).filter((u) => u.isAdmin);
      if (admins.length > 0) {
        throw new CairnError(
          'FAILED_PRECONDITION',
          `An admin already exists (${admins.map((u) => u.name).join(', ')}); ask them for a token ` +
            '(cairn tokens create --user NAME) instead of bootstrapping again.',
        );
      }
      if ((await stores.identity.getUserByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `User '${name}' already exists; pick another --name.`, {
          field: 'name',
        });
      }
      return createAdmin(stores, { name, token, now: deps.clock.now() });
    }),
  );
  return { token: token.text, tokenId: token.tokenId, user };
}
