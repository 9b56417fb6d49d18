import { TRACKING_LIMITS, type KeyValue, type LogBatchRequest, type MetricInput } from '@cairn/contract';

export type QueuedItem =
  | { kind: 'metric'; metric: MetricInput }
  | { kind: 'param'; param: KeyValue }
  | { kind: 'tag'; tag: KeyValue };

/** What one log-batch request may carry (the server's limits, as MLflow's). */
export interface BatchLimits {
  metrics: number;
  params: number;
  tags: number;
  total: number;
}

export const BATCH_LIMITS: BatchLimits = {
  metrics: TRACKING_LIMITS.batchMetrics,
  params: TRACKING_LIMITS.batchParams,
  tags: TRACKING_LIMITS.batchTags,
  total: TRACKING_LIMITS.batchTotal,
};

/**
 * How many items from the front of the queue fit in one request. Items are
 * taken in order and the batch ends at the first that would break a limit, so
 * a tag set after a param is never sent before it.
 */
export function nextBatchSize(queue: readonly QueuedItem[], limits: BatchLimits = BATCH_LIMITS): number {
  const counts = { metric: 0, param: 0, tag: 0 };
  const max = { metric: limits.metrics, param: limits.params, tag: limits.tags };
  let n = 0;
  for (const item of queue) {
    if (n >= limits.total || counts[item.kind] >= max[item.kind]) break;
    counts[item.kind]++;
    n++;
  }
  return n;
}

export function toBatchRequest(items: readonly QueuedItem[]): LogBatchRequest {
  const metrics: MetricInput[] = [];
  const params: KeyValue[] = [];
  const tags: KeyValue[] = [];
  for (const item of items) {
    if (item.kind === 'metric') metrics.push(item.metric);
    else if (item.kind === 'param') params.push(item.param);
    else tags.push(item.tag);
  }
  return {
    ...(metrics.length === 0 ? {} : { metrics }),
    ...(params.length === 0 ? {} : { params }),
    ...(tags.length === 0 ? {} : { tags }),
  };
}
