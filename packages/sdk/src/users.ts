import type { CreateUserRequest, User, UserList } from '@cairn/contract';
import { pathOf, readJson, type Transport } from './transport.js';

const API = '/api/v1';

/** `cairn.users` — accounts; every call needs a Cairn admin. */
export class UsersResource {
  constructor(private readonly transport: Transport) {}

  async create(input: CreateUserRequest): Promise<User> {
    return readJson(await this.transport.send({ method: 'POST', path: `${API}/users`, json: input }));
  }

  async list(): Promise<User[]> {
    const page = await readJson<UserList>(await this.transport.send({ method: 'GET', path: `${API}/users` }));
    return page.users;
  }

  /** Nothing a disabled user sends is accepted until they are enabled again; their tokens are kept. */
  async disable(name: string): Promise<User> {
    return readJson(
      await this.transport.send({ method: 'POST', path: `${API}/users${pathOf(name, 'disable')}` }),
    );
  }

  async enable(name: string): Promise<User> {
    return readJson(
      await this.transport.send({ method: 'POST', path: `${API}/users${pathOf(name, 'enable')}` }),
    );
  }
}
