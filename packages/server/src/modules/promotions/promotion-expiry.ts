import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import { recordExpiry } from './promotion-steps.js';
import type { PromotionStore, PromotionTransactionStores } from './promotion.store.js';

export interface ExpiryDeps {
  store: PromotionStore;
  transactor: Transactor<PromotionTransactionStores>;
  clock: Clock;
}

/** Requests marked per sweep at most; the next sweep takes the rest. */
const SWEEP_LIMIT = 500;

/**
 * Marks every pending request past its expiry as expired, each with its
 * `promotions.expire` event, so the trail says when a request lapsed even if
 * nobody ever looked at it again. Run hourly by the server as `system`;
 * requests someone acts on are also marked the moment they are touched.
 */
export async function expireOverdueRequests(deps: ExpiryDeps): Promise<number> {
  const now = deps.clock.now();
  const overdue = (
    await deps.store.listRequests({ status: 'expired', now, offset: 0, limit: SWEEP_LIMIT })
  ).filter((request) => request.status === 'pending');
  let expired = 0;
  for (const request of overdue) {
    // One transaction per request under its model's lock: a decision racing the sweep wins or loses cleanly.
    const marked = await deps.transactor.run(async (stores) => {
      await stores.promotions.lockModel(request.modelId);
      const fresh = await stores.promotions.getRequest(request.requestId);
      if (fresh?.status !== 'pending' || fresh.expiresAt > now) return false;
      await recordExpiry(stores, fresh, now);
      return true;
    });
    if (marked) expired += 1;
  }
  return expired;
}
