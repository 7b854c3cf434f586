import { bridgeFor } from '../protocols/bridges.ts';
import { PROVIDERS } from '../providers/index.ts';
import type { Operation, ProviderKind, Route } from '../vocabulary.ts';

/** How a model can be called: the endpoint, and whether the gateway translates to reach it. */
export interface ModelEndpoint {
  operation: Exclude<Operation, 'count_tokens'>;
  path: string;
  /** False: the upstream speaks this protocol itself; true: the gateway translates both ways. */
  translated: boolean;
}

const ENDPOINTS: readonly { operation: ModelEndpoint['operation']; path: string }[] = [
  { operation: 'chat', path: '/v1/chat/completions' },
  { operation: 'messages', path: '/v1/messages' },
  { operation: 'responses', path: '/v1/responses' },
  { operation: 'embeddings', path: '/v1/embeddings' },
];

/**
 * The endpoints a route answers on: its provider's own protocol, and those the gateway translates
 * (as {@link bridgeFor} decides for a request).
 *
 * @example endpointsOf(anthropicRoute).map((e) => e.operation) // ['chat', 'messages', 'responses']
 */
export const endpointsOf = (route: Route): ModelEndpoint[] => {
  const adapter = PROVIDERS[route.provider as ProviderKind];
  if (!adapter) return [];
  return ENDPOINTS.flatMap(({ operation, path }) => {
    try {
      const bridge = bridgeFor(operation, adapter.protocol, route);
      return [{ operation, path, translated: bridge.upstream !== operation }];
    } catch {
      return [];
    }
  });
};
