/**
 * The console's wallet page under a busy account: N ledger rows over the last 30 days (100,000 by
 * default, the issue's figure), written straight into a fresh DynamoDB Local, then
 * `GET /console/wallet` signed in over loopback HTTP — the first load of each run cold (no stored
 * roll-ups: every closed day summed from its rows and stored), then warm loads (roll-ups read back,
 * today summed live) — and the CSV export of the 30 days.
 *
 * Server time is taken inside the gateway's HTTP server (Node's `http.server.request.start` →
 * `http.server.response.finish` diagnostics channels): the console handler with the function-URL
 * emulation around it, without the client's side of the socket. DynamoDB requests are counted by a
 * middleware on the stores' client (each attempt, retries included), by operation and table.
 *
 * Runs in the bench's own process, after the latency rig has stopped. `node test/bench/wallet.ts
 * [--quick] [--wallet-rows n]` runs this part alone; BENCH_WALLET_TRACE=1 prints every DynamoDB
 * request with its time and input (which query is slow).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { addMember, createSignInLink } from '../../lambdas/services/members.ts';
import { ensureTables } from '../../lambdas/store/bootstrap.ts';
import { createDocumentClient } from '../../lambdas/store/client.ts';
import { startDynamoDbLocal } from '../../lambdas/store/dynamodb-local.ts';
import { createStores } from '../../lambdas/store/index.ts';
import { tableNamesFromEnv } from '../../lib/tables.ts';
import { send } from '../console/console-client.ts';
import { writeLedgerVolume } from './ledger-volume.ts';
import type { BenchOptions } from './options.ts';
import { quantile } from './stats.ts';

const ACCOUNT = 'wallet-bench';
const EMAIL = 'bench@example.com';
const DAY_MS = 86_400_000;
/**
 * Per DynamoDB attempt. Not the deployed 2.5 s: DynamoDB Local answers a COUNT or a 1,000-row page
 * deep in a 100,000-row partition in 1–4 s (DynamoDB answers such a page in tens of ms), and the
 * CSV export would time out here for reasons of the emulator alone.
 */
const ATTEMPT_TIMEOUT_MS = 30_000;

export interface WalletLoad {
  /** Server time: request in → response finished, in the gateway's HTTP server. */
  serverMs: number;
  /** The client's round trip on loopback (server time + HTTP). */
  clientMs: number;
  status: number;
  bytes: number;
  /** CRLF-ended lines (a CSV's header + rows). */
  lines: number;
  /** DynamoDB requests during the load, by `Operation table`. */
  dynamo: Record<string, number>;
  /** Time in them, ms: the sum and the slowest one, by `Operation table`. */
  dynamoMs: Record<string, { total: number; max: number }>;
}

export interface WalletRun {
  cold: WalletLoad;
  warm: WalletLoad[];
  warmServer: { p50: number; p95: number; max: number };
}

export interface WalletResult {
  rows: number;
  days: number;
  /** Seconds to write the rows (BatchWrite, 16 in flight). */
  writeS: number;
  /** Warm loads per run. */
  loads: number;
  runs: WalletRun[];
  /** The CSV export of the 30 days, once, after the first run's loads. */
  csv: WalletLoad & { rows: number };
  /** The slowest DynamoDB request of a warm load, median over the loads: the floor under the page's time. */
  slowestDynamoMs: number;
  /** All runs' warm loads together. */
  warmServer: { p50: number; p95: number; count: number };
  warmClient: { p50: number; p95: number };
  /** DynamoDB requests per warm load (median over the runs' loads), and what they were in the last one. */
  dynamoPerWarmLoad: number;
  dynamoWarmLoad: Record<string, number>;
}

type Register = (stop: () => Promise<unknown>) => void;

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

const summary = (values: number[]) => {
  const sorted = Float64Array.from(values).sort();
  return { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.at(-1) ?? Number.NaN };
};

/**
 * Writes the volume, signs in and times the page and the CSV; everything started is registered.
 *
 * @example
 * const wallet = await measureWallet(options, (stop) => stops.push(stop), log);
 */
export const measureWallet = async (
  options: Pick<BenchOptions, 'walletRows' | 'walletLoads' | 'walletRuns'>,
  register: Register,
  log: (line: string) => void,
): Promise<WalletResult> => {
  const { walletRows: rows, walletLoads: loads, walletRuns: runs } = options;
  log('wallet page: starting a fresh DynamoDB Local (in memory)…');
  const dynamo = await startDynamoDbLocal();
  register(() => dynamo.stop());
  const tables = tableNamesFromEnv({}, 'walletbench');
  const raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await ensureTables(raw, tables);
  } finally {
    raw.destroy();
  }
  const client = createDocumentClient({ endpoint: dynamo.endpoint, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS });
  register(async () => client.destroy());
  let counts: Record<string, number> = {};
  let timings: Record<string, { total: number; max: number }> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = (args as { input?: { TableName?: string } }).input;
      const op = `${context.commandName?.replace(/Command$/, '') ?? 'unknown'} ${input?.TableName ?? ''}`.trim();
      counts[op] = (counts[op] ?? 0) + 1;
      const before = performance.now();
      try {
        return await next(args);
      } finally {
        const took = performance.now() - before;
        const spent = timings[op] ?? { total: 0, max: 0 };
        timings[op] = { total: spent.total + took, max: Math.max(spent.max, took) };
        if (process.env['BENCH_WALLET_TRACE'])
          process.stderr.write(`  ${op} ${took.toFixed(1)} ms ${JSON.stringify({ ...input, TableName: undefined })}\n`);
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchDynamoCounter' },
  );
  const takeCounts = (): Record<string, number> => {
    const taken = counts;
    counts = {};
    return taken;
  };
  /** Time spent in each kind of DynamoDB request since the last call (total and slowest, ms). */
  const takeTimings = (): Record<string, { total: number; max: number }> => {
    const taken = timings;
    timings = {};
    return taken;
  };
  const stores = createStores(client, tables);

  await createAccount(stores, { accountId: ACCOUNT });
  await addMember(stores, { accountId: ACCOUNT, email: EMAIL });
  log(`wallet page: writing ${rows.toLocaleString('en-US')} ledger rows over the last 30 days…`);
  const writeStart = performance.now();
  const volume = await writeLedgerVolume(client, tables.ledger, {
    accountId: ACCOUNT,
    rows,
    walletsTable: tables.wallets,
  });
  const writeS = (performance.now() - writeStart) / 1000;
  log(`wallet page: written in ${writeS.toFixed(1)} s (${volume.first} … ${volume.last})`);

  const gateway = await startLocalGateway({
    stores,
    reportSink: { publish: async () => undefined },
    env: {},
    console: { mailer: { send: async () => undefined }, signInFloorMs: 0 },
  });
  register(() => gateway.close());

  // Server time per request, from Node's own HTTP server events.
  const started = new WeakMap<IncomingMessage, number>();
  let lastServerMs = Number.NaN;
  subscribe('http.server.request.start', (message) => {
    const { request, server } = message as { request: IncomingMessage; server: unknown };
    if (server === gateway.server) started.set(request, performance.now());
  });
  subscribe('http.server.response.finish', (message) => {
    const { request } = message as { request: IncomingMessage };
    const at = started.get(request);
    if (at !== undefined) lastServerMs = performance.now() - at;
  });

  const link = await createSignInLink(stores, { email: EMAIL, consoleUrl: `${gateway.url}/console` });
  const token = new URL(link.url).searchParams.get('token') ?? '';
  const signedIn = await send(gateway.url, 'POST', '/console/auth', { form: { token } });
  const cookie = signedIn.setCookies[0]?.split(';')[0];
  if (signedIn.status !== 303 || !cookie) throw new Error(`wallet bench: sign-in answered ${signedIn.status}`);

  const load = async (path: string): Promise<WalletLoad> => {
    takeCounts();
    takeTimings();
    lastServerMs = Number.NaN;
    const before = performance.now();
    const answer = await send(gateway.url, 'GET', path, { cookie });
    const clientMs = performance.now() - before;
    // response.finish fires when the last byte is handed to the socket, before the client's 'end'.
    const serverMs = lastServerMs;
    if (answer.status !== 200)
      throw new Error(`wallet bench: ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    return {
      serverMs,
      clientMs,
      status: answer.status,
      bytes: Buffer.byteLength(answer.body),
      lines: answer.body.split('\r\n').length - 1,
      dynamo: takeCounts(),
      dynamoMs: takeTimings(),
    };
  };

  /** Deletes the stored roll-ups, so the next load sums every closed day again (cold). */
  const forgetRollups = async (): Promise<number> => {
    const { Items = [] } = await client.send(
      new QueryCommand({
        TableName: tables.ledger,
        KeyConditionExpression: 'accountId = :a AND begins_with(sk, :r)',
        ExpressionAttributeValues: { ':a': ACCOUNT, ':r': 'rollup#' },
        ProjectionExpression: 'accountId, sk',
      }),
    );
    for (let i = 0; i < Items.length; i += 25) {
      await client.send(
        new BatchWriteCommand({
          RequestItems: {
            [tables.ledger]: Items.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })),
          },
        }),
      );
    }
    return Items.length;
  };

  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 30 * DAY_MS).toISOString().slice(0, 10);
  const results: WalletRun[] = [];
  let csv: (WalletLoad & { rows: number }) | undefined;
  for (let run = 1; run <= runs; run++) {
    const forgotten = await forgetRollups();
    const cold = await load('/console/wallet');
    const warm: WalletLoad[] = [];
    for (let i = 0; i < loads; i++) warm.push(await load('/console/wallet'));
    const warmServer = summary(warm.map((entry) => entry.serverMs));
    results.push({ cold, warm, warmServer });
    log(
      `wallet page run ${run}/${runs}: cold ${cold.serverMs.toFixed(0)} ms (${forgotten} roll-ups dropped before, ${sum(cold.dynamo)} DynamoDB requests); ` +
        `warm p50 ${warmServer.p50.toFixed(1)} ms p95 ${warmServer.p95.toFixed(1)} ms`,
    );
    if (!csv) {
      log(`wallet page: exporting the 30 days as CSV…`);
      const exported = await load(`/console/wallet.csv?from=${from}&to=${today}`);
      csv = { ...exported, rows: exported.lines - 1 };
      log(
        `wallet page: CSV ${exported.serverMs.toFixed(0)} ms, ${(exported.bytes / 1024 ** 2).toFixed(1)} MB, ${csv.rows} rows`,
      );
    }
  }
  if (!csv) throw new Error('wallet bench: no run');
  const allWarm = results.flatMap((run) => run.warm);
  const warmServer = summary(allWarm.map((entry) => entry.serverMs));
  const warmClient = summary(allWarm.map((entry) => entry.clientMs));
  const perLoad = Float64Array.from(allWarm.map((entry) => sum(entry.dynamo))).sort();
  return {
    rows,
    days: 30,
    writeS,
    loads,
    runs: results,
    csv,
    slowestDynamoMs: quantile(
      Float64Array.from(
        allWarm.map((entry) => Math.max(0, ...Object.values(entry.dynamoMs).map((spent) => spent.max))),
      ).sort(),
      0.5,
    ),
    warmServer: { p50: warmServer.p50, p95: warmServer.p95, count: allWarm.length },
    warmClient: { p50: warmClient.p50, p95: warmClient.p95 },
    dynamoPerWarmLoad: quantile(perLoad, 0.5),
    dynamoWarmLoad: allWarm.at(-1)?.dynamo ?? {},
  };
};

const thousands = (value: number): string => Math.round(value).toLocaleString('en-US');

/** `GetItem sessions ×1, Query ledger ×5`, most frequent first. */
const describe = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([op, count]) => `${op} ×${count}`)
    .join(', ');

/** The report's lines for the wallet page. */
export const walletLines = (result: WalletResult, quick: boolean): string[] => {
  const colds = result.runs.map((run) => run.cold.serverMs);
  const { csv } = result;
  return [
    `  wallet page, ${thousands(result.rows)} rows/${result.days} days${quick ? ' (--quick: fewer rows than the issue’s 100,000)' : ''}: ` +
      `cold ${colds.map(thousands).join(' / ')} ms; warm p50 ${result.warmServer.p50.toFixed(0)} ms p95 ${result.warmServer.p95.toFixed(0)} ms (target ≤ 300 ms)`,
    `  server time (in the gateway's HTTP server, console handler + function-URL emulation), ${result.runs.length} runs × (1 cold + ${result.loads} warm loads); ` +
      `the client's loopback round trip warm p50 ${result.warmClient.p50.toFixed(0)} ms p95 ${result.warmClient.p95.toFixed(0)} ms`,
    ...result.runs.map(
      (run, index) =>
        `    run ${index + 1}: cold ${thousands(run.cold.serverMs)} ms (${sum(run.cold.dynamo)} DynamoDB requests: ${describe(run.cold.dynamo)}); ` +
        `warm p50 ${run.warmServer.p50.toFixed(1)} p95 ${run.warmServer.p95.toFixed(1)} max ${run.warmServer.max.toFixed(1)} ms; page ${(run.cold.bytes / 1024).toFixed(0)} KB`,
    ),
    `  DynamoDB requests per warm load: ${result.dynamoPerWarmLoad} (${describe(result.dynamoWarmLoad)}); ` +
      `slowest of them p50 ${result.slowestDynamoMs.toFixed(0)} ms (they run in parallel)`,
    `  CSV export of the 30 days: ${thousands(csv.serverMs)} ms, ${(csv.bytes / 1024 ** 2).toFixed(1)} MB, ${thousands(csv.rows)} rows, ` +
      `${sum(csv.dynamo)} DynamoDB requests (${describe(csv.dynamo)}), ${thousands(Object.values(csv.dynamoMs).reduce((total, spent) => total + spent.total, 0))} ms of them`,
    `  (rows written in ${result.writeS.toFixed(1)} s; DynamoDB Local in memory, ${ATTEMPT_TIMEOUT_MS / 1000} s per attempt instead of 2.5 s)`,
  ];
};

if (import.meta.main) {
  const { parseBenchOptions } = await import('./options.ts');
  const options = parseBenchOptions(process.argv.slice(2));
  if (options === 'help') process.exit(0);
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const result = await measureWallet(
      options,
      (stop) => stops.push(stop),
      (line) => void process.stderr.write(`[bench] ${line}\n`),
    );
    console.log(walletLines(result, options.quick).join('\n'));
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
  process.exit();
}
