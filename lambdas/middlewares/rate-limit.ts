import { checkLimits, hasLimits, windowStart } from '../gateway/rate-limit.ts';
import { isOperation, required, stateOf } from '../gateway/state.ts';
import type { CounterStore } from '../store/counters.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/**
 * Per-key requests and tokens per minute (429 `rate_limit_error` with `retry-after`). Keys without
 * limits cost nothing here; keys with limits cost one atomic DynamoDB update before the hold. Token
 * counting (`count_tokens`) is a request like any other here: free, but not unlimited.
 *
 * @example .use(routeRequest({ routes })).use(rateLimit({ counters }))
 */
export const rateLimit = ({ counters }: { counters: Pick<CounterStore, 'countRequest'> }): ProxyMiddleware => {
  const rateLimitBefore = async (request: ProxyRequest) => {
    const state = stateOf(request.context);
    if (!isOperation(state.endpoint)) return; // models and wallet are not rate-limited
    const { key } = required(state, 'auth', 'rate-limit');
    if (!hasLimits(key)) return;
    const now = Date.now();
    checkLimits(key, await counters.countRequest(key.keyId, windowStart(now)), now);
  };
  return { before: rateLimitBefore };
};
