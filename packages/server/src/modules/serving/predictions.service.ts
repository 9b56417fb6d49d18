import { CairnError } from '@cairn/contract';
import { checkLimit } from '../../kernel/page-cursor.js';
import { checkTime } from '../../kernel/time-input.js';
import type { DeploymentStore, PredictionWithFeedback } from './deployments.store.js';
import type { FeedbackRecord, PredictionKind } from './entities.js';
import { actor, authorizedDeployment, type ServingContext } from './serving-context.js';

export interface ShadowSummary {
  model: string;
  version: number;
  requests: number;
  errors: number;
  compared: number;
  agreementRate: number | null;
  meanAbsDiff: number | null;
  meanLatencyMs: number | null;
}

const MAX_FEEDBACK_ITEMS = 1_000;
const MAX_REQUEST_ID = 128;
/** Ground truth is a label or a few numbers; a megabyte of it is a mistake. */
const MAX_TRUTH_BYTES = 64 * 1024;
const MAX_RESULTS = 1_000;
/** The shadow summary looks back this far unless told otherwise. */
const DEFAULT_SHADOW_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * The prediction log's read side and ground truth. Monitoring reads the same
 * rows: sampled requests and answers, the version that gave them, and the
 * truth that arrived later for the same request id.
 */
export class PredictionsService {
  constructor(
    private readonly ctx: Pick<ServingContext, 'store' | 'access' | 'clock'> & { store: DeploymentStore },
  ) {}

  async list(input: {
    name: unknown;
    kind?: unknown;
    since?: unknown;
    until?: unknown;
    maxResults?: unknown;
    pageToken?: unknown;
  }): Promise<{ items: PredictionWithFeedback[]; nextPageToken?: string }> {
    const deployment = await authorizedDeployment(this.ctx, {
      name: input.name,
      permission: 'read',
      action: 'deployments.predictions',
    });
    const limit = checkLimit(input.maxResults, { max: MAX_RESULTS, fallback: 100 });
    const kind = checkKind(input.kind);
    const before = decodeKey(input.pageToken);
    const rows = await this.ctx.store.queryPredictions({
      deploymentId: deployment.deploymentId,
      ...(kind === undefined ? {} : { kind }),
      ...(input.since === undefined || input.since === '' ? {} : { since: checkTime(input.since, 'since') }),
      ...(input.until === undefined || input.until === '' ? {} : { until: checkTime(input.until, 'until') }),
      ...(before === undefined ? {} : { before }),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return rows.length > limit && last !== undefined ? { items, nextPageToken: encodeKey(last) } : { items };
  }

  async feedback(input: { name: unknown; body: unknown }): Promise<{ accepted: number }> {
    const deployment = await authorizedDeployment(this.ctx, {
      name: input.name,
      permission: 'write',
      action: 'deployments.feedback',
    });
    const at = this.ctx.clock.now();
    const by = actor();
    const items = feedbackItems(input.body).map((item): FeedbackRecord => ({
      requestId: item.requestId,
      deploymentId: deployment.deploymentId,
      truth: item.truth,
      createdAt: at,
      createdBy: by,
    }));
    await this.ctx.store.upsertFeedback(items);
    return { accepted: items.length };
  }

  async shadowSummary(input: { name: unknown; since?: unknown }): Promise<ShadowSummary[]> {
    const deployment = await authorizedDeployment(this.ctx, {
      name: input.name,
      permission: 'read',
      action: 'deployments.shadow',
    });
    const since =
      input.since === undefined || input.since === ''
        ? this.ctx.clock.now() - DEFAULT_SHADOW_WINDOW_MS
        : checkTime(input.since, 'since');
    const rows = await this.ctx.store.shadowSummary(deployment.deploymentId, since);
    return rows.map((r) => ({
      model: r.model,
      version: r.version,
      requests: r.requests,
      errors: r.errors,
      compared: r.compared,
      agreementRate: r.compared === 0 ? null : r.agreed / r.compared,
      meanAbsDiff: r.compared === 0 ? null : r.sumMeanAbsDiff / r.compared,
      meanLatencyMs: r.requests === 0 ? null : r.sumLatencyMs / r.requests,
    }));
  }
}

function feedbackItems(body: unknown): Array<{ requestId: string; truth: unknown }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CairnError('INVALID_ARGUMENT', 'send {"requestId": "...", "truth": ...} or {"items": [...]}');
  }
  const record = body as Record<string, unknown>;
  const items = record['items'] === undefined ? [record] : record['items'];
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_FEEDBACK_ITEMS) {
    throw new CairnError('INVALID_ARGUMENT', `items must be a list of 1 to ${MAX_FEEDBACK_ITEMS} entries`, {
      field: 'items',
    });
  }
  return items.map((item: unknown, i) => {
    const where = record['items'] === undefined ? '' : `items[${i}].`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new CairnError('INVALID_ARGUMENT', `${where || 'body '}must be an object`, {
        field: where || 'body',
      });
    }
    const entry = item as Record<string, unknown>;
    const requestId = entry['requestId'];
    if (typeof requestId !== 'string' || requestId === '' || requestId.length > MAX_REQUEST_ID) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `${where}requestId must be the request id a prediction answered with (x-request-id)`,
        { field: `${where}requestId` },
      );
    }
    if (!('truth' in entry) || entry['truth'] === undefined) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `${where}truth is required: the label or value that was right`,
        {
          field: `${where}truth`,
        },
      );
    }
    if (JSON.stringify(entry['truth']).length > MAX_TRUTH_BYTES) {
      throw new CairnError('INVALID_ARGUMENT', `${where}truth is larger than ${MAX_TRUTH_BYTES} bytes`, {
        field: `${where}truth`,
      });
    }
    return { requestId, truth: entry['truth'] };
  });
}

function checkKind(value: unknown): PredictionKind | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'live' || value === 'shadow') return value;
  throw new CairnError('INVALID_ARGUMENT', 'kind must be live or shadow', { field: 'kind' });
}

/** Keyset paging token: the last row's (createdAt, requestId), opaque to clients. */
function encodeKey(row: { createdAt: number; requestId: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt, row.requestId])).toString('base64url');
}

function decodeKey(token: unknown): { createdAt: number; requestId: string } | undefined {
  if (token === undefined || token === null || token === '') return undefined;
  try {
    const [createdAt, requestId] = JSON.parse(
      Buffer.from(String(token), 'base64url').toString(),
    ) as unknown[];
    if (typeof createdAt === 'number' && typeof requestId === 'string') return { createdAt, requestId };
  } catch {
    // falls through to the error below
  }
  throw new CairnError('INVALID_ARGUMENT', 'page_token is not one this server handed out', {
    field: 'page_token',
  });
}
