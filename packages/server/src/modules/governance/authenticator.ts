import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Caller } from './caller.js';
import type { TokenRecord, UserRecord } from './entities.js';
import type { IdentityStore } from './governance.store.js';
import type { Role } from './roles.js';
import { parseToken, secretMatches, type ParsedToken } from './token-secret.js';

/** Why a login failed, as the audit trail records it. */
export type AuthFailureReason =
  'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked' | 'disabled' | 'wrong_user';

const SIGN_IN_HINT =
  'Send `Authorization: Bearer <token>` (the CLI and SDK read CAIRN_TOKEN; MLflow clients MLFLOW_TRACKING_TOKEN, ' +
  'or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD set to your user name and token).';

/** A refused login: UNAUTHENTICATED with a reason for the audit trail. Messages never echo the credentials. */
export class AuthenticationFailure extends CairnError {
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
    /** Known only once the secret matched: the token and its owner are then facts, not guesses. */
    readonly subject: { tokenId?: string; user?: string } = {},
  ) {
    super('UNAUTHENTICATED', message);
  }
}

/** An Authorization header longer than this is refused unread (a token is 66 characters). */
export const MAX_AUTHORIZATION_CHARS = 4096;

interface Credentials {
  parsed: ParsedToken;
  /** The user name basic auth claimed. */
  username?: string;
}

function malformed(what: string): AuthenticationFailure {
  return new AuthenticationFailure(
    'malformed',
    `The Authorization header is malformed: ${what}. ${SIGN_IN_HINT}`,
  );
}

function unknownToken(): AuthenticationFailure {
  return new AuthenticationFailure(
    'unknown',
    'The token is not valid on this server (mistyped, or from another server). ' +
      'Check CAIRN_TOKEN, or ask an admin for a new token (cairn tokens create --user NAME).',
  );
}

/** Bearer `<token>`, or Basic `base64(user:token)` as MLflow's MLFLOW_TRACKING_USERNAME/PASSWORD send. */
export function readCredentials(header: string | undefined): Credentials {
  if (header === undefined || header.trim() === '') {
    throw new AuthenticationFailure('missing', `This server requires authentication. ${SIGN_IN_HINT}`);
  }
  if (header.length > MAX_AUTHORIZATION_CHARS) throw malformed('it is too long to hold a token');
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer') {
    if (value === '') throw malformed('"Bearer" is followed by no token');
    const parsed = parseToken(value);
    if (parsed === undefined) throw malformed('what follows "Bearer" is not a Cairn token');
    return { parsed };
  }
  if (scheme === 'basic') {
    if (value === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
      throw malformed('"Basic" must be followed by base64 of user:token');
    }
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw malformed('"Basic" credentials must be user:token');
    const parsed = parseToken(decoded.slice(colon + 1));
    if (parsed === undefined) throw malformed('the basic-auth password is not a Cairn token');
    return { parsed, username: decoded.slice(0, colon) };
  }
  throw malformed('use the Bearer or Basic scheme');
}

/** What a token id resolves to: the token, its owner and the owner's roles. */
interface Identity {
  token: TokenRecord;
  user: UserRecord | undefined;
  bindings: Array<{ projectId: string; role: Role }>;
  loadedAt: number;
}

export interface AuthenticatorOptions {
  identity: IdentityStore;
  clock: Clock;
  /**
   * How long a token's identity (token, owner, roles) is reused without
   * reading it again. In SQLite mode those reads share the one connection with
   * every write, so reading three rows on each request costs a busy server
   * over 10% of its write throughput. Changes made through this process clear
   * the cache at once (`forget`); other replicas see them within this window.
   */
  cacheMs?: number;
}

/** Tokens remembered at most; the oldest go first. */
const CACHE_ENTRIES = 10_000;

/**
 * Turns a request's Authorization header into a Caller: the token is found by
 * its id, its secret compared in constant time, then expiry, revocation and
 * the owner's state are checked, and the owner's project roles loaded in one
 * query. Every refusal is an AuthenticationFailure.
 */
export class Authenticator {
  /** Last-used times are written at most this often per token, so reads stay reads. */
  private static readonly TOUCH_EVERY_MS = 60_000;
  private readonly cache = new Map<string, Identity>();
  private readonly cacheMs: number;

  constructor(private readonly deps: AuthenticatorOptions) {
    this.cacheMs = deps.cacheMs ?? 5_000;
  }

  /** Drops every remembered identity: a user, token or role binding changed. */
  forget(): void {
    this.cache.clear();
  }

  private async load(tokenId: string, now: number): Promise<Identity | undefined> {
    const cached = this.cache.get(tokenId);
    if (cached !== undefined && now - cached.loadedAt < this.cacheMs) return cached;
    const { identity } = this.deps;
    const token = await identity.getToken(tokenId);
    if (token === undefined) return undefined;
    const user = await identity.getUserById(token.userId);
    const bindings = user === undefined ? [] : await identity.rolesOfUser(user.userId);
    const loaded = { token, user, bindings, loadedAt: now };
    if (this.cacheMs > 0) {
      this.cache.delete(tokenId);
      if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(tokenId, loaded);
    }
    return loaded;
  }

  async authenticate(
    header: string | undefined,
    context: { requestId?: string | undefined; address?: string | undefined } = {},
  ): Promise<Caller> {
    const { parsed, username } = readCredentials(header);
    const { identity, clock } = this.deps;
    const now = clock.now();
    const loaded = await this.load(parsed.tokenId, now);
    // An unknown id and a wrong secret read the same: the answer tells a guesser nothing.
    if (loaded === undefined || !secretMatches(parsed.secret, loaded.token)) throw unknownToken();
    const { token, user, bindings } = loaded;
    const tokenId = token.tokenId;
    if (user === undefined) throw unknownToken();
    const subject = { tokenId, user: user.name };
    if (username !== undefined && username !== user.name) {
      throw new AuthenticationFailure(
        'wrong_user',
        'The basic-auth user name is not the owner of the token; set MLFLOW_TRACKING_USERNAME to the token owner’s user name.',
        { tokenId },
      );
    }
    if (token.revokedAt !== null) {
      throw new AuthenticationFailure(
        'revoked',
        `Token ${tokenId} was revoked; create a new one (cairn tokens create) and set CAIRN_TOKEN to it.`,
        subject,
      );
    }
    if (token.expiresAt !== null && token.expiresAt <= now) {
      throw new AuthenticationFailure(
        'expired',
        `Token ${tokenId} expired at ${new Date(token.expiresAt).toISOString()}; create a new one (cairn tokens create) and set CAIRN_TOKEN to it.`,
        subject,
      );
    }
    if (user.disabledAt !== null) {
      throw new AuthenticationFailure(
        'disabled',
        `User ${user.name} is disabled; a Cairn admin can enable it again (cairn users enable ${user.name}).`,
        subject,
      );
    }
    if (token.lastUsedAt === null || now - token.lastUsedAt >= Authenticator.TOUCH_EVERY_MS) {
      await identity.touchToken(tokenId, now).catch(() => undefined);
      loaded.token = { ...token, lastUsedAt: now };
    }
    const roles = new Map<string, Set<Role>>();
    for (const { projectId, role } of bindings) {
      const held = roles.get(projectId) ?? new Set<Role>();
      held.add(role);
      roles.set(projectId, held);
    }
    return {
      actor: user.name,
      userId: user.userId,
      isAdmin: user.isAdmin,
      roles,
      tokenId,
      ...(context.requestId === undefined ? {} : { requestId: context.requestId }),
      ...(context.address === undefined ? {} : { address: context.address }),
    };
  }
}
