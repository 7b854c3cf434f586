import type { Billing } from '../gateway/billing.ts';
import { stateOf } from '../gateway/state.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/**
 * Takes the wallet hold for a routed request, between routing and the upstream call (DESIGN §4):
 * a 402 here means nothing is called upstream. The settle runs in the handler's `requestEnd`,
 * after the client's response has ended.
 *
 * @example .use(routeRequest({ routes })).use(holdFunds({ billing }))
 */
export const holdFunds = ({ billing }: { billing: Billing }): ProxyMiddleware => {
  const holdFundsBefore = async (request: ProxyRequest) => {
    const state = stateOf(request.context);
    const { auth, route, body, bodyText } = state;
    // Token counting is never billed.
    if (!auth || !route || !body || bodyText === undefined || state.endpoint === 'count_tokens') return;
    state.hold = await billing.hold({
      requestId: state.requestId,
      key: auth.key,
      route,
      fallbacks: state.fallbacks ?? [],
      body,
      bodyText,
    });
  };
  return { before: holdFundsBefore };
};
