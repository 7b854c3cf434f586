import { spendTerms } from '../gateway/spend-guard.ts';
import { isOperation, required, stateOf } from '../gateway/state.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/**
 * Fixes what a routed request may spend before anything is held or sent: its output cap, and
 * refuses (400) client fields that would change the upstream's price or reach outside the account
 * (gateway/spend-guard.ts). No database call: a refused request costs nothing.
 *
 * @example .use(routeRequest({ routes })).use(guardSpend()).use(rateLimit({ counters }))
 */
export const guardSpend = (): ProxyMiddleware => {
  const guardSpendBefore = (request: ProxyRequest) => {
    const state = stateOf(request.context);
    if (!isOperation(state.endpoint)) return; // models and wallet spend nothing
    const { route } = required(state, 'routing', 'guard-spend');
    state.spend = spendTerms(required(state, 'request', 'guard-spend'), route, request.event.headers);
  };
  return { before: guardSpendBefore };
};
