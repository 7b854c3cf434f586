import { NotFoundError } from '../errors.ts';
import { requestIdFor } from '../gateway/request-id.ts';
import { type Endpoint, setState } from '../gateway/state.ts';
import type { Protocol } from '../vocabulary.ts';
import type { ProxyEvent, ProxyMiddleware, ProxyRequest } from './types.ts';

const ROUTES: Record<string, { method: string; endpoint: Endpoint }> = {
  '/v1/chat/completions': { method: 'POST', endpoint: 'chat' },
  '/v1/messages': { method: 'POST', endpoint: 'messages' },
  '/v1/messages/count_tokens': { method: 'POST', endpoint: 'count_tokens' },
  '/v1/embeddings': { method: 'POST', endpoint: 'embeddings' },
  '/v1/responses': { method: 'POST', endpoint: 'responses' },
  '/v1/models': { method: 'GET', endpoint: 'models' },
  '/v1/wallet': { method: 'GET', endpoint: 'wallet' },
  '/v1/key': { method: 'GET', endpoint: 'key' },
  '/v1/generation': { method: 'GET', endpoint: 'generation' },
  '/health': { method: 'GET', endpoint: 'health' },
};

/** Anthropic envelope for Anthropic routes and for requests that speak Anthropic; OpenAI's otherwise. */
export const protocolOf = (event: ProxyEvent, endpoint?: Endpoint): Protocol => {
  if (endpoint === 'messages' || endpoint === 'count_tokens') return 'anthropic';
  if (endpoint === 'chat' || endpoint === 'responses' || endpoint === 'embeddings') return 'openai';
  return event.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
};

/**
 * Opens the request's state (id, clock, protocol) and matches the path; `GET /health` answers here.
 *
 * @example middy(handler, { executionMode }).use(errorResponder(…)).use(requestContext())
 */
export const requestContext = (): ProxyMiddleware => {
  const requestContextBefore = (request: ProxyRequest) => {
    const { event, context } = request;
    const path = event.rawPath.replace(/\/+$/, '') || '/';
    const route = ROUTES[path];
    const method = event.requestContext.http.method;
    const endpoint = route && route.method === method ? route.endpoint : undefined;
    if (!endpoint) {
      throw new NotFoundError(
        route ? `${method} is not supported on ${path}; use ${route.method}` : `Unknown path: ${method} ${path}`,
      );
    }
    const startedAt = Date.now();
    const state = setState(context, {
      requestId: requestIdFor(startedAt, context.awsRequestId),
      startedAt,
      startedPerf: performance.now(),
      protocol: protocolOf(event, endpoint),
      endpoint,
    });
    if (endpoint === 'health') {
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json', 'x-request-id': state.requestId },
        body: '{"status":"ok"}',
      };
    }
    return undefined;
  };
  return { before: requestContextBefore };
};
