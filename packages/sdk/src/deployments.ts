import type {
  DeploymentJson,
  DeploymentRevisionJson,
  DeploymentSettingsJson,
  PredictionJson,
  ShadowSummaryJson,
} from '@cairn/contract';
import { pathOf, readJson, type Transport, type TransportRequest } from './transport.js';

/** A live route besides the primary: `model` (`churn@challenger`, `churn/4`) gets `weight` percent of the traffic. */
export interface CanaryInput {
  model: string;
  weight: number;
}

/** A model that sees a copy of `percent` (100 by default) of live requests; its answers are logged, never returned. */
export interface ShadowInput {
  model: string;
  percent?: number;
}

/** Batching and logging knobs; a missing one keeps its current (or default) value. */
export type DeploymentSettingsInput = Partial<DeploymentSettingsJson>;

export interface CreateDeploymentInput {
  name: string;
  /** `default` when not given. */
  project?: string;
  description?: string;
  /** The primary version, named as `churn@champion` or `churn/3`; it gets the traffic the canaries leave. */
  model: string;
  canary?: readonly CanaryInput[];
  shadows?: readonly ShadowInput[];
  /** Roll to a new revision whenever the alias `model` names moves (needs `model` as NAME@ALIAS). */
  follow?: boolean;
  settings?: DeploymentSettingsInput;
  /** A port of its own on the server; the server picks one when not given. */
  port?: number;
}

/** A new revision's changes; absent fields stay as they are, `canary: []` and `shadows: []` remove them all. */
export interface DeploymentPatch {
  model?: string;
  canary?: readonly CanaryInput[];
  shadows?: readonly ShadowInput[];
  follow?: boolean;
  settings?: DeploymentSettingsInput;
}

/** Epoch milliseconds, an ISO-8601 time (`2026-03-03T12:00:00Z`) or a Date. */
export type TimeInput = number | string | Date;

export interface DeploymentPage {
  maxResults?: number;
  pageToken?: string;
}

export interface ListDeploymentsOptions extends DeploymentPage {
  project?: string;
}

export interface ListPredictionsOptions extends DeploymentPage {
  kind?: PredictionJson['kind'];
  since?: TimeInput;
  until?: TimeInput;
}

/** What `POST /deployments/{name}/predict` answers: one prediction per instance, and who gave them. */
export interface PredictResult {
  predictions: unknown[];
  /** Send it back with the ground truth (`feedback`). */
  requestId: string;
  model: string;
  version: number;
}

export interface FeedbackItem {
  /** The `requestId` a prediction answered with. */
  requestId: string;
  /** The label or value that was right: any JSON. */
  truth: unknown;
}

const API = '/api/v1';
const deployment = (name: string, ...rest: string[]): string => `${API}/deployments${pathOf(name, ...rest)}`;

interface WirePage {
  next_page_token?: string;
  nextPageToken?: string;
}

const nextToken = (page: WirePage): { nextPageToken?: string } => {
  const token = page.nextPageToken ?? page.next_page_token;
  return token === undefined || token === '' ? {} : { nextPageToken: token };
};

const timeParam = (time: TimeInput | undefined): string | number | undefined =>
  time instanceof Date ? time.getTime() : time;

/**
 * `cairn.deployments` — named endpoints serving registered model versions,
 * with canaries, shadows and rollback. Every change makes a numbered,
 * immutable revision. `predict` and `feedback` go to the data plane
 * (`/deployments/{name}/…`), the rest to `/api/v1/deployments`.
 */
export class DeploymentsResource {
  constructor(private readonly transport: Transport) {}

  async create(input: CreateDeploymentInput): Promise<DeploymentJson> {
    return this.deploymentOf({ method: 'POST', path: `${API}/deployments`, json: input });
  }

  async get(name: string): Promise<DeploymentJson> {
    return this.deploymentOf({ method: 'GET', path: deployment(name) });
  }

  /** One page, by name. */
  async list(
    options: ListDeploymentsOptions = {},
  ): Promise<{ deployments: DeploymentJson[]; nextPageToken?: string }> {
    const page = await readJson<{ deployments: DeploymentJson[] } & WirePage>(
      await this.transport.send({
        method: 'GET',
        path: `${API}/deployments`,
        query: {
          project: options.project,
          max_results: options.maxResults,
          page_token: options.pageToken,
        },
      }),
    );
    return { deployments: page.deployments, ...nextToken(page) };
  }

  /** Every deployment (of one project when given), by name. */
  async all(options: { project?: string } = {}): Promise<DeploymentJson[]> {
    const out: DeploymentJson[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.list({ ...options, ...(pageToken === undefined ? {} : { pageToken }) });
      out.push(...page.deployments);
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
    return out;
  }

  /** Makes a new revision from the current one with these changes. */
  async update(name: string, patch: DeploymentPatch): Promise<DeploymentJson> {
    return this.deploymentOf({ method: 'PATCH', path: deployment(name), json: patch });
  }

  /** Makes a new revision equal to revision `to` (by default the one before the current). */
  async rollback(name: string, options: { to?: number } = {}): Promise<DeploymentJson> {
    return this.deploymentOf({ method: 'POST', path: deployment(name, 'rollback'), json: options });
  }

  /** Newest first. */
  async revisions(name: string, options: { maxResults?: number } = {}): Promise<DeploymentRevisionJson[]> {
    const body = await readJson<{ revisions: DeploymentRevisionJson[] }>(
      await this.transport.send({
        method: 'GET',
        path: deployment(name, 'revisions'),
        query: { max_results: options.maxResults },
      }),
    );
    return body.revisions;
  }

  /** Stops serving it; its revisions and logged predictions go with it. */
  async delete(name: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: deployment(name) });
  }

  /** One page of logged predictions, newest first, with the ground truth sent for each. */
  async predictions(
    name: string,
    options: ListPredictionsOptions = {},
  ): Promise<{ predictions: PredictionJson[]; nextPageToken?: string }> {
    const page = await readJson<{ predictions: PredictionJson[] } & WirePage>(
      await this.transport.send({
        method: 'GET',
        path: deployment(name, 'predictions'),
        query: {
          kind: options.kind,
          since: timeParam(options.since),
          until: timeParam(options.until),
          max_results: options.maxResults,
          page_token: options.pageToken,
        },
      }),
    );
    return { predictions: page.predictions, ...nextToken(page) };
  }

  /** How each shadow compares with the live answers since `since` (the server's default window otherwise). */
  async shadowSummary(name: string, options: { since?: TimeInput } = {}): Promise<ShadowSummaryJson[]> {
    const body = await readJson<{ shadows: ShadowSummaryJson[] }>(
      await this.transport.send({
        method: 'GET',
        path: deployment(name, 'shadow'),
        query: { since: timeParam(options.since) },
      }),
    );
    return body.shadows;
  }

  /**
   * One prediction per instance. With `key`, requests with the same key go
   * to the same route (sticky canaries: a user sees one model throughout).
   */
  async predict(
    name: string,
    instances: readonly unknown[],
    options: { key?: string } = {},
  ): Promise<PredictResult> {
    const response = await this.transport.send({
      method: 'POST',
      path: `/deployments${pathOf(name, 'predict')}`,
      json: { instances },
      ...(options.key === undefined ? {} : { headers: { 'x-cairn-route-key': options.key } }),
    });
    const body = await readJson<Partial<PredictResult>>(response);
    return {
      ...body,
      requestId: body.requestId ?? response.headers.get('x-request-id') ?? '',
    } as PredictResult;
  }

  /** Ground truth for earlier predictions, matched by request id; resolves with how many were stored. */
  async feedback(name: string, items: readonly FeedbackItem[]): Promise<{ accepted: number }> {
    return readJson(
      await this.transport.send({
        method: 'POST',
        path: `/deployments${pathOf(name, 'feedback')}`,
        json: { items },
      }),
    );
  }

  private async deploymentOf(request: TransportRequest): Promise<DeploymentJson> {
    return (await readJson<{ deployment: DeploymentJson }>(await this.transport.send(request))).deployment;
  }
}
