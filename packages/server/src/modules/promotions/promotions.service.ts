import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import { newId } from '../../kernel/ids.js';
import type { Transactor } from '../../kernel/transactor.js';
import {
  deniedError,
  canonicalJson,
  policyJson,
  protects,
  type AccessControl,
  type EffectivePolicy,
  type Policy,
} from '../governance/index.js';
import { decodePageToken, encodePageToken } from '../tracking/index.js';
import { currentStatus, type PromotionRequestRecord, type PromotionView } from './entities.js';
import { evaluatePromotion } from './promotion-checks.js';
import { gatherFacts, type EvidenceSources } from './promotion-evidence.js';
import {
  applyRequest,
  type LabelMover,
  describeTarget,
  modelGone,
  notFound,
  notOpen,
  promotionTarget,
  recordExpiry,
  setCommand,
  summary,
} from './promotion-steps.js';
import {
  checkArchiveExisting,
  checkComment,
  checkMaxResults,
  checkModel,
  checkProjectFilter,
  checkRequestId,
  checkStatus,
  checkTarget,
  checkVersion,
} from './promotion-input.js';
import type { PromotionStore, PromotionTransactionStores } from './promotion.store.js';

export interface PromotionsDeps {
  /** For reads outside a transaction. */
  store: PromotionStore;
  transactor: Transactor<PromotionTransactionStores>;
  clock: Clock;
  access: AccessControl;
  policies: {
    effective(projectId: string): Promise<EffectivePolicy>;
    parseStored(document: string): Policy;
  };
  models: LabelMover & { projectOfModel(name: unknown): Promise<string> };
  evidence: EvidenceSources;
}

export interface CreatePromotionInput {
  model: unknown;
  version: unknown;
  alias?: unknown;
  stage?: unknown;
  /** Stage requests only: archive the versions already in the stage when this one moves in. */
  archiveExisting?: unknown;
  reason?: unknown;
}

export interface ListPromotionsInput {
  project?: unknown;
  status?: unknown;
  model?: unknown;
  maxResults?: unknown;
  pageToken?: unknown;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Promotion requests: moving a version onto a protected alias or stage.
 * A request is judged by the project's policy frozen at creation; its checks
 * are re-evaluated with fresh evidence at every approval (and on demand), and
 * the label moves in the transaction that records the last approval once
 * every check passes. Permission checks happen before each transaction
 * opens; the request's row is re-read under the model's lock inside it.
 */
export class PromotionsService {
  constructor(private readonly deps: PromotionsDeps) {}

  async create(input: CreatePromotionInput): Promise<PromotionView> {
    const { access, clock, policies, transactor } = this.deps;
    const modelName = checkModel(input.model);
    const version = checkVersion(input.version);
    const target = checkTarget(input);
    const archiveExisting = checkArchiveExisting(input.archiveExisting, target);
    const reason = checkComment(input.reason, 'reason');
    const projectId = await this.deps.models.projectOfModel(modelName);
    access.require('promote', projectId, {
      action: 'promotions.request',
      target: { kind: 'model_version', id: `${modelName}/${version}` },
    });
    const effective = await policies.effective(projectId);
    if (!protects(effective.policy, target)) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `The ${describeTarget(target)} is not protected by project '${projectId}'s policy, so it needs no ` +
          `request — set it directly (${setCommand(modelName, version, target)}).`,
        { field: target.kind },
      );
    }
    const facts = await gatherFacts(this.deps.evidence, { modelName, version });
    const requester = access.caller().actor;
    const now = clock.now();
    const expiresAt = now + effective.policy.requestTtlDays * DAY_MS;
    return transactor.run(async (stores) => {
      const model = await stores.registry.getModelByName(modelName);
      if (model === undefined || model.projectId !== projectId) throw modelGone(modelName);
      await stores.promotions.lockModel(model.modelId);
      const current = await stores.registry.getVersion(model.modelId, version);
      if (current === undefined) throw modelGone(`${modelName}/${version}`);
      if (target.kind === 'alias' ? model.aliases[target.name] === version : current.stage === target.name) {
        throw new CairnError(
          'FAILED_PRECONDITION',
          `${modelName} version ${version} already holds the ${describeTarget(target)}.`,
          { field: 'version' },
        );
      }
      for (const open of await stores.promotions.pendingFor({ modelId: model.modelId, version, target })) {
        if (open.expiresAt > now) {
          throw new CairnError(
            'ALREADY_EXISTS',
            `Promotion request ${open.requestId} for ${modelName} version ${version} to the ` +
              `${describeTarget(target)} is already pending (cairn promotions show ${open.requestId}).`,
          );
        }
        await recordExpiry(stores, open, now);
      }
      const request: PromotionRequestRecord = {
        requestId: newId(),
        projectId,
        modelId: model.modelId,
        modelName,
        version,
        target,
        archiveExisting,
        requester,
        reason,
        status: 'pending',
        policyVersion: effective.version,
        policy: canonicalJson(policyJson(effective.policy)),
        evaluation: evaluatePromotion(effective.policy, { facts, requester, approvedBy: [], now, expiresAt }),
        createdAt: now,
        expiresAt,
        decidedAt: null,
        decidedBy: null,
        decisionComment: null,
      };
      await stores.promotions.insertRequest(request);
      stores.audit.record({
        action: 'promotions.request',
        target: promotionTarget(request.requestId),
        projectId,
        details: {
          model: modelName,
          version,
          target,
          archiveExisting,
          reason,
          policyVersion: effective.version,
          ...summary(request.evaluation),
        },
      });
      // A policy asking for no approvals lets a request that passes its checks apply at once.
      const applied = request.evaluation.passed
        ? await applyRequest(this.deps, stores, { request, now })
        : request;
      return { request: applied, status: applied.status, reviews: [] };
    });
  }

  async get(rawId: unknown): Promise<PromotionView> {
    const request = await this.readable(rawId);
    const reviews = await this.deps.store.listReviews([request.requestId]);
    return { request, status: currentStatus(request, this.deps.clock.now()), reviews };
  }

  /** Requests in the projects the caller may read, newest first. */
  async list(input: ListPromotionsInput): Promise<{ items: PromotionView[]; nextPageToken?: string }> {
    const { access, clock, store } = this.deps;
    const status = checkStatus(input.status);
    const limit = checkMaxResults(input.maxResults);
    const offset = decodePageToken(
      typeof input.pageToken === 'string' ? input.pageToken : undefined,
      'pageToken',
    );
    const modelName = input.model === undefined || input.model === null ? undefined : checkModel(input.model);
    let projectIds: readonly string[] | undefined;
    if (input.project !== undefined && input.project !== null) {
      const project = checkProjectFilter(input.project);
      access.require('read', project, {
        action: 'promotions.list',
        target: { kind: 'project', id: project },
      });
      projectIds = [project];
    } else {
      const readable = access.readableProjects();
      if (readable !== 'all' && readable.length === 0) return { items: [] };
      projectIds = readable === 'all' ? undefined : readable;
    }
    const now = clock.now();
    const rows = await store.listRequests({ projectIds, modelName, status, now, offset, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const reviews = await store.listReviews(page.map((r) => r.requestId));
    const items = page.map((request) => ({
      request,
      status: currentStatus(request, now),
      reviews: reviews.filter((r) => r.requestId === request.requestId),
    }));
    return rows.length > limit ? { items, nextPageToken: encodePageToken(offset + limit) } : { items };
  }

  approve(rawId: unknown, comment?: unknown): Promise<PromotionView> {
    return this.review(rawId, { decision: 'approve', comment });
  }

  reject(rawId: unknown, comment?: unknown): Promise<PromotionView> {
    return this.review(rawId, { decision: 'reject', comment });
  }

  /** Re-runs the checks with fresh evidence (a metric logged since, a card filled in) and applies if all pass. */
  async evaluate(rawId: unknown): Promise<PromotionView> {
    const action = 'promotions.evaluate';
    const checked = await this.requestFor(rawId, { action, requesterMay: 'promote', othersNeed: 'approve' });
    const facts = await gatherFacts(this.deps.evidence, checked);
    const now = this.deps.clock.now();
    return this.change(checked, now, async (stores, request, reviews) => {
      const evaluation = evaluatePromotion(this.deps.policies.parseStored(request.policy), {
        facts,
        requester: request.requester,
        approvedBy: reviews.filter((r) => r.decision === 'approve').map((r) => r.reviewer),
        now,
        expiresAt: request.expiresAt,
      });
      await stores.promotions.updateRequest(request.requestId, { evaluation });
      stores.audit.record({
        action,
        target: promotionTarget(request.requestId),
        projectId: request.projectId,
        details: summary(evaluation),
      });
      const updated = { ...request, evaluation };
      return evaluation.passed ? applyRequest(this.deps, stores, { request: updated, now }) : updated;
    });
  }

  /** The requester withdraws the request (a project admin may too). */
  async cancel(rawId: unknown, rawComment?: unknown): Promise<PromotionView> {
    const action = 'promotions.cancel';
    const comment = checkComment(rawComment, 'comment');
    const checked = await this.requestFor(rawId, { action, requesterMay: 'promote', othersNeed: 'admin' });
    const now = this.deps.clock.now();
    const actor = this.deps.access.caller().actor;
    return this.change(checked, now, async (stores, request) => {
      const patch = {
        status: 'cancelled' as const,
        decidedAt: now,
        decidedBy: actor,
        decisionComment: comment,
      };
      await stores.promotions.updateRequest(request.requestId, patch);
      stores.audit.record({
        action,
        target: promotionTarget(request.requestId),
        projectId: request.projectId,
        details: { model: request.modelName, version: request.version, target: request.target, comment },
      });
      return { ...request, ...patch };
    });
  }

  private async review(
    rawId: unknown,
    input: { decision: 'approve' | 'reject'; comment: unknown },
  ): Promise<PromotionView> {
    const { access, clock, policies } = this.deps;
    const { decision } = input;
    const action = `promotions.${decision}`;
    const comment = checkComment(input.comment, 'comment');
    const checked = await this.requestFor(rawId, { action, othersNeed: 'approve', requesterMay: 'approve' });
    const actor = access.caller().actor;
    if (
      decision === 'approve' &&
      actor === checked.requester &&
      policies.parseStored(checked.policy).fourEyes
    ) {
      throw deniedError(
        `${actor} asked for promotion request ${checked.requestId} and may not approve it: the project's ` +
          'policy requires four eyes, so another approver must decide.',
        {
          action,
          target: promotionTarget(checked.requestId),
          projectId: checked.projectId,
          outcome: 'denied',
          details: { reason: 'four eyes: the requester may not approve', requester: checked.requester },
        },
      );
    }
    if (decision === 'reject' && comment.trim() === '') {
      throw new CairnError('INVALID_ARGUMENT', 'comment: say why the request is rejected', {
        field: 'comment',
      });
    }
    const facts = decision === 'approve' ? await gatherFacts(this.deps.evidence, checked) : undefined;
    const now = clock.now();
    return this.change(checked, now, async (stores, request, reviews) => {
      if (reviews.some((r) => r.reviewer === actor)) {
        throw new CairnError(
          'ALREADY_EXISTS',
          `${actor} already reviewed promotion request ${request.requestId}; each reviewer decides once.`,
        );
      }
      await stores.promotions.insertReview({
        requestId: request.requestId,
        reviewer: actor,
        decision,
        comment,
        createdAt: now,
      });
      stores.audit.record({
        action,
        target: promotionTarget(request.requestId),
        projectId: request.projectId,
        details: { model: request.modelName, version: request.version, target: request.target, comment },
      });
      if (facts === undefined) {
        const patch = {
          status: 'rejected' as const,
          decidedAt: now,
          decidedBy: actor,
          decisionComment: comment,
        };
        await stores.promotions.updateRequest(request.requestId, patch);
        return { ...request, ...patch };
      }
      const approvedBy = [...reviews.filter((r) => r.decision === 'approve').map((r) => r.reviewer), actor];
      const evaluation = evaluatePromotion(policies.parseStored(request.policy), {
        facts,
        requester: request.requester,
        approvedBy,
        now,
        expiresAt: request.expiresAt,
      });
      await stores.promotions.updateRequest(request.requestId, { evaluation });
      const updated = { ...request, evaluation };
      return evaluation.passed ? applyRequest(this.deps, stores, { request: updated, now }) : updated;
    });
  }

  /**
   * The request once the caller may act on it: the requester with `requesterMay`
   * in the project, anyone else with `othersNeed`. A pending request past its
   * time is marked expired (in a transaction of its own, so the mark stays)
   * and refused.
   */
  private async requestFor(
    rawId: unknown,
    rule: { action: string; requesterMay: 'promote' | 'approve'; othersNeed: 'approve' | 'admin' },
  ): Promise<PromotionRequestRecord> {
    const { access, clock, transactor } = this.deps;
    const request = await this.find(rawId);
    const isRequester = access.caller().actor === request.requester;
    access.require(isRequester ? rule.requesterMay : rule.othersNeed, request.projectId, {
      action: rule.action,
      target: promotionTarget(request.requestId),
    });
    const now = clock.now();
    const status = currentStatus(request, now);
    if (status === 'expired' && request.status === 'pending') {
      await transactor.run(async (stores) => {
        await stores.promotions.lockModel(request.modelId);
        const fresh = await stores.promotions.getRequest(request.requestId);
        if (fresh?.status === 'pending') await recordExpiry(stores, fresh, now);
      });
    }
    if (status !== 'pending') throw notOpen(request, status);
    return request;
  }

  /** Runs `work` on the request re-read under the model's lock, refusing if it was decided meanwhile. */
  private async change(
    checked: PromotionRequestRecord,
    now: number,
    work: (
      stores: PromotionTransactionStores,
      request: PromotionRequestRecord,
      reviews: Awaited<ReturnType<PromotionStore['listReviews']>>,
    ) => Promise<PromotionRequestRecord>,
  ): Promise<PromotionView> {
    return this.deps.transactor.run(async (stores) => {
      await stores.promotions.lockModel(checked.modelId);
      const request = await stores.promotions.getRequest(checked.requestId);
      if (request === undefined) throw notFound(checked.requestId);
      const status = currentStatus(request, now);
      if (status !== 'pending') throw notOpen(request, status);
      const reviews = await stores.promotions.listReviews([request.requestId]);
      const result = await work(stores, request, reviews);
      const after = await stores.promotions.listReviews([request.requestId]);
      return { request: result, status: result.status, reviews: after };
    });
  }

  private async readable(rawId: unknown): Promise<PromotionRequestRecord> {
    const request = await this.find(rawId);
    this.deps.access.require('read', request.projectId, {
      action: 'promotions.get',
      target: promotionTarget(request.requestId),
    });
    return request;
  }

  private async find(rawId: unknown): Promise<PromotionRequestRecord> {
    const requestId = checkRequestId(rawId);
    const request = await this.deps.store.getRequest(requestId);
    if (request === undefined) throw notFound(requestId);
    return request;
  }
}
