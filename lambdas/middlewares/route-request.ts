import type { Route } from '../gateway/model.ts';
import { resolveRoute } from '../gateway/routing.ts';
import { stateOf } from '../gateway/state.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/**
 * Picks the route for the request's model (DESIGN §3 key suffix, 404, 403). The wallet's hold
 * slots in right after this middleware, before the upstream call.
 */
export const routeRequest = ({ routes }: { routes: () => Promise<readonly Route[]> }): ProxyMiddleware => {
  const routeRequestBefore = async (request: ProxyRequest) => {
    const state = stateOf(request.context);
    if (!state.body || !state.auth) return;
    const model = typeof state.body.model === 'string' ? state.body.model : undefined;
    state.route = resolveRoute(await routes(), state.auth, model);
  };
  return { before: routeRequestBefore };
};
