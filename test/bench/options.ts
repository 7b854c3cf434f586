import { parseArgs } from 'node:util';

/** What one bench run does; every field has a flag (`--ttfb-ms 20`…). */
export interface BenchOptions {
  /** Upstream delay before its status line. */
  ttfbMs: number;
  /** Upstream delay between SSE events. */
  chunkMs: number;
  /** Content pieces per streamed answer (the stream has 4 more events: role, finish, usage, [DONE]). */
  chunks: number;
  /** Requests per target in the non-streamed latency series. */
  requests: number;
  /** Requests per target in the streamed series (each lasts ttfb + ~(chunks + 3) × chunk-ms). */
  streamRequests: number;
  /** Warm-up requests per target before anything is measured (then bursts at the top concurrency). */
  warmup: number;
  /**
   * Warm-up bursts at the top concurrency (every target in turn, 2 s each; quick 0.5 s). Measured here, the whole rig
   * (the gateway, DynamoDB Local, the fake upstream and the client, each JIT-compiling) serves a
   * burst at concurrency 64 at about half its steady rate at first and reaches it after 10–15 s of
   * such load: a busy deployment is past that.
   */
  warmupBursts: number;
  /**
   * Ledger rows written straight into DynamoDB Local before anything is measured, so its optimizing
   * JIT is warm: it stands in for a service that is always warm and not on this machine.
   */
  dynamoWarmup: number;
  /** Idle time after each measured request (after Tollgate's, once its settle has reached DynamoDB). */
  pauseMs: number;
  /** Concurrency levels of the throughput series. */
  concurrency: number[];
  /** Time per target and concurrency level in the throughput series. */
  throughputMs: number;
  /** Megabytes streamed through Tollgate for the memory check. */
  memoryMb: number;
  /** How many times that volume is streamed (memory that keeps growing pass after pass is a leak). */
  memoryPasses: number;
  /** Fresh processes timed importing the bundle. */
  coldStarts: number;
  quick: boolean;
  /** Added to every DynamoDB request on its way to DynamoDB Local (the network a real table is behind). */
  dynamoDelayMs: number;
  /** Ledger rows over the last 30 days of the account whose wallet page is timed (the issue: 100,000). */
  walletRows: number;
  /** Warm wallet-page loads per run. */
  walletLoads: number;
  /** Runs of the wallet page: each drops the stored roll-ups, loads once cold, then warm, then exports the CSV. */
  walletRuns: number;
  /** Independent rounds of every headline figure (each a full set of series); printed as median [min–max]. */
  rounds: number;
  /** Lambda memory sizes whose CPU share the gateway is limited to (cgroup quota); empty: section skipped. */
  lambdaMb: number[];
  /** Non-stream requests per target at each Lambda size. */
  lambdaRequests: number;
  /** Translated streams (2,000 tokens each, upstream without delays) at each Lambda size. */
  lambdaStreams: number;
  /** Write a V8 CPU profile of the gateway process during the non-stream series to bench-results/. */
  profile: boolean;
  /** Write one during the first round's throughput bursts instead (every concurrency). */
  profileLoad: boolean;
}

const HELP = `npm run bench -- [flags]

  --ttfb-ms <ms>          upstream time to first byte (default 20)
  --chunk-ms <ms>         upstream delay between stream events (default 5)
  --chunks <n>            content chunks per streamed answer (default 20)
  --rounds <n>            independent rounds of every headline figure, printed as median [min–max] (default 3)
  --requests <n>          requests per target and round, non-streamed series (default 400, quick 15)
  --stream-requests <n>   requests per target and round, streamed series (default requests / 2, quick requests / 3)
  --warmup <n>            warm-up requests per target (default 50), then bursts at the top concurrency
  --warmup-bursts <n>     warm-up bursts at the top concurrency, every target in turn for 2 s (quick 0.5 s)
                          (default 6, quick 1): the whole rig takes 10–15 s of that load to reach its steady state
  --dynamo-warmup <n>     rows written to DynamoDB Local first, to warm its JIT (default 30000, quick 10000)
  --pause-ms <ms>         idle time after each measured request (default 2)
  --concurrency <list>    throughput concurrency levels (default 1,16,64)
  --throughput-ms <ms>    time per target, level and round in the throughput series (default 2000, quick 250)
  --memory-mb <n>         megabytes streamed through Tollgate for the RSS check (default 100)
  --memory-passes <n>     how many times (default 3)
  --cold-starts <n>       fresh processes importing the bundle (default 5)
  --quick                 a fast smoke run (few requests, short series)
  --wallet-rows <n>       ledger rows (30 days) behind the timed console wallet page (default 100000, quick 20000)
  --wallet-loads <n>      warm wallet-page loads per run (default 20, quick 10)
  --wallet-runs <n>       wallet-page runs, each cold + warm loads + CSV export (default 3)
  --lambda-mb <list>      limit the gateway's CPU to Lambda's share at these memory sizes with a cgroup quota
                          (default 128,256,512,1024; quick: off unless given; 'none' to skip)
  --lambda-requests <n>   non-stream requests per target at each size (default 200, quick 20)
  --lambda-streams <n>    translated streams at each size (default 20, quick 5)
  --dynamo-delay-ms <ms>  delay each DynamoDB request by this much (default 0: DynamoDB Local as is)
  --profile               CPU-profile the gateway during the non-stream series (bench-results/*.cpuprofile;
                          the profiler slows the gateway, so that series' numbers are not comparable)
  --profile-load          the same during the first round's throughput bursts (where its CPU per request matters)
  --help`;

const integer = (name: string, value: string | undefined, fallback: number, min = 0): number => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min)
    throw new RangeError(`--${name} expects an integer ≥ ${min}, got '${value}'`);
  return parsed;
};

/**
 * Reads the bench's flags; `--quick` changes only the defaults, so `--quick --requests 100` works.
 *
 * @example
 * const options = parseBenchOptions(process.argv.slice(2));
 */
export const parseBenchOptions = (argv: string[]): BenchOptions | 'help' => {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'ttfb-ms': { type: 'string' },
      'chunk-ms': { type: 'string' },
      chunks: { type: 'string' },
      requests: { type: 'string' },
      'stream-requests': { type: 'string' },
      warmup: { type: 'string' },
      'warmup-bursts': { type: 'string' },
      'dynamo-warmup': { type: 'string' },
      'pause-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'throughput-ms': { type: 'string' },
      'memory-mb': { type: 'string' },
      'memory-passes': { type: 'string' },
      'cold-starts': { type: 'string' },
      rounds: { type: 'string' },
      'lambda-mb': { type: 'string' },
      'lambda-requests': { type: 'string' },
      'lambda-streams': { type: 'string' },
      'wallet-rows': { type: 'string' },
      'wallet-loads': { type: 'string' },
      'wallet-runs': { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'profile-load': { type: 'boolean', default: false },
      'dynamo-delay-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const requests = integer('requests', values.requests, quick ? 15 : 400, 1);
  const lambdaFlag = values['lambda-mb'] ?? (quick ? 'none' : '128,256,512,1024');
  const lambdaMb =
    lambdaFlag === 'none' || lambdaFlag === ''
      ? []
      : lambdaFlag.split(',').map((part) => integer('lambda-mb', part.trim(), 0, 128));
  const concurrency = (values.concurrency ?? '1,16,64').split(',').map((part) => integer('concurrency', part, 1, 1));
  return {
    ttfbMs: integer('ttfb-ms', values['ttfb-ms'], 20),
    chunkMs: integer('chunk-ms', values['chunk-ms'], 5),
    chunks: integer('chunks', values.chunks, 20, 1),
    requests,
    streamRequests: integer(
      'stream-requests',
      values['stream-requests'],
      quick ? Math.max(1, Math.ceil(requests / 3)) : Math.max(1, Math.ceil(requests / 2)),
      1,
    ),
    warmup: integer('warmup', values.warmup, quick ? 10 : 50),
    warmupBursts: integer('warmup-bursts', values['warmup-bursts'], quick ? 1 : 6, 1),
    dynamoWarmup: integer('dynamo-warmup', values['dynamo-warmup'], quick ? 10_000 : 30_000),
    pauseMs: integer('pause-ms', values['pause-ms'], 2),
    concurrency,
    throughputMs: integer('throughput-ms', values['throughput-ms'], quick ? 250 : 2000, 100),
    memoryMb: integer('memory-mb', values['memory-mb'], quick ? 20 : 100, 1),
    memoryPasses: integer('memory-passes', values['memory-passes'], quick ? 2 : 3, 1),
    coldStarts: integer('cold-starts', values['cold-starts'], quick ? 2 : 5, 1),
    quick,
    walletRows: integer('wallet-rows', values['wallet-rows'], quick ? 20_000 : 100_000, 1),
    walletLoads: integer('wallet-loads', values['wallet-loads'], quick ? 10 : 20, 1),
    walletRuns: integer('wallet-runs', values['wallet-runs'], 3, 1),
    dynamoDelayMs: integer('dynamo-delay-ms', values['dynamo-delay-ms'], 0),
    rounds: integer('rounds', values.rounds, 3, 1),
    lambdaMb,
    lambdaRequests: integer('lambda-requests', values['lambda-requests'], quick ? 20 : 200, 1),
    lambdaStreams: integer('lambda-streams', values['lambda-streams'], quick ? 5 : 20, 1),
    profile: values.profile === true,
    profileLoad: values['profile-load'] === true,
  };
};

export const BENCH_HELP = HELP;
