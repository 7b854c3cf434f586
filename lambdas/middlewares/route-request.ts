import { resolveRoute } from '../gateway/routing.ts';
import { stateOf } from '../gateway/state.ts';
import type { Route } from '../vocabulary.ts';
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
    const table = await routes();
    state.route = resolveRoute(table, state.auth, model);
    state.fallbacks = (state.route.fallbacks ?? []).flatMap((fallback) => {
      const found = table.find((candidate) => candidate.model === fallback && candidate.model !== state.route?.model);
      return found ? [found] : [];
    });
  };
  return { before: routeRequestBefore };
};
