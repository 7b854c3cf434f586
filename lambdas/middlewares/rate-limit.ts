import { checkLimits, hasLimits, windowStart } from '../gateway/rate-limit.ts';
import { isOperation, stateOf } from '../gateway/state.ts';
import type { CounterStore } from '../store/counters.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/**
 * Per-key requests and tokens per minute (429 `rate_limit_error` with `retry-after`). Keys without
 * limits cost nothing here; keys with limits cost one atomic DynamoDB update before the hold.
 *
 * @example .use(routeRequest({ routes })).use(rateLimit({ counters })).use(holdFunds({ billing }))
 */
export const rateLimit = ({ counters }: { counters: Pick<CounterStore, 'countRequest'> }): ProxyMiddleware => {
  const rateLimitBefore = async (request: ProxyRequest) => {
    const state = stateOf(request.context);
    const key = state.auth?.key;
    if (!key || !hasLimits(key) || !isOperation(state.endpoint) || state.endpoint === 'count_tokens') return;
    const now = Date.now();
    checkLimits(key, await counters.countRequest(key.keyId, windowStart(now)), now);
  };
  return { before: rateLimitBefore };
};
