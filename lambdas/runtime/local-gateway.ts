import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { createProxyHandler, type ProxyDeps } from '../app.ts';
import { configFromEnv, type GatewayConfig } from '../gateway/config.ts';
import { envCredentials } from '../providers/credentials.ts';
import type { Resolve } from '../providers/http.ts';
import { createReporter, type ReportSink } from '../reports/reporter.ts';
import type { Stores } from '../store/index.ts';
import { createFunctionUrlServer, installLambdaGlobals } from './function-url.ts';

export interface LocalGatewayOptions {
  stores: Stores;
  /** Where configuration reports go (console + reports.log for `npm start`). */
  reportSink: ReportSink;
  /** Provider credentials and base URLs are read from here. */
  env?: NodeJS.ProcessEnv;
  config?: Partial<GatewayConfig>;
  /** How upstream host names resolve (tests stub it); loopback upstreams are always allowed here. */
  resolve?: Resolve;
  logger?: Logger;
  metrics?: ProxyDeps['metrics'];
  host?: string;
  /** 0: a free port. */
  port?: number;
}

export interface LocalGateway {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * The proxy handler — the very one deployed to Lambda — behind a local function-URL emulation.
 * Used by `npm start`, the integration tests and the benchmark.
 *
 * @example
 * const gateway = await startLocalGateway({ stores, reportSink, port: 8787 });
 * console.log(`listening on ${gateway.url}`);
 */
export const startLocalGateway = async (options: LocalGatewayOptions): Promise<LocalGateway> => {
  installLambdaGlobals();
  const env = options.env ?? process.env;
  const logger = options.logger ?? new Logger({ serviceName: 'tollgate-proxy', logLevel: 'WARN' });
  const deps: ProxyDeps = {
    keys: options.stores.keys,
    routes: options.stores.routes,
    wallets: options.stores.wallets,
    counters: options.stores.counters,
    credentials: envCredentials(env),
    reporter: createReporter(options.reportSink, {
      onPublishError: (error) => logger.error('report publish failed', { error }),
    }),
    logger,
    config: { ...configFromEnv(env), ...options.config },
    env,
    // The local gateway talks to upstreams on this machine (fake ones in tests): loopback is allowed.
    reach: { local: true, ...(options.resolve ? { resolve: options.resolve } : {}) },
    ...(options.metrics ? { metrics: options.metrics } : {}),
  };
  const server = createFunctionUrlServer({ handler: createProxyHandler(deps), functionName: 'tollgate-proxy-local' });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', failed);
      listening();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((closed) => {
        server.close(() => closed());
        server.closeAllConnections();
      }),
  };
};
