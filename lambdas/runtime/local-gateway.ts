import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { createProxyHandler, type ProxyDeps } from '../app.ts';
import { type ConsoleDeps, createConsoleHandler } from '../console/app.ts';
import { CONSOLE_PREFIX } from '../console/http.ts';
import { configFromEnv, type GatewayConfig } from '../gateway/config.ts';
import type { Mailer } from '../mail/mailer.ts';
import { envCredentials } from '../providers/credentials.ts';
import type { Resolve } from '../providers/http.ts';
import { createReporter, type ReportSink } from '../reports/reporter.ts';
import { keyUsageReader } from '../services/keys.ts';
import { paymentsFromEnv } from '../services/payments.ts';
import type { Stores } from '../store/index.ts';
import { createFunctionUrlListener, installLambdaGlobals } from './function-url.ts';
import { isControlPath, newControlToken, serveControl } from './local-control.ts';

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
  /** The console under `/console`: where its e-mail goes (default: printed), and its timings for tests. */
  console?: { mailer?: Mailer } & Partial<
    Pick<ConsoleDeps, 'session' | 'signInFloorMs' | 'now' | 'payments' | 'checkoutOrigin'>
  >;
}

/** Local mode without an outbox: e-mails are printed. */
const printedMail: Mailer = {
  send: async (mail) => console.log(`[mail] to ${mail.to}: ${mail.subject}\n${mail.text}`),
};

export interface LocalGateway {
  url: string;
  port: number;
  server: Server;
  /** The token of the control endpoints (runtime/local-control.ts); `npm start` publishes it in gateway.json. */
  controlToken: string;
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
    keyUsage: keyUsageReader(options.stores),
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
  const proxyHandler = createProxyHandler(deps);
  const proxy = createFunctionUrlListener({ handler: proxyHandler, functionName: 'tollgate-proxy-local' });
  // The console's public URLs are known only once the port is: its handler is built after listen().
  let consoleListener: ReturnType<typeof createFunctionUrlListener> | undefined;
  const controlToken = newControlToken();
  const control = { token: controlToken, flushCaches: proxyHandler.flushCaches, env };
  const server = createServer({ noDelay: true }, (req, res) => {
    const path = req.url ?? '/';
    if (isControlPath(path)) {
      serveControl(req, res, control).catch((error: unknown) => {
        logger.error('local control request failed', { error });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    const forConsole =
      path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`) || path.startsWith(`${CONSOLE_PREFIX}?`);
    if (forConsole && consoleListener) {
      // The console changes keys (revoke, edit, limits) in this same process: once such a change has
      // been made (its form answers 303), the proxy forgets what it cached, so the change holds for the
      // very next request (as the CLI's). Other POSTs (sign-in, refused forms) leave the caches alone.
      if (req.method === 'POST' && path.startsWith(`${CONSOLE_PREFIX}/keys`)) {
        res.once('finish', () => {
          if (res.statusCode === 303) proxyHandler.flushCaches();
        });
      }
      consoleListener(req, res);
      return;
    }
    proxy(req, res);
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', failed);
      listening();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const { mailer = printedMail, ...consoleOptions } = options.console ?? {};
  const payments = paymentsFromEnv(env);
  consoleListener = createFunctionUrlListener({
    functionName: 'tollgate-console-local',
    handler: createConsoleHandler({
      stores: options.stores,
      mailer,
      // npm start's logger (one line an error, the entry in gateway.log) for the console too.
      logger: options.logger
        ? options.logger.createChild({ serviceName: 'tollgate-console' })
        : new Logger({ serviceName: 'tollgate-console', logLevel: 'WARN' }),
      consoleUrl: `${url}${CONSOLE_PREFIX}`,
      gatewayUrl: url,
      // Card payments when STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set (README, Card payments).
      payments: async () => payments,
      reporter: createReporter(options.reportSink, {
        onPublishError: (error) => logger.error('report publish failed', { error }),
      }),
      ...consoleOptions,
    }),
  });
  return {
    url,
    port,
    server,
    controlToken,
    close: async () => {
      await new Promise<void>((closed) => {
        server.close(() => closed());
        server.closeAllConnections();
      });
      // Requests have ended: their credit leases go back to the wallets now, not at the sweeper's.
      await proxyHandler
        .closeLeases()
        .catch((error: unknown) => logger.warn('closing credit leases failed', { error }));
    },
  };
};
