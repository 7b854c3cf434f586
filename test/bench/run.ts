/**
 * `npm run bench` — how much latency Tollgate adds over the floor (one extra Node hop), measured in
 * one run against a fake upstream on 127.0.0.1: direct, through a minimal keep-alive proxy, and
 * through the real proxy handler (local function-URL emulation, DynamoDB Local, default caches),
 * requests alternating between the three. Also: throughput at several concurrencies, DynamoDB calls
 * per request, Tollgate's in-process overhead header, RSS while 100 MB stream through, bundle size
 * and module-init time, and the console's wallet page over 100,000 ledger rows (wallet.ts). Prints a table and writes bench-results/bench-<time>.json.
 *
 * A benchmark, not a test: a missed target prints FAIL and the exit code stays 0.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { send } from './client.ts';
import { type ColdStart, coldStartSummary, measureColdStart } from './cold-start.ts';
import { type PhaseCpu, startPhase } from './cpu.ts';
import { measureLambdaSizes } from './lambda.ts';
import { measuredSeries, measureMemory, measureThroughput } from './measure.ts';
import { BENCH_HELP, type BenchOptions, parseBenchOptions } from './options.ts';
import { type BenchResults, buildChecks, headlineFigures, type RoundResult, renderReport } from './report.ts';
import { chatSpec, dynamoIdle, log, messagesSpec, startRig } from './rig.ts';
import { alternate, type PerTarget, throughput } from './series.ts';
import { measureWallet } from './wallet.ts';

const RESULTS_DIR = join(new URL('../../', import.meta.url).pathname, 'bench-results');

// ─── teardown: everything started is stopped, also on Ctrl-C and on errors ──────────────────────

const stops: (() => Promise<unknown>)[] = [];
let stopping: Promise<void> | undefined;
let interrupted = false;
const stopAll = (): Promise<void> => {
  stopping ??= (async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  })();
  return stopping;
};
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping everything…`);
    void stopAll().finally(() => process.exit(code));
  });
}

// ─── the run ────────────────────────────────────────────────────────────────────────────────────

const run = async (options: BenchOptions): Promise<BenchResults> => {
  const startedAt = new Date();
  await mkdir(RESULTS_DIR, { recursive: true });
  const loadAvgStart = loadavg();
  const rig = await startRig(options, (stop) => stops.push(stop));
  const tollgate = rig.targets.find((target) => target.name === 'tollgate');
  if (!tollgate) throw new Error('no tollgate target');

  log(`warming up: ${options.warmup} requests per target…`);
  await alternate(rig.targets, chatSpec(false), options.warmup);
  await alternate(rig.targets, chatSpec(true), Math.max(2, Math.ceil(options.warmup / 10)));
  await alternate(rig.targets, messagesSpec(), 2);
  // A warm instance has served thousands of requests: its JIT has compiled the request path. So
  // has a warm DynamoDB, upstream and client: the rig's steady state takes 10–15 s of top load.
  const top = Math.max(...options.concurrency);
  const burstMs = options.quick ? 500 : 2_000;
  const warmup: PerTarget<number>[] = [];
  for (let burst = 1; burst <= options.warmupBursts; burst += 1) {
    const rates = await throughput(rig.targets, chatSpec(false), top, burstMs, 1, () => dynamoIdle(rig));
    warmup.push({
      direct: rates.direct.perSecond,
      minimal: rates.minimal.perSecond,
      tollgate: rates.tollgate.perSecond,
    });
    log(
      `warm-up burst ${burst}/${options.warmupBursts} at concurrency ${top}, ${burstMs} ms per target: ` +
        `Tollgate ${rates.tollgate.perSecond.toFixed(0)} req/s, minimal ${rates.minimal.perSecond.toFixed(0)}`,
    );
  }
  const warm = await send(tollgate, chatSpec(false));
  if (warm.status !== 200) throw new Error(`Tollgate answered ${warm.status} after warm-up; see its output above`);

  const pids = {
    'dynamodb-local': rig.dynamoPid,
    gateway: rig.gateway.process.pid,
    minimal: rig.minimal.process.pid,
    upstream: rig.upstream.process.pid,
  };
  const cpu: PhaseCpu[] = [];
  const phase = async <T>(name: string, measure: () => Promise<T>): Promise<T> => {
    const done = startPhase(name, pids);
    const result = await measure();
    cpu.push(done());
    return result;
  };
  const profile = join(RESULTS_DIR, `gateway-${startedAt.toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  const rounds: RoundResult[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    const tag = `round ${round}/${options.rounds}`;
    log(`${tag}…`);
    if (options.profile && round === 1) await rig.gateway.call('startProfile');
    const nonStream = await phase(`${tag} non-stream`, () =>
      measuredSeries(rig, `${tag} non-stream, concurrency 1`, chatSpec(false), options.requests),
    );
    if (options.profile && round === 1) {
      await rig.gateway.call('stopProfile', { file: profile });
      log(`CPU profile of the gateway during the first non-stream series: ${profile}`);
    }
    const stream = await phase(`${tag} stream`, () =>
      measuredSeries(rig, `${tag} stream, concurrency 1`, chatSpec(true), options.streamRequests),
    );
    const anthropicRounds = Math.max(1, Math.ceil(options.streamRequests / 8));
    const anthropic = await phase(`${tag} anthropic stream`, () =>
      measuredSeries(rig, `${tag} anthropic stream, concurrency 1`, messagesSpec(), anthropicRounds),
    );
    if (options.profileLoad && round === 1) await rig.gateway.call('startProfile');
    const load = await phase(`${tag} throughput`, () => measureThroughput(rig));
    if (options.profileLoad && round === 1) {
      await rig.gateway.call('stopProfile', { file: profile });
      log(`CPU profile of the gateway during the first throughput bursts: ${profile}`);
    }
    rounds.push({ nonStream, stream, anthropic, load });
  }
  const memory = await phase('memory', () => measureMemory(rig));
  const lambda = await measureLambdaSizes(rig, options.lambdaMb, (stop) => stops.push(stop));
  for (const size of [...(lambda.unlimited ? [lambda.unlimited] : []), ...lambda.sizes]) cpu.push(size.cpu);
  const connections = await rig.counter.call<number>('connections');

  log('stopping the gateway, proxies and DynamoDB Local…');
  await stopAll();
  log(`cold start: building the bundle and importing it in ${options.rounds} × ${options.coldStarts} fresh processes…`);
  const cold: ColdStart = await measureColdStart(options.coldStarts, options.rounds);
  stopping = undefined; // the rig's teardown is done: what the wallet part starts is stopped anew
  const wallet = await measureWallet(options, (stop) => stops.push(stop), log);
  await stopAll();

  const first = rounds[0];
  if (!first) throw new Error('no round measured');
  const { nonStream, stream, anthropic, load } = first;
  const results: Omit<BenchResults, 'checks'> = {
    startedAt: startedAt.toISOString(),
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGb: totalmem() / 1024 ** 3,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAvgStart,
      loadAvgEnd: loadavg(),
    },
    options,
    nonStream: nonStream.latency,
    stream: stream.latency,
    anthropicStream: anthropic.latency,
    throughput: load.results,
    warmup,
    dynamo: {
      nonStream: nonStream.dynamo,
      stream: stream.dynamo,
      anthropicStream: anthropic.dynamo,
      throughput: load.dynamo,
      connections,
    },
    coldStart: { ...cold, ...coldStartSummary(cold) },
    memory,
    wallet,
    rounds: rounds.map((round) => ({
      nonStream: round.nonStream.latency,
      stream: round.stream.latency,
      anthropicStream: round.anthropic.latency,
      throughput: round.load.results,
      dynamo: { nonStream: round.nonStream.dynamo, stream: round.stream.dynamo },
    })),
    figures: headlineFigures(rounds, cold),
    cpu,
    lambda,
  };
  return { ...results, checks: buildChecks(results) };
};

const main = async (): Promise<void> => {
  const options = parseBenchOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(BENCH_HELP);
    return;
  }
  const results = await run(options);
  console.log(renderReport(results));
  const file = join(RESULTS_DIR, `bench-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nResults written to ${file}`);
};

try {
  await main();
} catch (error) {
  // After Ctrl-C the run fails on its stopped children: that is not news.
  if (!interrupted) console.error('[bench] failed:', error);
  process.exitCode = 1;
} finally {
  await stopAll();
}
process.exit();
