import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DEFAULT_HOLD_EXPIRY_MS, sweepExpiredHolds } from '../gateway/sweep.ts';
import type { Mailer } from '../mail/mailer.ts';
import { OutboxMailer } from '../mail/outbox.ts';
import { PROVIDERS } from '../providers/index.ts';
import { LocalReportSink } from '../reports/local.ts';
import { sendPendingAlerts } from '../services/alerts.ts';
import { describeProgress } from '../store/dynamodb-local.ts';
import {
  type LocalDatabase,
  openLocalDatabase,
  readGatewayInfo,
  removeGatewayInfo,
  writeGatewayInfo,
} from '../store/local-database.ts';
import { type LocalGateway, startLocalGateway } from './local-gateway.ts';
import { LocalLogger } from './local-logger.ts';
import { seedIfEmpty } from './seed.ts';

export interface StartLocalOptions {
  dataDir: string;
  port: number;
  host: string;
  env: NodeJS.ProcessEnv;
  print?: (line: string) => void;
}

export interface RunningLocal {
  gateway: LocalGateway;
  database: LocalDatabase;
  stop(): Promise<void>;
}

/** What `npm start` says when its port is taken; `PORT` is how bin/local.ts is told another one. */
export const portInUseMessage = (port: number): string =>
  `Port ${port} is in use (another \`npm start\`?): stop it or set PORT=… to another port.`;

const portInUse = (error: unknown, port: number): unknown =>
  (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? new Error(portInUseMessage(port), { cause: error }) : error;

/**
 * Fails when `host:port` cannot be listened on, in milliseconds: checked before DynamoDB Local's
 * seconds of Java start-up are spent. Port 0 (any free port) always passes.
 */
export const assertPortFree = (host: string, port: number): Promise<void> =>
  new Promise((done, fail) => {
    if (port === 0) {
      done();
      return;
    }
    const probe = createServer();
    probe.once('error', (error) => fail(portInUse(error, port)));
    probe.listen(port, host, () => probe.close(() => done()));
  });

/** Prints `  still <doing>… N s` every 2 s until stopped, so no wait goes untold for longer. */
const keepTelling = (print: (line: string) => void, doing: string): (() => void) => {
  const since = performance.now();
  const timer = setInterval(
    () => print(`  still ${doing}… ${Math.round((performance.now() - since) / 1000)} s`),
    2_000,
  );
  return () => clearInterval(timer);
};

/** Which providers have their default credential in the environment, for the start-up banner. */
const providerStatus = (env: NodeJS.ProcessEnv): string[] =>
  Object.values(PROVIDERS).flatMap((adapter) => {
    if (!adapter.defaultCredential) return [];
    const set = Boolean(env[adapter.defaultCredential]);
    const base = adapter.defaultBaseUrl ? (env[adapter.defaultBaseUrl.env] ?? adapter.defaultBaseUrl.url) : '';
    return [
      set
        ? `  ${adapter.kind.padEnd(10)} ready (${adapter.defaultCredential} set, ${base})`
        : `  ${adapter.kind.padEnd(10)} no key: its models answer 500 configuration_error until you set ${adapter.defaultCredential}`,
    ];
  });

/**
 * The local stand-in for the sweeper function's schedule: settles holds no live request will settle,
 * then sends the low-balance alerts to the outbox.
 */
const startSweeper = (
  database: LocalDatabase,
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
  alerts: { mailer: Mailer; consoleUrl: string },
): NodeJS.Timeout => {
  const everyMs = Number(env['TOLLGATE_SWEEP_INTERVAL'] ?? 60) * 1000;
  const expiryMs = env['TOLLGATE_HOLD_EXPIRY'] ? Number(env['TOLLGATE_HOLD_EXPIRY']) * 1000 : DEFAULT_HOLD_EXPIRY_MS;
  const timer = setInterval(() => {
    sweepExpiredHolds(database.stores.wallets, { expiryMs })
      .then(({ released, charged }) => {
        if (released > 0) print(`[sweeper] released ${released} expired hold(s)`);
        if (charged > 0) print(`[sweeper] charged ${charged} expired hold(s) their last checkpoint`);
      })
      .then(() => sendPendingAlerts({ ...database.stores, ...alerts }))
      .then(({ alerts: sent, mails }) => {
        if (sent > 0) print(`[sweeper] sent ${sent} low-balance alert(s) in ${mails} e-mail(s)`);
      })
      .catch((error: unknown) => print(`[sweeper] failed: ${(error as Error).message}`));
  }, everyMs);
  timer.unref();
  return timer;
};

/**
 * `npm start`: DynamoDB Local on the data dir, tables from the shared schemas, first-start seeding,
 * and the proxy handler behind the function-URL emulation. `stop()` ends all of it.
 */
export const startLocal = async ({
  dataDir,
  port,
  host,
  env,
  print = console.log,
}: StartLocalOptions): Promise<RunningLocal> => {
  const began = performance.now();
  const dir = resolve(dataDir);
  const running = readGatewayInfo(dir);
  if (running && running.pid !== process.pid) {
    try {
      process.kill(running.pid, 0);
      throw new Error(
        `A local gateway (pid ${running.pid}) is already running on this data dir (${dir}, port ${running.port}). Stop it first, or set TOLLGATE_DATA_DIR to another folder.`,
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      removeGatewayInfo(dir); // left behind by a gateway that was killed
    }
  }
  await assertPortFree(host, port);
  // After Java: the tables, and on a first start the catalogue and the demo account (seconds on a busy machine).
  let stopTelling = (): void => {};
  const database = await openLocalDatabase({
    dataDir: dir,
    onProgress: (progress) => {
      print(describeProgress(progress, join(dir, 'dynamodb')));
      if (progress.phase === 'ready') stopTelling = keepTelling(print, 'preparing the tables and data');
    },
  }).catch((error: unknown) => {
    stopTelling();
    throw error;
  });
  let gateway: LocalGateway;
  let sweeper: NodeJS.Timeout | undefined;
  const mailer = new OutboxMailer(join(dir, 'outbox.log'), print);
  try {
    const seed = await seedIfEmpty(database.stores);
    gateway = await startLocalGateway({
      stores: database.stores,
      reportSink: new LocalReportSink(join(dir, 'reports.log')),
      env,
      host,
      port,
      console: { mailer },
      // One line an error here; the entry whole (stack included) in gateway.log.
      logger: new LocalLogger(
        { serviceName: 'tollgate-proxy', logLevel: 'WARN' },
        { print, file: join(dir, 'gateway.log') },
      ),
    }).catch((error: unknown) => {
      throw portInUse(error, port); // taken since assertPortFree
    });
    writeGatewayInfo(dir, {
      pid: process.pid,
      dynamoEndpoint: database.endpoint,
      port: gateway.port,
      startedAt: new Date().toISOString(),
      controlToken: gateway.controlToken,
    });
    gateway.server.on('request', (request, response) => {
      const started = performance.now();
      response.once('close', () => {
        const ms = (performance.now() - started).toFixed(1);
        print(
          `${request.method} ${(request.url ?? '').replace(/([?&]token=)[^&]+/, '$1…')} → ${response.statusCode} (${ms} ms)`,
        );
      });
    });
    stopTelling();
    print('');
    print(`Tollgate is listening on ${gateway.url}  (ready in ${((performance.now() - began) / 1000).toFixed(1)} s)`);
    print(`  OpenAI base URL:    ${gateway.url}/v1`);
    print(`  Anthropic base URL: ${gateway.url}`);
    print(
      `  Console:            ${gateway.url}/console  (sign-in links are printed here and kept in ${join(dir, 'outbox.log')})`,
    );
    print('Providers:');
    for (const line of providerStatus(env)) print(line);
    print('  echo       ready (built-in, offline): model tollgate-echo');
    if (seed.seeded) {
      print('');
      print(`First start: loaded ${seed.routes} routes and created account 'demo' with $5.00 of credit.`);
      print(`Demo API key (shown once, keep it): ${seed.key}`);
      print(`Try it:`);
      print(`  curl ${gateway.url}/v1/chat/completions -H "Authorization: Bearer ${seed.key}" \\`);
      print(`    -H "content-type: application/json" \\`);
      print(`    -d '{"model":"tollgate-echo","stream":true,"messages":[{"role":"user","content":"hello tollgate"}]}'`);
    }
    print('');
    print(`Errors: one line here, the details in ${join(dir, 'gateway.log')}`);
    print('Operator CLI: npx tollgate --help    Stop: Ctrl-C');
    print(`Console sign-in: npx tollgate members add demo you@example.com, then open ${gateway.url}/console`);
    sweeper = startSweeper(database, env, print, { mailer, consoleUrl: `${gateway.url}/console` });
  } catch (error) {
    stopTelling();
    await database.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const stopSweeper = sweeper;
  return {
    gateway,
    database,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(stopSweeper);
        await gateway.close();
        // Only once Java has let go of the database file: a start before that is told this one still runs.
        await database.stop();
        removeGatewayInfo(dir, process.pid);
      })();
      return stopping;
    },
  };
};
