import { isCairnError, type Experiment, type ExperimentList, type ViewType } from '@cairn/contract';
import { pathOf, readJson, type Transport } from './transport.js';

export interface CreateExperimentInput {
  name: string;
  artifactLocation?: string;
  tags?: Record<string, string>;
  /** The project to create it in (default `default`); needs the editor role there. */
  project?: string;
}

export interface ListExperimentsOptions {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}

const API = '/api/v1/experiments';

/** `cairn.experiments` — create, find, rename, tag, delete and restore experiments. */
export class ExperimentsResource {
  constructor(private readonly transport: Transport) {}

  async create(input: CreateExperimentInput): Promise<Experiment> {
    return readJson(await this.transport.send({ method: 'POST', path: API, json: input }));
  }

  async get(experimentId: string): Promise<Experiment> {
    return readJson(await this.transport.send({ method: 'GET', path: API + pathOf(experimentId) }));
  }

  /** The experiment with this name, or undefined when there is none. */
  async getByName(name: string): Promise<Experiment | undefined> {
    try {
      return await readJson<Experiment>(
        await this.transport.send({ method: 'GET', path: `${API}/by-name${pathOf(name)}` }),
      );
    } catch (error) {
      if (isCairnError(error) && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  async list(options: ListExperimentsOptions = {}): Promise<ExperimentList> {
    const { filter, orderBy, maxResults, pageToken, viewType } = options;
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: API,
        query: { filter, orderBy, maxResults, pageToken, viewType },
      }),
    );
  }

  async rename(experimentId: string, name: string): Promise<Experiment> {
    return readJson(
      await this.transport.send({ method: 'PATCH', path: API + pathOf(experimentId), json: { name } }),
    );
  }

  async delete(experimentId: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: API + pathOf(experimentId) });
  }

  async restore(experimentId: string): Promise<void> {
    await this.transport.send({ method: 'POST', path: `${API + pathOf(experimentId)}/restore` });
  }

  async setTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.transport.send({
      method: 'PUT',
      path: API + pathOf(experimentId, 'tags', key),
      json: { value },
    });
  }

  async deleteTag(experimentId: string, key: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: API + pathOf(experimentId, 'tags', key) });
  }
}
