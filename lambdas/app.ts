import type { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import type { Context } from 'aws-lambda';
import { PROXY_METRIC_UNITS, ProxyMetric } from '../lib/metrics.ts';
import { InvalidRequestError, isDatabaseTimeout, NotFoundError } from './errors.ts';
import { Billing } from './gateway/billing.ts';
import { createKeyCache, LookupCache } from './gateway/cache.ts';
import type { GatewayConfig } from './gateway/config.ts';
import { estimateCountTokens } from './gateway/count-tokens.ts';
import { Exchange } from './gateway/exchange.ts';
import { adapterFor, type ForwardDeps, forward, type StreamingResponse } from './gateway/forward.ts';
import { type KeyUsageReader, keyLimitState, keyView } from './gateway/key-budget.ts';
import { modelList } from './gateway/models.ts';
import { createReach, type ReachOptions } from './gateway/reach.ts';
import { ledgerSkOf } from './gateway/request-id.ts';
import { type MetricsSink, recordRequest } from './gateway/request-metrics.ts';
import { modelsForKey } from './gateway/routing.ts';
import { type GatewayState, peekState, required, stateOf } from './gateway/state.ts';
import { generationView, walletPageParams, walletView } from './gateway/wallet-view.ts';
import { authenticateKey } from './middlewares/authenticate.ts';
import { errorResponder } from './middlewares/error-responder.ts';
import { guardSpend } from './middlewares/guard-spend.ts';
import { originGuard } from './middlewares/origin-guard.ts';
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
import type { WalletStore } from './store/wallets.ts';
import type { Route } from './vocabulary.ts';

export interface ProxyDeps {
  keys: Pick<KeyStore, 'get'>;
  routes: Pick<RouteStore, 'list'>;
  wallets: Pick<
    WalletStore,
    | 'get'
    | 'hold'
    | 'settle'
    | 'checkpoint'
    | 'ledger'
    | 'ledgerRow'
    | 'keySpend'
    | 'checkpointLeased'
    | 'settleLeased'
    | 'openLease'
    | 'closeLease'
  >;
  /** What a key spent in all and this day, week and month (`GET /v1/key`): services/keys.ts `keyUsage`. */
  keyUsage: KeyUsageReader;
  counters: Pick<CounterStore, 'countRequest' | 'countTokens'>;
  credentials: CredentialSource;
  reporter: Reporter;
  logger: Logger;
  config: GatewayConfig;
  /** Where default provider base URLs are read from (OPENAI_BASE_URL, ANTHROPIC_BASE_URL). */
  env: NodeJS.ProcessEnv;
  /** Powertools Metrics (EMF) on AWS; absent locally. */
  metrics?: MetricsSink;
  /** What upstreams may be reached (gateway/reach.ts): strict by default; `{ local: true }` under `npm start`. */
  reach?: ReachOptions;
  /**
   * Behind the shield: the origin header's value, which every request must carry (middlewares/origin-guard.ts).
   * Absent locally and without the shield: no check.
   */
  originSecret?: () => Promise<string>;
}

const ROUTE_TABLE = 'all';
const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * Builds the proxy's middy chain. Order matters: the error responder is `use`d first so it sees
 * every error last; auth runs before body parsing; validation runs before any database or upstream
 * call. After routing, the handler hands the request to an {@link Exchange} (gateway/exchange.ts),
 * which holds, forwards, streams and settles once the upstream is done; `requestEnd` waits for it.
 *
 * @example export const handler = createProxyHandler(await proxyDepsFromEnv());
 */
export const createProxyHandler = (deps: ProxyDeps) => {
  const { config, logger } = deps;
  const keyCache = createKeyCache(config);
  const routeCache = new LookupCache<readonly Route[]>({ ttlMs: config.routeCacheTtlMs, max: 1 });
  const lookupKey = (keyHash: string) => keyCache.get(keyHash, () => deps.keys.get(keyHash));
  const routes = async () => (await routeCache.get(ROUTE_TABLE, () => deps.routes.list())) ?? [];

  const forwardDeps: ForwardDeps = {
    credentials: deps.credentials,
    env: deps.env,
    reach: createReach(deps.reach),
    headersTimeoutMs: config.upstreamHeadersTimeoutMs,
    idleTimeoutMs: config.upstreamIdleTimeoutMs,
    clientTimeoutMs: config.clientTimeoutMs,
  };
  const billing = new Billing({
    wallets: deps.wallets,
    settleRetryDelaysMs: config.settleRetryDelaysMs,
    ...(config.leases && { leases: config.leases }),
    onLeaseCloseFailure: (lease, error) =>
      logger.error('closing a credit lease failed; the sweeper closes it', { lease: lease.row, error }),
    onSettleFailure: (row, settlement, error) => {
      logger.error('settle failed; the hold stays pending for the sweeper', { row, settlement, error });
      deps.metrics?.addMetric(ProxyMetric.SettleFailures, PROXY_METRIC_UNITS.SettleFailures, 1);
      if (isDatabaseTimeout(error)) {
        deps.metrics?.addMetric(ProxyMetric.DatabaseTimeouts, PROXY_METRIC_UNITS.DatabaseTimeouts, 1);
      }
    },
    onAlreadySettled: (row, settlement) => {
      logger.warn('settle found the hold already final (charged by the sweeper); nothing charged now', {
        requestId: row.requestId,
        accountId: row.accountId,
        hold: row.hold,
        wouldHaveCharged: settlement.cost,
      });
    },
  });
  // Behind the shield, a request that skipped CloudFront is refused before anything else, and counted.
  const countOriginRejected = () =>
    deps.metrics?.addMetric(ProxyMetric.OriginRejected, PROXY_METRIC_UNITS.OriginRejected, 1);
  const record = (outcome: Parameters<typeof recordRequest>[1]) => {
    if (deps.metrics) recordRequest(deps.metrics, outcome);
  };
  const exchangeDeps = {
    billing,
    forward: forwardDeps,
    counters: deps.counters,
    logger,
    checkpointIntervalMs: config.checkpointIntervalMs,
  };

  /** `GET /v1/wallet`: the key's account, its balance and a page of its ledger. */
  const wallet = async (event: ProxyEvent, state: GatewayState): Promise<StreamingResponse> => {
    const { accountId } = required(state, 'auth', 'wallet').key;
    const page = walletPageParams(event.queryStringParameters);
    const [found, ledger] = await Promise.all([deps.wallets.get(accountId), deps.wallets.ledger(accountId, page)]);
    if (!found) throw new NotFoundError(`Account '${accountId}' has no wallet`);
    return {
      statusCode: 200,
      headers: { ...JSON_HEADERS, 'x-request-id': state.requestId },
      body: JSON.stringify(walletView(found, ledger.rows, ledger.nextCursor)),
    };
  };

  /** `GET /v1/key`: the calling key, its spend limit and what it spent (OpenRouter's `GET /api/v1/key`). */
  const keyInfo = async (state: GatewayState): Promise<StreamingResponse> => {
    const { key } = required(state, 'auth', 'key');
    const now = new Date();
    const [limit, usage] = await Promise.all([keyLimitState(deps.wallets, key, now), deps.keyUsage(key, now)]);
    return {
      statusCode: 200,
      headers: { ...JSON_HEADERS, 'x-request-id': state.requestId },
      body: JSON.stringify(keyView(key, limit, usage)),
    };
  };

  /**
   * `GET /v1/generation?id=`: the ledger row of one request of the caller's own account. The id
   * names the row's sort key (gateway/request-id.ts), which is read in the caller's partition only:
   * another account's request is not found there, exactly like one that never was.
   */
  const generation = async (event: ProxyEvent, state: GatewayState): Promise<StreamingResponse> => {
    const { accountId } = required(state, 'auth', 'generation').key;
    const id = event.queryStringParameters?.['id'];
    if (id === undefined || id === '') {
      const error = new InvalidRequestError("Give the request's id: GET /v1/generation?id=<its x-request-id>");
      error.param = 'id';
      throw error;
    }
    const sk = ledgerSkOf(id);
    const row = sk === undefined ? undefined : await deps.wallets.ledgerRow(accountId, sk);
    if (row?.kind !== 'usage') {
      throw new NotFoundError(
        `No request '${id.slice(0, 120)}' in this key's account. Use the x-request-id of one of its own requests.`,
      );
    }
    return {
      statusCode: 200,
      headers: { ...JSON_HEADERS, 'x-request-id': state.requestId },
      body: JSON.stringify(generationView(row)),
    };
  };

  /** `GET /v1/models`: the models this key may use, in the envelope of the client's protocol. */
  const models = async (state: GatewayState): Promise<StreamingResponse> => ({
    statusCode: 200,
    headers: { ...JSON_HEADERS, 'x-request-id': state.requestId },
    body: JSON.stringify(
      modelList(modelsForKey(await routes(), required(state, 'auth', 'models').key), state.protocol),
    ),
  });

  /** `POST /v1/messages/count_tokens`: never billed; Anthropic routes count upstream, others estimate here. */
  const countTokens = async (event: ProxyEvent, state: GatewayState): Promise<StreamingResponse> => {
    const { route } = required(state, 'routing', 'count_tokens');
    const { body } = required(state, 'request', 'count_tokens');
    // Free, but not for an account past its credit limit: 402 everywhere, as for a request.
    await billing.assertSolvent(required(state, 'auth', 'count_tokens').key.accountId);
    if (adapterFor(route).protocol !== 'anthropic') {
      return {
        statusCode: 200,
        headers: { ...JSON_HEADERS, 'x-request-id': state.requestId },
        body: JSON.stringify(estimateCountTokens(body)),
      };
    }
    const { anthropicBeta } = required(state, 'spend', 'count_tokens');
    const clientHeaders = { ...event.headers, 'anthropic-beta': anthropicBeta };
    const { response } = await forward(
      { operation: 'count_tokens', route, body, maxOutputTokens: 0, clientHeaders },
      forwardDeps,
    );
    return { ...response, headers: { ...response.headers, 'x-request-id': state.requestId } };
  };

  const proxy = async (event: ProxyEvent, context: Context): Promise<StreamingResponse> => {
    const state = stateOf(context);
    if (state.endpoint === 'wallet') return wallet(event, state);
    if (state.endpoint === 'key') return keyInfo(state);
    if (state.endpoint === 'generation') return generation(event, state);
    if (state.endpoint === 'models') return models(state);
    if (state.endpoint === 'count_tokens') return countTokens(event, state);
    const exchange = new Exchange(exchangeDeps, {
      requestId: state.requestId,
      startedAt: state.startedAt,
      startedPerf: state.startedPerf,
      key: required(state, 'auth', 'proxy').key,
      request: required(state, 'request', 'proxy'),
      routing: required(state, 'routing', 'proxy'),
      spend: required(state, 'spend', 'proxy'),
      clientHeaders: event.headers,
      // Settle with what is known before the invocation ends or the sweeper may take the hold.
      deadlineAt:
        Math.min(Date.now() + context.getRemainingTimeInMillis(), state.startedAt + config.holdExpiryMs) -
        config.deadlineMarginMs,
    });
    state.exchange = exchange;
    const response = await exchange.respond();
    state.status = response.statusCode;
    // Recorded when the exchange ends, not when the client's response does: a client that never
    // takes the last bytes keeps the invocation open, but cannot hold back the metrics.
    state.recorded = exchange.ended
      .then((report) => record({ status: response.statusCode, report }))
      .catch((error: unknown) => logger.error('recording the request failed', { requestId: state.requestId, error }));
    return response;
  };

  const handler = middy<ProxyEvent, StreamingResponse, Error, Context>({
    executionMode: executionModeStreamifyResponse,
    timeoutEarlyInMillis: 0,
    // Runs once the client's response has ended (or the client left): the invocation stays alive
    // until the upstream is read to its end, the hold settled and every report out, off the client's clock.
    requestEnd: async (request) => {
      const state = peekState(request.context);
      void state?.exchange?.finish(); // the client's response has ended: settle now
      if (state?.recorded) await state.recorded;
      else {
        const report = await state?.exchange?.finish();
        record({ status: state ? (state.status ?? 200) : 404, failure: state?.failure, ...(report ? { report } : {}) });
      }
      await deps.reporter.flush();
    },
  })
    .use(errorResponder({ logger, reporter: deps.reporter }))
    .use(deps.originSecret ? [originGuard({ secret: deps.originSecret, onReject: countOriginRejected })] : [])
    .use(requestContext())
    .use(authenticateKey({ lookup: lookupKey }))
    .use(parseBody({ maxBodyBytes: config.maxBodyBytes }))
    .use(routeRequest({ routes }))
    .use(guardSpend())
    .use(rateLimit({ counters: deps.counters }))
    .handler(proxy);
  return Object.assign(handler, {
    // A server that stops (npm start's Ctrl-C) gives its credit leases back rather than leave them to the sweeper.
    closeLeases: () => billing.closeLeases(),
    /**
     * Forgets the cached keys (found and unknown) and the route table, so an operator's change is
     * seen by the next request. Only lookups: leases and wallet snapshots hold money and stay.
     * Called by the local gateway's control endpoint only; Lambda instances wait out the TTLs.
     */
    flushCaches: () => {
      keyCache.clear();
      routeCache.clear();
    },
  });
};
