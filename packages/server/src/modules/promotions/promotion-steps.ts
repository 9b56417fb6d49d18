import { CairnError } from '@cairn/contract';
import {
  currentCaller,
  runAsCaller,
  SYSTEM_CALLER,
  type AccessControl,
  type AuditStores,
  type AuditTarget,
  type LabelTarget,
} from '../governance/index.js';
import type { RegistryStores } from '../registry/index.js';
import type { Evaluation, PromotionRequestRecord } from './entities.js';
import type { PromotionTransactionStores } from './promotion.store.js';

/** The steps that end a request, and the refusals the service shares. */

export const promotionTarget = (requestId: string): AuditTarget => ({ kind: 'promotion', id: requestId });
export const describeTarget = (t: LabelTarget): string => `${t.kind} '${t.name}'`;

export function notOpen(request: PromotionRequestRecord, status: string): CairnError {
  return new CairnError(
    'FAILED_PRECONDITION',
    status === 'expired'
      ? `Promotion request ${request.requestId} expired at ${new Date(request.expiresAt).toISOString()} ` +
          'undecided; open a new one (cairn promotions request).'
      : `Promotion request ${request.requestId} is already ${status}; it can no longer change.`,
    { field: 'id' },
  );
}

/** The registry's move of a label, made inside the promotion's transaction (history and audit included). */
export interface LabelMover {
  applyPromotion(
    stores: RegistryStores & AuditStores,
    move: {
      modelName: string;
      version: number;
      target: LabelTarget;
      archiveExisting?: boolean;
      actor: string;
      promotionRequest?: string;
    },
  ): Promise<unknown>;
}

/** Moves the label through the registry, in the caller's transaction, and closes the request. */
export async function applyRequest(
  deps: { models: LabelMover; access: AccessControl },
  stores: PromotionTransactionStores,
  step: { request: PromotionRequestRecord; now: number },
): Promise<PromotionRequestRecord> {
  const { request, now } = step;
  const model = await stores.registry.getModelByName(request.modelName);
  if (model === undefined || model.modelId !== request.modelId) {
    throw new CairnError(
      'FAILED_PRECONDITION',
      `Model '${request.modelName}' was renamed or deleted since request ${request.requestId} was opened; ` +
        'open a new request for it.',
    );
  }
  await deps.models.applyPromotion(stores, {
    modelName: request.modelName,
    version: request.version,
    target: request.target,
    archiveExisting: request.archiveExisting,
    actor: request.requester,
    promotionRequest: request.requestId,
  });
  const decidedBy = deps.access.caller().actor;
  const patch = { status: 'applied' as const, decidedAt: now, decidedBy };
  await stores.promotions.updateRequest(request.requestId, patch);
  stores.audit.record({
    action: 'promotions.apply',
    target: promotionTarget(request.requestId),
    projectId: request.projectId,
    details: {
      model: request.modelName,
      version: request.version,
      target: request.target,
      requester: request.requester,
      approvedBy: approvedByOf(request.evaluation),
    },
  });
  return { ...request, ...patch };
}

/** Marks an undecided request expired; the server does it, whoever happened to notice. */
export async function recordExpiry(
  stores: PromotionTransactionStores,
  request: PromotionRequestRecord,
  now: number,
): Promise<void> {
  await stores.promotions.updateRequest(request.requestId, {
    status: 'expired',
    decidedAt: now,
    decidedBy: SYSTEM_CALLER.actor,
  });
  // Named as the server's act in the trail, under the request that noticed it.
  const requestId = currentCaller()?.requestId;
  runAsCaller({ ...SYSTEM_CALLER, requestId }, () =>
    stores.audit.record({
      action: 'promotions.expire',
      target: promotionTarget(request.requestId),
      projectId: request.projectId,
      details: {
        model: request.modelName,
        version: request.version,
        target: request.target,
        expiresAt: request.expiresAt,
      },
    }),
  );
}

export function notFound(requestId: string): CairnError {
  return new CairnError(
    'NOT_FOUND',
    `Promotion request ${requestId} does not exist (cairn promotions ls lists them).`,
    { field: 'id' },
  );
}

export function modelGone(what: string): CairnError {
  return new CairnError('NOT_FOUND', `${what} no longer exists.`, { field: 'model' });
}

export function setCommand(model: string, version: number, target: LabelTarget): string {
  return target.kind === 'alias'
    ? `cairn models alias ${model}@${target.name} ${version}`
    : `cairn models stage ${model} ${version} ${target.name}`;
}

function approvedByOf(evaluation: Evaluation): unknown {
  return evaluation.checks.find((c) => c.id === 'approvals')?.evidence['approvedBy'] ?? [];
}

/** What the audit trail keeps of an evaluation: the verdict and the checks that failed, not the evidence. */
export function summary(evaluation: Evaluation): Record<string, unknown> {
  return {
    passed: evaluation.passed,
    failed: evaluation.checks.filter((c) => !c.passed).map((c) => c.id),
    approvals: evaluation.approvals,
  };
}
