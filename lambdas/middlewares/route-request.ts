import { keyAllowsModel, resolveRoute } from '../gateway/routing.ts';
import { isOperation, required, stateOf } from '../gateway/state.ts';
import type { Route } from '../vocabulary.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/**
 * Picks the route for the request's model (DESIGN §3 key suffix, 404, 403), and the fallbacks the
 * key may also use: a fallback the key's allow-list does not name is never tried.
 *
 * @example .use(parseBody({ maxBodyBytes })).use(routeRequest({ routes }))
 */
export const routeRequest = ({ routes }: { routes: () => Promise<readonly Route[]> }): ProxyMiddleware => {
  const routeRequestBefore = async (request: ProxyRequest) => {
    const state = stateOf(request.context);
    if (!isOperation(state.endpoint)) return; // models and wallet name no model
    const auth = required(state, 'auth', 'route-request');
    const { body } = required(state, 'request', 'route-request');
    const table = await routes();
    const route = resolveRoute(table, auth, body.model);
    const fallbacks = (route.fallbacks ?? []).flatMap((fallback) => {
      const found = table.find((candidate) => candidate.model === fallback && candidate.model !== route.model);
      return found && keyAllowsModel(auth.key, found.model) ? [found] : [];
    });
    state.routing = { route, fallbacks };
  };
  return { before: routeRequestBefore };
};
