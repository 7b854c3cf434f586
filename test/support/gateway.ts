import { Logger } from '@aws-lambda-powertools/logger';
import type { GatewayConfig } from '../../lambdas/gateway/config.ts';
import type { ConfigurationReport } from '../../lambdas/reports/reporter.ts';
import { type LocalGateway, type LocalGatewayOptions, startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import type { TestDatabase } from './dynamo.ts';

export interface TestGateway extends LocalGateway {
  /** Configuration reports published so far. */
  reports: ConfigurationReport[];
  /** POSTs `body` as JSON to `path` with the key `secret` (and any extra headers or signal). */
  post: (
    secret: string,
    path: string,
    body: Record<string, unknown>,
    init?: { headers?: Record<string, string>; signal?: AbortSignal },
  ) => Promise<Response>;
}

/** The real proxy handler behind the function-URL emulation, on the test's tables; caches off. */
export const startTestGateway = async (
  db: TestDatabase,
  env: NodeJS.ProcessEnv,
  config: Partial<GatewayConfig> = {},
  extra: Pick<LocalGatewayOptions, 'metrics' | 'logger' | 'resolve'> = {},
): Promise<TestGateway> => {
  const reports: ConfigurationReport[] = [];
  const gateway = await startLocalGateway({
    stores: db.stores,
    reportSink: { publish: async (report) => void reports.push(report) },
    env,
    config: { keyCacheTtlMs: 0, negativeKeyCacheTtlMs: 0, routeCacheTtlMs: 0, ...config },
    logger: extra.logger ?? new Logger({ serviceName: 'tollgate-test', logLevel: 'SILENT' }),
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
    ...(extra.resolve ? { resolve: extra.resolve } : {}),
  });
  const post: TestGateway['post'] = (secret, path, body, init = {}) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...init.headers },
      body: JSON.stringify(body),
      ...(init.signal ? { signal: init.signal } : {}),
    });
  return { ...gateway, reports, post };
};

/** The environment that points both providers at a fake upstream, with throwaway keys. */
export const providerEnv = (upstream: { url: string }): NodeJS.ProcessEnv => ({
  OPENAI_API_KEY: 'k',
  OPENAI_BASE_URL: `${upstream.url}/v1`,
  ANTHROPIC_API_KEY: 'k',
  ANTHROPIC_BASE_URL: upstream.url,
});
