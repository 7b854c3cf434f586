/** The bench's results: their shape (also the JSON file's), the PASS/FAIL checks and the printed table. */
import { atMost, type Check, type DynamoResult, type LatencyResult, TARGETS } from './analyze.ts';
import { costPerMillion, LAMBDA_FULL_VCPU_MB, LAMBDA_PRICES } from './cgroup.ts';
import type { ColdStart } from './cold-start.ts';
import { CLOCK_TICKS, type PhaseCpu } from './cpu.ts';
import { COST_STREAM_SECONDS, type LambdaResult, SUGGESTION_RULE } from './lambda.ts';
import type { measuredSeries, measureThroughput } from './measure.ts';
import type { BenchOptions } from './options.ts';
import type { PerTarget, Throughput } from './series.ts';
import { type Figure, figure, withSpread } from './spread.ts';
import { type Summary, summarize } from './stats.ts';
import { type WalletResult, walletLines } from './wallet.ts';

export interface MemoryPass {
  status: number;
  streamedMb: number;
  seconds: number;
  mbPerSecond: number;
  rssStartMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  deltaPeakMb: number;
  deltaEndMb: number;
  samples: number;
  /** JS heap in use after a full GC, before and after the stream: growth here would be a leak. */
  heapUsedMb: [number, number];
  /** Memory of Buffers and other objects outside the JS heap, before and after. */
  externalMb: [number, number];
  /** The most memory outside the JS heap seen while streaming (Buffers, garbage not yet collected included). */
  peakExternalMb: number;
}

export interface MemoryResult {
  tollgate: MemoryPass[];
  /** The same streams through the minimal proxy: the floor for one Node hop. */
  minimal: MemoryPass[];
}

/** The worst growth of one pass (peak − its start), and what is still held after the last (end − first start). */
const memoryGrowth = (passes: readonly MemoryPass[]) => ({
  worstPeakMb: Math.max(...passes.map((pass) => pass.deltaPeakMb)),
  retainedMb: (passes.at(-1)?.rssEndMb ?? Number.NaN) - (passes[0]?.rssStartMb ?? Number.NaN),
});

export interface BenchResults {
  startedAt: string;
  durationS: number;
  machine: {
    cpu: string;
    cores: number;
    memoryGb: number;
    node: string;
    platform: string;
    loadAvgStart: number[];
    loadAvgEnd: number[];
  };
  options: BenchOptions;
  nonStream: LatencyResult;
  stream: LatencyResult;
  anthropicStream: LatencyResult;
  throughput: PerTarget<Throughput>[];
  /** Requests per second of each warm-up burst at the top concurrency, in order. */
  warmup: PerTarget<number>[];
  dynamo: {
    nonStream: DynamoResult;
    stream: DynamoResult;
    anthropicStream: DynamoResult;
    throughput: {
      requests: number;
      calls: Record<string, number>;
      callsPerRequest: number;
      latency: Record<string, Summary>;
    };
    /** TCP connections the gateway opened to DynamoDB over the whole run (keep-alive keeps this small). */
    connections: number;
  };
  coldStart: ColdStart & { initP50: number; initEnableSourceMapsP50: number; processP50: number };
  memory: MemoryResult;
  /** The console's wallet page over a busy account's ledger. */
  wallet: WalletResult;
  /** Every round's latencies and throughput (the detailed tables print round 1). */
  rounds: {
    nonStream: LatencyResult;
    stream: LatencyResult;
    anthropicStream: LatencyResult;
    throughput: PerTarget<Throughput>[];
    dynamo: { nonStream: DynamoResult; stream: DynamoResult };
  }[];
  /** The headline figures over the rounds: median [min–max]; PASS/FAIL on the median. */
  figures: Figure[];
  /** CPU time of DynamoDB Local, the gateway, the minimal proxy and the upstream per measured phase. */
  cpu: PhaseCpu[];
  /** The gateway at Lambda's CPU share per memory size (cgroup quota). */
  lambda: LambdaResult;
  checks: Check[];
}

const KB = 1024;

/** What one round measured (run.ts keeps every round; the JSON file holds their latencies). */
export interface RoundResult {
  nonStream: Awaited<ReturnType<typeof measuredSeries>>;
  stream: Awaited<ReturnType<typeof measuredSeries>>;
  anthropic: Awaited<ReturnType<typeof measuredSeries>>;
  load: Awaited<ReturnType<typeof measureThroughput>>;
}

export const FIGURE = {
  nonStreamP50: 'non-stream latency p50, Tollgate − minimal',
  nonStreamP99: 'non-stream latency p99, Tollgate − minimal',
  ttfbP50: 'stream TTFB p50, Tollgate − minimal',
  ttfbP99: 'stream TTFB p99, Tollgate − minimal',
  gapP99: 'inter-chunk delay p99, Tollgate − minimal',
  initP50: 'module init p50 (fresh process, as deployed)',
} as const;

/**
 * The headline figures, one value per round: latency over the minimal proxy, throughput per
 * concurrency (Tollgate, minimal, their ratio), x-tollgate-overhead-ms and module init.
 */
export const headlineFigures = (rounds: readonly RoundResult[], cold: ColdStart): Figure[] => {
  const over = (pick: (round: RoundResult) => PerTarget<Summary>, key: 'p50' | 'p99') =>
    rounds.map((round) => pick(round).tollgate[key] - pick(round).minimal[key]);
  const figures = [
    figure(
      FIGURE.nonStreamP50,
      'ms',
      over((round) => round.nonStream.latency.total, 'p50'),
    ),
    figure(
      FIGURE.nonStreamP99,
      'ms',
      over((round) => round.nonStream.latency.total, 'p99'),
    ),
    figure(
      FIGURE.ttfbP50,
      'ms',
      over((round) => round.stream.latency.ttfb, 'p50'),
    ),
    figure(
      FIGURE.ttfbP99,
      'ms',
      over((round) => round.stream.latency.ttfb, 'p99'),
    ),
    figure(
      FIGURE.gapP99,
      'ms',
      over((round) => round.stream.latency.gaps, 'p99'),
    ),
  ];
  const levels = rounds[0]?.load.results.map((row) => row.tollgate.concurrency) ?? [];
  levels.forEach((concurrency, index) => {
    const rows = rounds.map((round) => round.load.results[index]);
    const rate = (name: 'tollgate' | 'minimal') => rows.map((row) => row?.[name].perSecond ?? Number.NaN);
    figures.push(
      figure(`throughput at concurrency ${concurrency}, Tollgate`, 'req/s', rate('tollgate')),
      figure(`throughput at concurrency ${concurrency}, minimal`, 'req/s', rate('minimal')),
      figure(
        `throughput at concurrency ${concurrency}, Tollgate/minimal`,
        '%',
        rows.map((row) => (row ? (row.tollgate.perSecond / row.minimal.perSecond) * 100 : Number.NaN)),
      ),
    );
  });
  for (const [label, pick] of [
    ['non-stream', (round: RoundResult) => round.nonStream.latency.overhead],
    ['stream', (round: RoundResult) => round.stream.latency.overhead],
  ] as const) {
    for (const key of ['p50', 'p99'] as const) {
      figures.push(
        figure(
          `x-tollgate-overhead-ms ${key}, ${label}`,
          'ms',
          rounds.map((round) => pick(round)?.[key] ?? Number.NaN),
        ),
      );
    }
  }
  figures.push(
    figure(
      FIGURE.initP50,
      'ms',
      cold.initMsByRound.map((init) => summarize(init).p50),
    ),
  );
  return figures;
};

const figureNamed = (figures: readonly Figure[], name: string): Figure =>
  figures.find((candidate) => candidate.name === name) ?? figure(name, '', []);

/** A check on a figure's median, its spread in the note. */
const medianAtMost = (figures: readonly Figure[], name: string, limit: number, unit: string): Check => {
  const found = figureNamed(figures, name);
  return {
    ...atMost(name, found.median, limit, unit),
    name: `${name} (median of ${found.values.length})`,
    target: `≤ ${limit} ${unit}`,
    note: `median ${withSpread(found)} ${unit} over ${found.values.length} rounds`,
  };
};

/** The issue's targets, each over the minimal proxy (the floor), all from the same run. */
export const buildChecks = (results: Omit<BenchResults, 'checks'>): Check[] => {
  const { stream, coldStart, memory, figures } = results;
  const mb = results.options.memoryMb;
  const tollgateMemory = memoryGrowth(memory.tollgate);
  const minimalMemory = memoryGrowth(memory.minimal);
  const frames = results.options.chunks + 4;
  const allDynamo = results.rounds.flatMap((round) => [round.dynamo.nonStream, round.dynamo.stream]);
  const roundTrips = allDynamo.reduce((sum, one) => sum + one.requestsWithRoundTripBeforeUpstream, 0);
  const checked = allDynamo.reduce((sum, one) => sum + one.matched, 0);
  const checks: Check[] = [
    medianAtMost(figures, FIGURE.nonStreamP50, 0.5, 'ms'),
    medianAtMost(figures, FIGURE.nonStreamP99, 1.5, 'ms'),
    medianAtMost(figures, FIGURE.ttfbP50, 0.5, 'ms'),
    medianAtMost(figures, FIGURE.ttfbP99, 1.5, 'ms'),
    medianAtMost(figures, FIGURE.gapP99, 1, 'ms'),
    {
      name: 'nothing buffered (body chunks per stream, Tollgate vs minimal)',
      value: stream.chunksPerResponse.tollgate,
      target: `= ${stream.chunksPerResponse.minimal} (upstream writes ${frames})`,
      pass: stream.chunksPerResponse.tollgate >= stream.chunksPerResponse.minimal,
      unit: 'chunks',
    },
    {
      ...atMost('requests with a DynamoDB round-trip before the upstream call', roundTrips, 0, 'requests'),
      note: `of ${checked} warm requests over ${results.rounds.length} rounds; ${describeCounts(
        addCounts(...allDynamo.map((one) => one.roundTripsBeforeUpstream)),
      )}`,
    },
    atMost('proxy bundle (minified)', coldStart.bundleBytes / KB, 250, 'KB'),
    medianAtMost(figures, FIGURE.initP50, 100, 'ms'),
    atMost(
      `RSS growth while ${mb} MB stream through (worst pass, peak − start)`,
      tollgateMemory.worstPeakMb,
      10,
      'MB',
      `minimal proxy ${minimalMemory.worstPeakMb.toFixed(1)} MB`,
    ),
    atMost(
      `RSS retained after ${memory.tollgate.length} × ${mb} MB (end − start)`,
      tollgateMemory.retainedMb,
      10,
      'MB',
      `minimal proxy ${minimalMemory.retainedMb.toFixed(1)} MB`,
    ),
  ];
  const { wallet } = results;
  checks.push(
    atMost(
      `wallet page warm p50, server time, ${wallet.rows.toLocaleString('en-US')} rows in 30 days`,
      wallet.warmServer.p50,
      300,
      'ms',
      `p95 ${wallet.warmServer.p95.toFixed(0)} ms over ${wallet.warmServer.count} loads; cold ${wallet.runs.map((run) => run.cold.serverMs.toFixed(0)).join(' / ')} ms`,
    ),
  );
  for (const pass of memory.tollgate) {
    if (pass.status !== 200) {
      checks.push({ name: 'memory stream answered 200', value: pass.status, target: '200', pass: false, unit: '' });
    }
  }
  return checks;
};

// ─── rendering ──────────────────────────────────────────────────────────────────────────────────

const ms = (value: number | undefined): string =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(2);
const signed = (value: number): string => (Number.isNaN(value) ? 'n/a' : `${value >= 0 ? '+' : ''}${value.toFixed(2)}`);

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
const table = (rows: string[][]): string[] => {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === 0 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
};

/** `GetItem bench-keys 3, Scan bench-routes 3`, most frequent first. */
const describeCounts = (counts: Record<string, number>): string => {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return 'none';
  return entries.map(([op, count]) => `${op} ×${count}`).join(', ');
};

const addCounts = (...all: Record<string, number>[]): Record<string, number> => {
  const sum: Record<string, number> = {};
  for (const counts of all) for (const [op, count] of Object.entries(counts)) sum[op] = (sum[op] ?? 0) + count;
  return sum;
};

const latencyRows = (
  label: string,
  values: PerTarget<Summary> | undefined,
  keys: ('p50' | 'p99')[] = ['p50', 'p99'],
) =>
  values === undefined
    ? []
    : keys.map((key) => [
        `${label} ${key}`,
        ...TARGETS.map((name) => ms(values[name][key])),
        signed(values.minimal[key] - values.direct[key]),
        signed(values.tollgate[key] - values.minimal[key]),
      ]);

/** Tollgate-only rows: its way to the upstream split at the gateway's own marks. */
const gatewayRows = (result: LatencyResult): string[][] => {
  const path = result.gateway;
  if (!path) return [];
  const row = (label: string, summary: Summary) => [label, '', '', `${ms(summary.p50)} / ${ms(summary.p99)}`, '', ''];
  return [
    row('    tollgate: client → gateway p50/p99', path.toGateway),
    row('    tollgate: gateway → fetch() p50/p99', path.toUpstreamCall),
    row('    tollgate: fetch() → upstream p50/p99', path.upstreamCallToArrival),
  ];
};

const describeLatency = (latency: Record<string, Summary>): string =>
  Object.entries(latency)
    .sort((a, b) => b[1].count - a[1].count)
    .map(([op, summary]) => `${op} ${ms(summary.p50)}/${ms(summary.p99)}`)
    .join(', ');

const dynamoLine = (label: string, result: DynamoResult): string =>
  `  ${label}: ${result.callsPerRequest.toFixed(2)} calls/request over ${result.requests} requests (${describeCounts(result.calls)}); ` +
  `sent before the gateway called the upstream ${(result.startedBeforeUpstream / Math.max(1, result.matched)).toFixed(2)}/request, ` +
  `answered before it in ${result.requestsWithRoundTripBeforeUpstream} of ${result.matched} requests` +
  (result.requestsWithRoundTripBeforeUpstream > 0 ? ` (${describeCounts(result.roundTripsBeforeUpstream)})` : '');

const CPU_PROCESSES = ['dynamodb-local', 'gateway', 'minimal', 'upstream'] as const;

/** CPU-seconds and % of one core per phase for each child process (DynamoDB Local first). */
const cpuLines = (phases: readonly PhaseCpu[]): string[] => {
  const cell = (phase: PhaseCpu, name: string) => {
    const used = phase.processes[name];
    return used ? `${used.cpuS.toFixed(2)} s ${used.percentOfCore.toFixed(0).padStart(3)}%` : 'n/a';
  };
  const total = (name: string) => {
    const cpuS = phases.reduce((sum, phase) => sum + (phase.processes[name]?.cpuS ?? 0), 0);
    const wallS = phases.reduce((sum, phase) => sum + phase.wallS, 0);
    return `${cpuS.toFixed(2)} s ${((cpuS / Math.max(wallS, 1e-9)) * 100).toFixed(0).padStart(3)}%`;
  };
  const wall = phases.reduce((sum, phase) => sum + phase.wallS, 0);
  return [
    '',
    `CPU per measured phase (utime+stime from /proc/<pid>/stat, ${CLOCK_TICKS} ticks/s; CPU-seconds and % of one core over the phase)`,
    '  DynamoDB Local shares this machine here; on AWS it does not (DynamoDB runs elsewhere), so its share is load Lambda would not see',
    ...table([
      ['phase', 'wall', 'DynamoDB Local', 'gateway', 'minimal proxy', 'upstream'],
      ...phases.map((phase) => [
        phase.phase,
        `${phase.wallS.toFixed(1)} s`,
        ...CPU_PROCESSES.map((name) => cell(phase, name)),
      ]),
      ['all phases', `${wall.toFixed(1)} s`, ...CPU_PROCESSES.map(total)],
    ]).map((line) => `  ${line}`),
  ];
};

const usd = (value: number): string => `$${value.toFixed(2)}`;

/** The Lambda-size table: CPU share, latency over the minimal proxy, translated stream, cost; the suggested default. */
const lambdaLines = (lambda: LambdaResult): string[] => {
  const lines = [
    '',
    `Gateway at Lambda's CPU share per memory size (cgroup CPU quota; one vCPU at ${LAMBDA_FULL_VCPU_MB} MB, pro rata below)`,
  ];
  if (lambda.unavailable) return [...lines, `  cgroup CPU quotas unavailable here: ${lambda.unavailable}`];
  if (lambda.sizes.length === 0) return [...lines, '  skipped (--quick without --lambda-mb, or --lambda-mb none)'];
  lines.push(
    `  only the gateway process is limited (cgroup ${lambda.cgroup}); DynamoDB Local, the upstream and the minimal proxy are not.`,
    '  translated stream: OpenAI chat client → Anthropic upstream route, 2,000 tokens sent at once by the upstream (its TTFB 0).',
    `  cost: arm64 prices $${LAMBDA_PRICES.perGbSecond} per GB-second and $${LAMBDA_PRICES.perMillionRequests.toFixed(2)} per million requests; ` +
      `a stream holds the function for its whole ${COST_STREAM_SECONDS} s (GB-s = MB / 1024 × ${COST_STREAM_SECONDS} s)`,
  );
  lines.push(
    ...table([
      [
        'MB',
        'CPU share',
        'quota µs/100ms',
        'added p50',
        'added p99',
        'stream TTFB p50/p99',
        'tokens/s',
        'MB/s',
        'gateway CPU',
        'throttled periods',
        'errors',
        `$/M ${COST_STREAM_SECONDS}s streams`,
      ],
      ...[...(lambda.unlimited ? [lambda.unlimited] : []), ...lambda.sizes].map((size) => [
        size.mb === 0 ? 'no quota' : String(size.mb),
        size.mb === 0 ? 'all' : `${(size.cpuShare * 100).toFixed(1)}%`,
        size.mb === 0 ? '–' : String(size.quotaUs),
        `${signed(size.addedP50)} ms`,
        `${signed(size.addedP99)} ms`,
        `${ms(size.streamTtfb.p50)} / ${ms(size.streamTtfb.p99)} ms`,
        size.tokensPerSecond.toFixed(0),
        size.mbPerSecond.toFixed(2),
        `${(size.cpu.processes['gateway']?.percentOfCore ?? Number.NaN).toFixed(0)}% of a core`,
        size.throttling
          ? `${size.throttling.throttled}/${size.throttling.periods} (${(size.throttling.throttledMs / 1000).toFixed(1)} s)`
          : '–',
        String(size.errors + size.streamErrors),
        size.mb === 0 ? '–' : usd(size.costPerMillion),
      ]),
    ]).map((line) => `  ${line}`),
  );
  if (lambda.suggested) {
    const { mb, referenceMb, thresholdMs } = lambda.suggested;
    lines.push(
      `  suggested default: ${mb} MB (${usd(costPerMillion(mb, COST_STREAM_SECONDS))} per million ${COST_STREAM_SECONDS}-second streams)`,
      `  rule: ${SUGGESTION_RULE}; here ${referenceMb} MB, so added p99 ≤ ${thresholdMs.toFixed(2)} ms`,
      '  (the rule reads non-stream latency at concurrency 1 only: weigh the translated stream TTFB and throughput columns beside it)',
    );
  }
  return lines;
};

/**
 * The report as printed: latency over the floor, throughput, overhead, DynamoDB calls, cold start,
 * memory, then every check with PASS/FAIL.
 */
export const renderReport = (results: BenchResults): string => {
  const { machine, options, nonStream, stream, anthropicStream, memory, coldStart } = results;
  const lines: string[] = [];
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
  lines.push(
    '',
    `Tollgate benchmark — ${results.startedAt}, ${results.durationS.toFixed(0)} s`,
    `machine: ${machine.cores} × ${machine.cpu}, ${machine.memoryGb.toFixed(0)} GB, Node ${machine.node}, ${machine.platform}; load average ${load(machine.loadAvgStart)} → ${load(machine.loadAvgEnd)}`,
    `upstream: TTFB ${options.ttfbMs} ms, ${options.chunks} content chunks ${options.chunkMs} ms apart (${options.chunks + 4} SSE events); ` +
      `${options.requests} non-stream + ${options.streamRequests} stream requests per target, alternating (the next sent ${options.pauseMs} ms after the previous ended and Tollgate's settle reached DynamoDB)`,
  );
  if (results.warmup.length > 0) {
    const rates = (name: 'tollgate' | 'minimal') => results.warmup.map((burst) => burst[name].toFixed(0)).join(' → ');
    lines.push(
      `warm-up at concurrency ${Math.max(...options.concurrency)} before measuring, req/s per burst: Tollgate ${rates('tollgate')}; minimal ${rates('minimal')}`,
    );
  }
  lines.push(
    '',
    `Headline figures over ${results.rounds.length} independent rounds: median [min–max] (PASS/FAIL uses the median)`,
  );
  lines.push(
    ...table([
      ['', 'median [min–max]', 'unit', 'per round'],
      ...results.figures.map((one) => [
        one.name,
        withSpread(one, one.unit === 'ms' ? 2 : 0),
        one.unit,
        one.values
          .map((value) => (Number.isFinite(value) ? value.toFixed(one.unit === 'ms' ? 2 : 0) : 'n/a'))
          .join(' / '),
      ]),
    ]).map((line) => `  ${line}`),
  );
  lines.push('', `Latency at concurrency 1 (ms), round 1 of ${results.rounds.length}`);
  const chunkRow = (label: string, result: LatencyResult) => [
    label,
    ...TARGETS.map((name) => String(result.chunksPerResponse[name])),
    '',
    '',
  ];
  const errorRow = (label: string, result: LatencyResult) => [
    label,
    ...TARGETS.map((name) => String(result.errors[name])),
    '',
    '',
  ];
  lines.push(
    ...table([
      ['', 'direct', 'minimal', 'tollgate', 'minimal−direct', 'tollgate−minimal'],
      ...latencyRows('non-stream total', nonStream.total),
      ...latencyRows('  of which client → upstream', nonStream.path?.toUpstream),
      ...latencyRows('  of which upstream → client', nonStream.path?.fromUpstream),
      ...gatewayRows(nonStream),
      ...latencyRows('stream TTFB', stream.ttfb),
      ...latencyRows('  of which client → upstream', stream.path?.toUpstream),
      ...latencyRows('  of which upstream → 1st byte', stream.path?.fromUpstream),
      ...gatewayRows(stream),
      ...latencyRows(`stream inter-chunk (cadence ${options.chunkMs})`, stream.gaps),
      ...latencyRows('stream total', stream.total),
      chunkRow('stream body chunks (median)', stream),
      ...latencyRows('anthropic stream TTFB', anthropicStream.ttfb),
      ...latencyRows('anthropic inter-chunk', anthropicStream.gaps),
      errorRow('errors (non-stream / stream)', {
        ...nonStream,
        errors: {
          direct: nonStream.errors.direct + stream.errors.direct + anthropicStream.errors.direct,
          minimal: nonStream.errors.minimal + stream.errors.minimal + anthropicStream.errors.minimal,
          tollgate: nonStream.errors.tollgate + stream.errors.tollgate + anthropicStream.errors.tollgate,
        },
      }),
    ]).map((line) => `  ${line}`),
  );

  lines.push(
    '',
    `Throughput, non-stream (requests/s; errors in brackets when any), round 1 of ${results.rounds.length}`,
  );
  lines.push(
    ...table([
      ['', 'direct', 'minimal', 'tollgate', 'tollgate/minimal'],
      ...results.throughput.map((row) => [
        `concurrency ${row.direct.concurrency}`,
        ...TARGETS.map(
          (name) => `${row[name].perSecond.toFixed(0)}${row[name].errors > 0 ? ` [${row[name].errors}]` : ''}`,
        ),
        `${((row.tollgate.perSecond / row.minimal.perSecond) * 100).toFixed(0)}%`,
      ]),
    ]).map((line) => `  ${line}`),
  );

  lines.push('', `Tollgate's in-process overhead, x-tollgate-overhead-ms (ms), round 1 of ${results.rounds.length}`);
  const overhead = (label: string, summary: Summary | null) =>
    summary ? [label, ms(summary.p50), ms(summary.p99), ms(summary.max)] : [label, 'n/a', 'n/a', 'n/a'];
  lines.push(
    ...table([
      ['', 'p50', 'p99', 'max'],
      overhead('non-stream', nonStream.overhead),
      overhead('stream', stream.overhead),
      overhead('anthropic stream', anthropicStream.overhead),
    ]).map((line) => `  ${line}`),
  );

  lines.push(
    '',
    `DynamoDB calls per Tollgate request (counted on the wire, settles included), round 1 of ${results.rounds.length}`,
  );
  lines.push(dynamoLine('non-stream', results.dynamo.nonStream));
  lines.push(dynamoLine('stream', results.dynamo.stream));
  lines.push(dynamoLine('anthropic stream', results.dynamo.anthropicStream));
  const load64 = results.dynamo.throughput;
  lines.push(
    `  throughput series: ${load64.callsPerRequest.toFixed(2)} calls/request over ${load64.requests} requests (${describeCounts(load64.calls)})`,
    `  call latency p50/p99 ms, concurrency 1: ${describeLatency(results.dynamo.nonStream.latency)}`,
    `  call latency p50/p99 ms, throughput series: ${describeLatency(load64.latency)}`,
    `  connections the gateway opened to DynamoDB in the whole run: ${results.dynamo.connections}`,
  );

  lines.push('', 'Cold start');
  lines.push(
    `  bundle ${(coldStart.bundleBytes / KB).toFixed(1)} KB minified (+ ${(coldStart.sourceMapBytes / KB).toFixed(0)} KB source map); largest: ${coldStart.largest
      .map((entry) => `${entry.name} ${(entry.bytes / KB).toFixed(0)} KB`)
      .join(', ')}`,
  );
  lines.push(
    `  module init p50 ${ms(coldStart.initP50)} ms as deployed (stacks source-mapped on first use), ${ms(coldStart.initEnableSourceMapsP50)} ms with --enable-source-maps; ` +
      `process start → handler ready p50 ${ms(coldStart.processP50)} ms (${coldStart.initMs.length} fresh processes)`,
  );
  const init = figureNamed(results.figures, FIGURE.initP50);
  lines.push(
    `  module init p50 per round (${coldStart.initMsByRound.map((round) => round.length).join(' + ')} fresh processes): ` +
      `median ${withSpread(init)} ms — ${init.median <= 100 ? 'within' : 'over'} the 100 ms target (${init.median <= 100 ? 'PASS' : 'FAIL'})`,
  );

  lines.push('', 'Memory (RSS of the process in the path; start/end after a full GC)');
  const pass = (label: string, run: MemoryPass) =>
    `  ${label}: ${run.streamedMb.toFixed(0)} MB in ${run.seconds.toFixed(2)} s (${run.mbPerSecond.toFixed(0)} MB/s), ` +
    `RSS ${run.rssStartMb.toFixed(1)} → peak ${run.rssPeakMb.toFixed(1)} (${signed(run.deltaPeakMb)}) → end ${run.rssEndMb.toFixed(1)} MB (${signed(run.deltaEndMb)}); ` +
    `JS heap ${run.heapUsedMb[0].toFixed(1)} → ${run.heapUsedMb[1].toFixed(1)} MB, off-heap peak ${run.peakExternalMb.toFixed(1)} MB`;
  memory.tollgate.forEach((run, index) => {
    lines.push(pass(`tollgate, stream ${index + 1}`, run));
  });
  memory.minimal.forEach((run, index) => {
    lines.push(pass(`minimal,  stream ${index + 1}`, run));
  });

  lines.push(...cpuLines(results.cpu));
  lines.push(...lambdaLines(results.lambda));

  lines.push('', 'Console wallet page (GET /console/wallet, signed in)');
  lines.push(...walletLines(results.wallet, options.quick));

  lines.push('', 'Targets');
  lines.push(
    ...table([
      ['', 'value', 'target', 'result'],
      ...results.checks.map((check) => [
        check.name,
        `${Number.isInteger(check.value) ? check.value : check.value.toFixed(2)} ${check.unit}`.trim(),
        check.target,
        check.pass ? 'PASS' : 'FAIL',
      ]),
    ]).map((line) => `  ${line}`),
  );
  for (const check of results.checks) if (check.note) lines.push(`  · ${check.name}: ${check.note}`);
  return lines.join('\n');
};
