import { authenticate } from '../gateway/auth.ts';
import { stateOf } from '../gateway/state.ts';
import type { KeyRecord } from '../vocabulary.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/**
 * Resolves the request's Tollgate key (DESIGN §3) before anything else is read.
 *
 * @example .use(authenticateKey({ lookup: (hash) => keyCache.get(hash, () => keys.get(hash)) }))
 */
export const authenticateKey = ({
  lookup,
}: {
  lookup: (keyHash: string) => Promise<KeyRecord | undefined>;
}): ProxyMiddleware => {
  const authenticateKeyBefore = async (request: ProxyRequest) => {
    const state = stateOf(request.context);
    state.auth = await authenticate(request.event.headers, lookup);
  };
  return { before: authenticateKeyBefore };
};
