import type { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import type { Context } from 'aws-lambda';
import { TtlCache } from './gateway/cache.ts';
import type { GatewayConfig } from './gateway/config.ts';
import { type Completion, forward, type StreamingResponse } from './gateway/forward.ts';
import type { KeyRecord, Route } from './gateway/model.ts';
import { modelList } from './gateway/models.ts';
import { modelsForKey } from './gateway/routing.ts';
import { type GatewayState, peekState, stateOf } from './gateway/state.ts';
import { authenticateKey } from './middlewares/authenticate.ts';
import { errorResponder } from './middlewares/error-responder.ts';
import { parseBody } from './middlewares/parse-body.ts';
import { requestContext } from './middlewares/request-context.ts';
import { routeRequest } from './middlewares/route-request.ts';
import type { ProxyEvent } from './middlewares/types.ts';
import type { CredentialSource } from './providers/credentials.ts';
import type { Reporter } from './reports/reporter.ts';
import type { KeyStore } from './store/keys.ts';
import type { RouteStore } from './store/routes.ts';

export interface ProxyDeps {
  keys: Pick<KeyStore, 'get'>;
  routes: Pick<RouteStore, 'list'>;
  credentials: CredentialSource;
  reporter: Reporter;
  logger: Logger;
  config: GatewayConfig;
  /** Where default provider base URLs are read from (OPENAI_BASE_URL, ANTHROPIC_BASE_URL). */
  env: NodeJS.ProcessEnv;
}

const ROUTE_TABLE = 'all';

/**
 * Builds the proxy's middy chain. Order matters: the error responder is `use`d first so it sees
 * every error last; auth runs before body parsing; validation runs before any upstream call; the
 * wallet's hold slots in after routing.
 *
 * @example export const handler = createProxyHandler(await proxyDepsFromEnv());
 */
export const createProxyHandler = (deps: ProxyDeps) => {
  const { config, logger } = deps;
  const keyCache = new TtlCache<KeyRecord>({
    ttlMs: config.keyCacheTtlMs,
    negativeTtlMs: config.negativeKeyCacheTtlMs,
  });
  const routeCache = new TtlCache<readonly Route[]>({ ttlMs: config.routeCacheTtlMs });
  const lookupKey = (keyHash: string) => keyCache.get(keyHash, () => deps.keys.get(keyHash));
  const routes = async () => (await routeCache.get(ROUTE_TABLE, () => deps.routes.list())) ?? [];

  const finished = (state: GatewayState, completion: Completion) => {
    logger.info('request completed', {
      requestId: state.requestId,
      accountId: state.auth?.key.accountId,
      keyId: state.auth?.key.keyId,
      model: state.route?.model,
      outcome: completion.outcome,
      usage: completion.usage,
      durationMs: completion.endedAt - state.startedAt,
    });
  };

  const proxy = async (_event: ProxyEvent, context: Context): Promise<StreamingResponse> => {
    const state = stateOf(context);
    const headers = { 'x-request-id': state.requestId };
    if (state.endpoint === 'models') {
      const { auth } = state;
      const listed = auth ? modelsForKey(await routes(), auth.key) : [];
      return {
        statusCode: 200,
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(modelList(listed, state.protocol)),
      };
    }
    if (!state.route || !state.body || (state.endpoint !== 'chat' && state.endpoint !== 'messages')) {
      throw new Error(`request reached the handler unrouted (${state.endpoint})`);
    }
    const forwarded = await forward(
      { operation: state.endpoint, route: state.route, body: state.body, clientHeaders: _event.headers },
      {
        credentials: deps.credentials,
        env: deps.env,
        headersTimeoutMs: config.upstreamHeadersTimeoutMs,
        idleTimeoutMs: config.upstreamIdleTimeoutMs,
      },
    );
    state.forwarded = forwarded;
    forwarded.completion.then(
      (completion) => finished(state, completion),
      (error: unknown) => logger.error('upstream read failed', { requestId: state.requestId, error }),
    );
    return { ...forwarded.response, headers: { ...forwarded.response.headers, ...headers } };
  };

  return middy<ProxyEvent, StreamingResponse, Error, Context>({
    executionMode: executionModeStreamifyResponse,
    timeoutEarlyInMillis: 0,
    // Runs once the client's response has ended (or the client left): the invocation stays alive
    // until the upstream is read to its end and every report is out, off the client's clock.
    requestEnd: async (request) => {
      await peekState(request.context)?.forwarded?.completion.catch(() => undefined);
      await deps.reporter.flush();
    },
  })
    .use(errorResponder({ logger, reporter: deps.reporter }))
    .use(requestContext())
    .use(authenticateKey({ lookup: lookupKey }))
    .use(parseBody({ maxBodyBytes: config.maxBodyBytes }))
    .use(routeRequest({ routes }))
    .handler(proxy);
};
