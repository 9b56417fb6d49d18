import { CairnError } from '@cairn/contract';
import type { AuditRecorder } from './audit-recorder.js';
import type { TokenRecord, UserRecord } from './entities.js';
import type { IdentityStore } from './governance.store.js';
import { requireUser, type IdentityContext } from './identity-context.js';
import { checkText, checkUserName } from './identity-names.js';
import { generateToken, hashSecret, type ParsedToken } from './token-secret.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_EXPIRY_DAYS = 3650;
const TOKEN_ID = /^[0-9a-f]{16}$/;
export const DEFAULT_TOKEN_NAME = 'default';

export interface CreateTokenInput {
  name?: string | undefined;
  expiresInDays?: number | undefined;
  /** An ISO 8601 date or time in the future. */
  expiresAt?: string | undefined;
  /** Whose token: the caller's own when omitted; someone else's needs a Cairn admin. */
  user?: string | undefined;
}

/** A token as listed: never its secret, salt or hash. */
export interface TokenInfo {
  readonly tokenId: string;
  readonly name: string;
  readonly user: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
}

export interface CreatedToken {
  /** The whole token text; returned by this call only and stored nowhere. */
  readonly token: string;
  readonly info: TokenInfo;
}

const tokenTarget = (tokenId: string) => ({ kind: 'token', id: tokenId });

function infoOf(record: TokenRecord, user: string): TokenInfo {
  return {
    tokenId: record.tokenId,
    name: record.name,
    user,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    revokedAt: record.revokedAt,
    lastUsedAt: record.lastUsedAt,
  };
}

function expiryOf(input: CreateTokenInput, now: number): number | null {
  const { expiresInDays, expiresAt } = input;
  if (expiresInDays !== undefined && expiresAt !== undefined) {
    throw new CairnError('INVALID_ARGUMENT', 'Give expiresInDays or expiresAt, not both.', {
      field: 'expiresAt',
    });
  }
  if (expiresInDays !== undefined) {
    if (typeof expiresInDays !== 'number' || !(expiresInDays > 0) || expiresInDays > MAX_EXPIRY_DAYS) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `expiresInDays must be a number of days above 0 and at most ${MAX_EXPIRY_DAYS}.`,
        { field: 'expiresInDays' },
      );
    }
    return now + Math.round(expiresInDays * DAY_MS);
  }
  if (expiresAt === undefined) return null;
  const at = typeof expiresAt === 'string' ? Date.parse(expiresAt) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new CairnError('INVALID_ARGUMENT', 'expiresAt must be an ISO 8601 date such as 2027-01-31.', {
      field: 'expiresAt',
    });
  }
  if (at <= now || at > now + MAX_EXPIRY_DAYS * DAY_MS) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `expiresAt must be in the future and at most ${MAX_EXPIRY_DAYS} days away.`,
      { field: 'expiresAt' },
    );
  }
  return at;
}

/**
 * Stores a token for `user` and records `tokens.create` (id, name, expiry,
 * owner — never the secret, salt or hash). Shared with the bootstrap, whose
 * token text the operator chose.
 */
export async function storeToken(
  stores: { identity: IdentityStore; audit: AuditRecorder },
  token: { parsed: ParsedToken; user: UserRecord; name: string; expiresAt: number | null; now: number },
): Promise<TokenRecord> {
  const { parsed, user, name, expiresAt, now } = token;
  if ((await stores.identity.getToken(parsed.tokenId)) !== undefined) {
    throw new CairnError('ALREADY_EXISTS', 'A token with this id already exists; generate another token.');
  }
  const record: TokenRecord = {
    tokenId: parsed.tokenId,
    userId: user.userId,
    name,
    ...hashSecret(parsed.secret),
    createdAt: now,
    expiresAt,
    revokedAt: null,
    lastUsedAt: null,
  };
  await stores.identity.insertToken(record);
  stores.audit.record({
    action: 'tokens.create',
    target: tokenTarget(record.tokenId),
    details: { tokenId: record.tokenId, name, user: user.name, expiresAt },
  });
  return record;
}

/** API tokens: a user manages their own; a Cairn admin anyone's. */
export class TokensService {
  constructor(private readonly context: IdentityContext) {}

  async create(input: CreateTokenInput): Promise<CreatedToken> {
    const { transactor, clock } = this.context;
    const now = clock.now();
    const owner = await this.ownerFor(input.user, 'tokens.create');
    const name = checkText(input.name ?? DEFAULT_TOKEN_NAME, { field: 'name', max: 100 });
    if (name === '') throw new CairnError('INVALID_ARGUMENT', 'name must not be empty.', { field: 'name' });
    const expiresAt = expiryOf(input, now);
    if (owner.disabledAt !== null) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `User '${owner.name}' is disabled; enable them first (cairn users enable ${owner.name}).`,
      );
    }
    const token = generateToken();
    const record = await transactor.run((stores) =>
      storeToken(stores, { parsed: token, user: owner, name, expiresAt, now }),
    );
    return { token: token.text, info: infoOf(record, owner.name) };
  }

  /** The caller's tokens, or `user`'s (a Cairn admin). Without a user of its own (auth off) every token. */
  async list(options: { user?: string | undefined } = {}): Promise<TokenInfo[]> {
    const { identity, access } = this.context;
    const caller = access.caller();
    let userId: string | undefined;
    if (options.user !== undefined) {
      userId = (await this.ownerFor(options.user, 'tokens.list')).userId;
    } else if (caller.userId !== null) {
      userId = caller.userId;
    } else {
      access.requireAdmin({ action: 'tokens.list', target: tokenTarget('*') });
    }
    const [tokens, users] = await Promise.all([identity.listTokens(userId), identity.listUsers()]);
    const names = new Map(users.map((u) => [u.userId, u.name]));
    return tokens.map((t) => infoOf(t, names.get(t.userId) ?? t.userId));
  }

  async revoke(tokenId: string): Promise<TokenInfo> {
    const { access, transactor, clock } = this.context;
    const caller = access.caller();
    return transactor.run(async ({ identity, audit }) => {
      // Every token id is 16 hex digits; anything else (NUL included, which PostgreSQL text cannot hold) is none.
      const token =
        typeof tokenId === 'string' && TOKEN_ID.test(tokenId) ? await identity.getToken(tokenId) : undefined;
      if (token === undefined) {
        throw new CairnError(
          'NOT_FOUND',
          `Token '${tokenId}' does not exist (cairn tokens ls lists yours).`,
          {
            field: 'id',
          },
        );
      }
      if (token.userId !== caller.userId) {
        access.requireAdmin({ action: 'tokens.revoke', target: tokenTarget(tokenId) });
      }
      const owner = await identity.getUserById(token.userId);
      const ownerName = owner?.name ?? token.userId;
      if (token.revokedAt !== null) return infoOf(token, ownerName);
      const revokedAt = clock.now();
      await identity.revokeToken(tokenId, revokedAt);
      audit.record({
        action: 'tokens.revoke',
        target: tokenTarget(tokenId),
        details: { tokenId, name: token.name, user: ownerName },
      });
      return infoOf({ ...token, revokedAt }, ownerName);
    });
  }

  /** The user a token call is about: the caller, or another one when the caller is a Cairn admin. */
  private async ownerFor(user: string | undefined, action: string): Promise<UserRecord> {
    const { identity, access } = this.context;
    const caller = access.caller();
    if (user === undefined) {
      const own = caller.userId === null ? undefined : await identity.getUserById(caller.userId);
      if (own === undefined) {
        throw new CairnError(
          'FAILED_PRECONDITION',
          `${caller.actor} is not a Cairn user; name the token's owner with user (cairn tokens create --user NAME).`,
          { field: 'user' },
        );
      }
      return own;
    }
    const name = checkUserName(user, 'user');
    if (name !== caller.actor || caller.userId === null) {
      access.requireAdmin({ action, target: { kind: 'user', id: name } });
    }
    return requireUser(identity, name, 'user');
  }
}
