/**
 * The bench's moving parts: DynamoDB Local, the fake upstream, the DynamoDB call counter, the
 * minimal proxy and the gateway, each child in its own process; the three targets the client
 * alternates between; and the requests it sends.
 */
import { type DynamoDbLocal, startDynamoDbLocal } from '../../lambdas/store/dynamodb-local.ts';
import { makeTarget, type RequestSpec, type Target } from './client.ts';
import type { DynamoCall } from './dynamo-counter.ts';
import type { GatewayMark, GatewayStart } from './gateway-process.ts';
import type { BenchOptions } from './options.ts';
import { forkRpc, type RpcChild } from './rpc.ts';
import { BENCH_ROUTES, BENCH_TABLE_PREFIX, seedBench, warmDynamo } from './setup.ts';
import type { Arrival, UpstreamStart } from './upstream-process.ts';

const UPSTREAM_KEY = 'sk-bench-upstream';
const BULK_FRAME_BYTES = 64 * 1024;
/** Content pieces (tokens) in each translated stream of the Lambda-size section. */
export const TRANSLATED_TOKENS = 2_000;

const LOG_START = performance.now();
/** A progress line on stderr, with the seconds since the bench started. */
export const log = (line: string): void =>
  void process.stderr.write(`[bench +${((performance.now() - LOG_START) / 1000).toFixed(1)}s] ${line}\n`);

export interface Rig {
  options: BenchOptions;
  /** DynamoDB Local's java process (its CPU time is read from /proc). */
  dynamoPid: number | undefined;
  upstream: RpcChild;
  minimal: RpcChild;
  counter: RpcChild;
  gateway: RpcChild;
  targets: Target[];
}

/** Something started that must be stopped, even on Ctrl-C. */
export type Register = (stop: () => Promise<unknown>) => void;

const body = (value: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(value));

/** An OpenAI chat request for the route `model`. */
export const chatSpec = (stream: boolean, model: string = BENCH_ROUTES.openai): RequestSpec => ({
  path: '/v1/chat/completions',
  // include_usage on every target: Tollgate asks the upstream for it anyway, so all three get the same frames.
  body: body({
    model,
    messages: [{ role: 'user', content: 'Say hello' }],
    max_tokens: 64,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  }),
  gaps: stream,
});

/** An OpenAI chat stream to the `bench-translated` route (Anthropic upstream): translated both ways. */
export const translatedSpec = (): RequestSpec => ({
  ...chatSpec(true, BENCH_ROUTES.translated),
  body: body({
    model: BENCH_ROUTES.translated,
    messages: [{ role: 'user', content: 'Say hello' }],
    max_tokens: 8_192,
    stream: true,
    stream_options: { include_usage: true },
  }),
  gaps: false,
  timeoutMs: 120_000,
});

/** An Anthropic Messages stream for the `bench-anthropic` route. */
export const messagesSpec = (): RequestSpec => ({
  path: '/v1/messages',
  body: body({
    model: BENCH_ROUTES.anthropic,
    messages: [{ role: 'user', content: 'Say hello' }],
    max_tokens: 64,
    stream: true,
  }),
  gaps: true,
});

/** A child's `performance.now()` minus ours, from the IPC round-trip with the least delay. */
const clockOffset = async (child: RpcChild): Promise<number> => {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let attempt = 0; attempt < 7; attempt += 1) {
    const before = performance.now();
    const theirs = await child.call<number>('clock');
    const after = performance.now();
    if (after - before < best.rtt) best = { rtt: after - before, offset: theirs - (before + after) / 2 };
  }
  return best.offset;
};

/** Upstream arrivals since `since` (our clock), on our clock. */
export const arrivalsSince = async (rig: Rig, since: number): Promise<Arrival[]> => {
  const offset = await clockOffset(rig.upstream);
  const arrivals = await rig.upstream.call<Arrival[]>('arrivals', since + offset);
  return arrivals.map((arrival) => ({ ...arrival, at: arrival.at - offset }));
};

/** DynamoDB calls since `since` (our clock), on our clock. */
export const callsSince = async (rig: Rig, since: number): Promise<DynamoCall[]> => {
  const offset = await clockOffset(rig.counter);
  const calls = await rig.counter.call<DynamoCall[]>('calls', since + offset);
  return calls.map((call) => {
    const moved: DynamoCall = { op: call.op, startAt: call.startAt - offset };
    if (call.endAt !== undefined) moved.endAt = call.endAt - offset;
    return moved;
  });
};

/** The gateway's marks since `since` (our clock), on our clock: requests in, upstream calls out. */
export const marksSince = async (rig: Rig, since: number) => {
  const offset = await clockOffset(rig.gateway);
  const marks = await rig.gateway.call<GatewayMark[]>('marks', since + offset);
  const of = (kind: GatewayMark['kind']) =>
    marks.filter((entry) => entry.kind === kind).map((entry) => entry.at - offset);
  return { requests: of('request'), fetches: of('fetch') };
};

/** Waits until Tollgate's settles have reached DynamoDB (no call in flight, 50 ms quiet). */
export const dynamoIdle = async (rig: Rig): Promise<void> => {
  await rig.counter.call('idle', { quietMs: 50, timeoutMs: 15_000 });
};

/**
 * Starts everything, each piece registered for teardown as soon as it runs.
 *
 * @example
 * const rig = await startRig(options, (stop) => register(stop));
 */
export const startRig = async (options: BenchOptions, register: Register): Promise<Rig> => {
  const child = async (file: string, execArgv: string[] = []): Promise<RpcChild> => {
    const started = await forkRpc(new URL(file, import.meta.url), { execArgv });
    register(() => started.stop());
    return started;
  };

  log('starting DynamoDB Local (in memory, with its optimizing JIT)…');
  const dynamo: DynamoDbLocal = await startDynamoDbLocal({ jit: 'steady' });
  register(() => dynamo.stop());

  const upstream = await child('./upstream-process.ts');
  const upstreamStart: UpstreamStart = {
    ttfbMs: options.ttfbMs,
    chunkMs: options.chunkMs,
    chunks: options.chunks,
    tollgateUpstreamKey: UPSTREAM_KEY,
    bulkModel: BENCH_ROUTES.bulk,
    bulkFrames: Math.ceil((options.memoryMb * 1024 * 1024) / BULK_FRAME_BYTES),
    bulkFrameBytes: BULK_FRAME_BYTES,
    translatedModel: BENCH_ROUTES.translated,
    translatedTokens: TRANSLATED_TOKENS,
  };
  const { url: upstreamUrl } = await upstream.call<{ url: string }>('start', upstreamStart);
  const counter = await child('./counter-process.ts');
  const { endpoint: countedDynamo } = await counter.call<{ endpoint: string }>('start', {
    dynamoPort: dynamo.port,
    delayMs: options.dynamoDelayMs,
  });
  const secret = await seedBench(dynamo.endpoint, upstreamUrl);
  if (options.dynamoWarmup > 0) {
    log(`warming DynamoDB Local's JIT: ${options.dynamoWarmup.toLocaleString('en-US')} ledger rows (about 10 s)…`);
    const started = performance.now();
    await warmDynamo(dynamo.endpoint, options.dynamoWarmup);
    log(`DynamoDB Local warm in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  const minimal = await child('./minimal-proxy.ts', ['--expose-gc']);
  const { url: minimalUrl } = await minimal.call<{ url: string }>('start', { upstreamUrl });

  // --expose-gc only so RSS readings before and after the memory check are taken after a full GC.
  const gateway = await child('./gateway-process.ts', ['--expose-gc']);
  const gatewayStart: GatewayStart = {
    dynamoEndpoint: countedDynamo,
    tablePrefix: BENCH_TABLE_PREFIX,
    env: { OPENAI_API_KEY: UPSTREAM_KEY, ANTHROPIC_API_KEY: UPSTREAM_KEY },
  };
  const { url: gatewayUrl } = await gateway.call<{ url: string }>('start', gatewayStart);

  const placeholder = { authorization: 'Bearer sk-bench-direct', 'x-api-key': 'sk-bench-direct' };
  const anthropicVersion = { 'anthropic-version': '2023-06-01' };
  const targets = [
    makeTarget('direct', upstreamUrl, { ...placeholder, ...anthropicVersion }),
    makeTarget('minimal', minimalUrl, { ...placeholder, ...anthropicVersion }),
    makeTarget('tollgate', gatewayUrl, { authorization: `Bearer ${secret}`, ...anthropicVersion }),
  ];
  register(async () => {
    for (const target of targets) target.agent.destroy();
  });
  return { options, dynamoPid: dynamo.process.pid, upstream, minimal, counter, gateway, targets };
};
