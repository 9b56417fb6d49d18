import type {
  CreatePromotionRequest,
  ListPromotionsQuery,
  PolicyDocument,
  PolicyFormat,
  ProjectPolicy,
  ProjectPolicyHistory,
  PromotionList,
  PromotionRequest,
} from '@cairn/contract';
import { pathOf, readJson, type Transport } from './transport.js';

const API = '/api/v1';

/** A policy as a value, or as YAML/JSON text kept as written. */
export type SetPolicyInput = (
  | { document: PolicyDocument | Record<string, unknown>; source?: never }
  | { source: string; format?: PolicyFormat; document?: never }
) & { comment?: string };

/** `cairn.policies` — what a project protects and what a promotion onto it must pass. */
export class PoliciesResource {
  constructor(private readonly transport: Transport) {}

  /** The policy in force: the latest stored version, or the default for the server's mode. */
  async get(project: string): Promise<ProjectPolicy> {
    return readJson(
      await this.transport.send({ method: 'GET', path: `${API}/projects${pathOf(project, 'policy')}` }),
    );
  }

  /** Stores a new version; needs the project's admin role. */
  async set(project: string, input: SetPolicyInput): Promise<ProjectPolicy> {
    return readJson(
      await this.transport.send({
        method: 'PUT',
        path: `${API}/projects${pathOf(project, 'policy')}`,
        json: input,
      }),
    );
  }

  /** Every stored version, newest first. */
  async history(project: string): Promise<ProjectPolicy[]> {
    const page = await readJson<ProjectPolicyHistory>(
      await this.transport.send({
        method: 'GET',
        path: `${API}/projects${pathOf(project, 'policy', 'history')}`,
      }),
    );
    return page.policies;
  }
}

/** `cairn.promotions` — moving a version onto a protected alias or stage, and deciding. */
export class PromotionsResource {
  constructor(private readonly transport: Transport) {}

  /** Needs the editor role in the model's project; the checks are evaluated at once. */
  async request(input: CreatePromotionRequest): Promise<PromotionRequest> {
    return readJson(await this.transport.send({ method: 'POST', path: `${API}/promotions`, json: input }));
  }

  /** One page, newest first; pass `nextPageToken` back as `pageToken` for the next. */
  async list(query: ListPromotionsQuery = {}): Promise<PromotionList> {
    return readJson(
      await this.transport.send({
        method: 'GET',
        path: `${API}/promotions`,
        query: { ...query },
      }),
    );
  }

  async get(id: string): Promise<PromotionRequest> {
    return readJson(await this.transport.send({ method: 'GET', path: `${API}/promotions${pathOf(id)}` }));
  }

  /** Approvers only; with four eyes, never the requester. Applies the move when it completes the request. */
  approve(id: string, comment?: string): Promise<PromotionRequest> {
    return this.decide(id, 'approve', comment);
  }

  /** Final; the comment says why. */
  reject(id: string, comment: string): Promise<PromotionRequest> {
    return this.decide(id, 'reject', comment);
  }

  /** By the requester (or a project admin). */
  cancel(id: string, comment?: string): Promise<PromotionRequest> {
    return this.decide(id, 'cancel', comment);
  }

  /** Re-runs the checks with fresh evidence; applies the move if every check passes. */
  evaluate(id: string): Promise<PromotionRequest> {
    return this.decide(id, 'evaluate');
  }

  private async decide(id: string, verb: string, comment?: string): Promise<PromotionRequest> {
    return readJson(
      await this.transport.send({
        method: 'POST',
        path: `${API}/promotions${pathOf(id, verb)}`,
        json: comment === undefined ? {} : { comment },
      }),
    );
  }
}
