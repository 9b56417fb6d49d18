import type { ApiToken, ApiTokenList, CreateApiTokenRequest, CreatedApiToken } from '@cairn/contract';
import { pathOf, readJson, type Transport } from './transport.js';

const API = '/api/v1';

export interface CreateTokenOptions {
  name?: string;
  /** Days until it stops working; or give `expiresAt`. Without either it never expires. */
  expiresInDays?: number;
  expiresAt?: Date | string;
  /** Another user's token (Cairn admins). */
  user?: string;
}

/** `cairn.tokens` — API tokens. The text of a token is in `create`'s answer only; keep it then. */
export class TokensResource {
  constructor(private readonly transport: Transport) {}

  async create(options: CreateTokenOptions = {}): Promise<CreatedApiToken> {
    const { expiresAt, ...rest } = options;
    const json: CreateApiTokenRequest = {
      ...rest,
      ...(expiresAt === undefined
        ? {}
        : { expiresAt: expiresAt instanceof Date ? expiresAt.toISOString() : expiresAt }),
    };
    return readJson(await this.transport.send({ method: 'POST', path: `${API}/tokens`, json }));
  }

  /** Your tokens, or (Cairn admins) another user's. */
  async list(options: { user?: string } = {}): Promise<ApiToken[]> {
    const page = await readJson<ApiTokenList>(
      await this.transport.send({ method: 'GET', path: `${API}/tokens`, query: { user: options.user } }),
    );
    return page.tokens;
  }

  async revoke(id: string): Promise<ApiToken> {
    return readJson(await this.transport.send({ method: 'DELETE', path: `${API}/tokens${pathOf(id)}` }));
  }
}
