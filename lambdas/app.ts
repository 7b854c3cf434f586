import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import type { Context } from 'aws-lambda';
import { PROXY_METRIC_UNITS, ProxyMetric } from '../lib/metrics.ts';
import { BillingError, ConfigurationError, NotFoundError, UpstreamConnectionError, UpstreamError } from './errors.ts';
import { Billing } from './gateway/billing.ts';
import { TtlCache } from './gateway/cache.ts';
import type { GatewayConfig } from './gateway/config.ts';
import { estimateCountTokens } from './gateway/count-tokens.ts';
import { adapterFor, type Completion, forward, type StreamingResponse } from './gateway/forward.ts';
import { modelList } from './gateway/models.ts';
import { windowStart } from './gateway/rate-limit.ts';
import { modelsForKey } from './gateway/routing.ts';
import { type GatewayState, isOperation, peekState, stateOf } from './gateway/state.ts';
import { walletPageParams, walletView } from './gateway/wallet-view.ts';
import { authenticateKey } from './middlewares/authenticate.ts';
import { errorResponder } from './middlewares/error-responder.ts';
import { holdFunds } from './middlewares/hold-funds.ts';
import { parseBody } from './middlewares/parse-body.ts';
import { rateLimit } from './middlewares/rate-limit.ts';
import { requestContext } from './middlewares/request-context.ts';
import { routeRequest } from './middlewares/route-request.ts';
import type { ProxyEvent } from './middlewares/types.ts';
import type { CredentialSource } from './providers/credentials.ts';
import type { Reporter } from './reports/reporter.ts';
import type { CounterStore } from './store/counters.ts';
import type { KeyStore } from './store/keys.ts';
import type { RouteStore } from './store/routes.ts';
import type { Settlement, WalletStore } from './store/wallets.ts';
import type { KeyRecord, Route } from './vocabulary.ts';

export interface ProxyDeps {
  keys: Pick<KeyStore, 'get'>;
  routes: Pick<RouteStore, 'list'>;
  wallets: Pick<WalletStore, 'get' | 'hold' | 'settle' | 'ledger'>;
  counters: Pick<CounterStore, 'countRequest' | 'countTokens'>;
  credentials: CredentialSource;
  reporter: Reporter;
  logger: Logger;
  config: GatewayConfig;
  /** Where default provider base URLs are read from (OPENAI_BASE_URL, ANTHROPIC_BASE_URL). */
  env: NodeJS.ProcessEnv;
  /** Powertools Metrics (EMF) on AWS; absent locally. */
  metrics?: Pick<Metrics, 'addMetric' | 'publishStoredMetrics'>;
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

  const billing = new Billing({
    wallets: deps.wallets,
    settleRetryDelaysMs: config.settleRetryDelaysMs,
    onSettleFailure: (row, settlement, error) => {
      logger.error('settle failed; the hold stays pending for the sweeper', { row, settlement, error });
      count(ProxyMetric.SettleFailures, 1);
    },
  });

  const count = (name: ProxyMetric, value: number) => deps.metrics?.addMetric(name, PROXY_METRIC_UNITS[name], value);

  /** One request's metrics (DESIGN §7): its status, what failed, upstream latency, our overhead, money. */
  const measure = (state: GatewayState, settlement: Settlement | undefined) => {
    if (!deps.metrics) return;
    const failure = state.failure;
    const status = state.status ?? 200;
    count(ProxyMetric.Requests, 1);
    if (status >= 500) count(ProxyMetric.Errors5xx, 1);
    if (failure instanceof ConfigurationError) count(ProxyMetric.ConfigurationErrors, 1);
    if (failure instanceof UpstreamConnectionError) count(ProxyMetric.UpstreamConnectionFailures, 1);
    if (failure instanceof BillingError) count(ProxyMetric.HoldsRefused, 1);
    if (state.forwarded)
      count(ProxyMetric.UpstreamTtfbMs, state.forwarded.timing.headersAt - state.forwarded.timing.sentAt);
    if (state.overheadMs !== undefined) count(ProxyMetric.OverheadMs, state.overheadMs);
    if (settlement?.usage) {
      const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens } = settlement.usage;
      count(ProxyMetric.TokensBilled, inputTokens + outputTokens + cacheReadTokens + cacheWriteTokens);
    }
    if (settlement) count(ProxyMetric.CostBilledNanoUsd, settlement.cost);
    deps.metrics.publishStoredMetrics();
  };

  /** After the client's response has ended: read the upstream to its end, settle, flush reports. */
  const finish = async (state: GatewayState) => {
    const { hold, forwarded, failure } = state;
    let settlement: Settlement | undefined;
    if (hold) {
      const result: Completion | { outcome: 'upstream_error' | 'rejected' } = forwarded
        ? await forwarded.completion
        : {
            outcome:
              failure instanceof UpstreamError || failure instanceof UpstreamConnectionError
                ? 'upstream_error'
                : 'rejected',
          };
      settlement = await billing.settle(hold, result);
      logger.info('request settled', {
        requestId: state.requestId,
        accountId: hold.row.accountId,
        keyId: hold.row.keyId,
        model: hold.row.model,
        outcome: result.outcome,
        hold: hold.row.hold,
        cost: settlement?.cost,
        usage: settlement?.usage,
        durationMs: Date.now() - state.startedAt,
      });
    }
    const key = state.auth?.key;
    if (settlement?.usage && key?.tpm !== undefined) {
      const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens } = settlement.usage;
      await deps.counters
        .countTokens(
          key.keyId,
          windowStart(state.startedAt),
          inputTokens + outputTokens + cacheReadTokens + cacheWriteTokens,
        )
        .catch((error: unknown) =>
          logger.warn('token count for the rate limit failed', { requestId: state.requestId, error }),
        );
    }
    measure(state, settlement);
    await deps.reporter.flush();
  };

  const wallet = async (event: ProxyEvent, state: GatewayState): Promise<StreamingResponse> => {
    const accountId = state.auth?.key.accountId ?? '';
    const page = walletPageParams(event.queryStringParameters);
    const [found, ledger] = await Promise.all([deps.wallets.get(accountId), deps.wallets.ledger(accountId, page)]);
    if (!found) throw new NotFoundError(`Account '${accountId}' has no wallet`);
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-request-id': state.requestId },
      body: JSON.stringify(walletView(found, ledger.rows, ledger.nextCursor)),
    };
  };

  /**
   * Forwards to the chosen route, then to its fallbacks in order while an upstream answers 429 or
   * 5xx or cannot be reached — all before the first byte, so the client sees one answer. The hold
   * is billed at the route that answered (`x-tollgate-route` names it).
   */
  const forwardWithFallbacks = async (event: ProxyEvent, state: GatewayState, signal: AbortSignal) => {
    const operation = state.endpoint;
    const { body } = state;
    if (!state.route || !body || !isOperation(operation)) throw new Error('request reached forwarding unrouted');
    const chain = [state.route, ...(state.fallbacks ?? [])];
    for (let index = 0; ; index += 1) {
      const route = chain[index] as Route;
      try {
        const forwarded = await forward(
          { operation, route, body, clientHeaders: event.headers, signal },
          {
            credentials: deps.credentials,
            env: deps.env,
            headersTimeoutMs: config.upstreamHeadersTimeoutMs,
            idleTimeoutMs: config.upstreamIdleTimeoutMs,
          },
        );
        if (state.hold) state.hold.answeredBy = route;
        state.answeredBy = route;
        return forwarded;
      } catch (error) {
        const retryable =
          error instanceof UpstreamConnectionError ||
          (error instanceof UpstreamError && (error.status === 429 || error.status >= 500));
        if (!retryable || index === chain.length - 1 || signal.aborted) throw error;
        logger.warn('falling back', { requestId: state.requestId, from: route.model, to: chain[index + 1]?.model });
      }
    }
  };

  const proxy = async (event: ProxyEvent, context: Context): Promise<StreamingResponse> => {
    const state = stateOf(context);
    if (state.endpoint === 'wallet') return wallet(event, state);
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
    if (!state.route || !state.body || !isOperation(state.endpoint)) {
      throw new Error(`request reached the handler unrouted (${state.endpoint})`);
    }
    if (state.endpoint === 'count_tokens' && adapterFor(state.route).protocol !== 'anthropic') {
      return {
        statusCode: 200,
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(estimateCountTokens(state.body)),
      };
    }
    const cancel = new AbortController();
    const forwarding = forwardWithFallbacks(event, state, cancel.signal);
    forwarding.catch(() => undefined); // awaited below; the hold may fail first
    // A hold that overlapped the upstream call must commit before the first byte; if it is refused,
    // the upstream call is cancelled and the client gets the 402.
    await state.hold?.committed.catch((error: unknown) => {
      cancel.abort(error);
      void forwarding.then(
        (forwarded) => forwarded.completion,
        () => undefined,
      );
      throw error;
    });
    const forwarded = await forwarding;
    state.forwarded = forwarded;
    // The gateway's own time on this request so far: before the upstream call went out, and from
    // its headers to our response. The time spent waiting on the upstream is not ours.
    const { sentAt, headersAt } = forwarded.timing;
    const overheadMs = sentAt - state.startedPerf + (performance.now() - headersAt);
    state.overheadMs = overheadMs;
    state.status = forwarded.response.statusCode;
    return {
      ...forwarded.response,
      headers: {
        ...forwarded.response.headers,
        ...headers,
        'x-tollgate-route': state.answeredBy?.model ?? state.route.model,
        'x-tollgate-overhead-ms': overheadMs.toFixed(3),
      },
    };
  };

  return middy<ProxyEvent, StreamingResponse, Error, Context>({
    executionMode: executionModeStreamifyResponse,
    timeoutEarlyInMillis: 0,
    // Runs once the client's response has ended (or the client left): the invocation stays alive
    // until the upstream is read to its end and every report is out, off the client's clock.
    requestEnd: async (request) => {
      const state = peekState(request.context);
      if (state) await finish(state);
    },
  })
    .use(errorResponder({ logger, reporter: deps.reporter }))
    .use(requestContext())
    .use(authenticateKey({ lookup: lookupKey }))
    .use(parseBody({ maxBodyBytes: config.maxBodyBytes }))
    .use(routeRequest({ routes }))
    .use(rateLimit({ counters: deps.counters }))
    .use(holdFunds({ billing }))
    .handler(proxy);
};
