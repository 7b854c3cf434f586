/** The measured phases: alternating latency series, throughput bursts and the memory check. */
import {
  analyzeGateway,
  analyzeLatency,
  analyzePath,
  callLatency,
  type DynamoResult,
  type LatencyResult,
} from './analyze.ts';
import { type RequestSpec, type Sample, send, type Target, type TargetName } from './client.ts';
import type { MemorySample } from './memory-probe.ts';
import type { MemoryPass, MemoryResult } from './report.ts';
import { arrivalsSince, callsSince, chatSpec, dynamoIdle, log, marksSince, type Rig } from './rig.ts';
import type { RpcChild } from './rpc.ts';
import { alternate, type PerTarget, pause, type Throughput, throughput } from './series.ts';
import { BENCH_ROUTES } from './setup.ts';

/** One alternating series, plus the DynamoDB calls Tollgate's requests caused. */
export const measuredSeries = async (
  rig: Rig,
  label: string,
  spec: RequestSpec,
  rounds: number,
): Promise<{ latency: LatencyResult; dynamo: DynamoResult }> => {
  log(`${label}: ${rounds} requests per target, alternating…`);
  await dynamoIdle(rig);
  await rig.counter.call('counts');
  const since = performance.now();
  const samples = await alternate(rig.targets, spec, rounds, async (target) => {
    if (target.name === 'tollgate') await rig.counter.call('idle', { quietMs: 5, timeoutMs: 2_000 });
    if (rig.options.pauseMs > 0) await pause(rig.options.pauseMs);
  });
  await dynamoIdle(rig);
  const counts = await rig.counter.call<Record<string, number>>('counts');
  const [arrivals, calls, marks] = [
    await arrivalsSince(rig, since),
    await callsSince(rig, since),
    await marksSince(rig, since),
  ];
  log(`${label}: done in ${((performance.now() - since) / 1000).toFixed(1)} s`);
  const gateway = analyzeGateway(samples.tollgate, marks, arrivals, calls, counts);
  const latency = { ...analyzeLatency(samples), path: analyzePath(samples, arrivals), gateway: gateway.path };
  return { latency, dynamo: gateway.dynamo };
};

/** Requests/s per target at each concurrency, and the DynamoDB calls Tollgate made meanwhile. */
export const measureThroughput = async (rig: Rig) => {
  const spec = chatSpec(false);
  const rounds = rig.options.quick ? 1 : 2;
  await dynamoIdle(rig);
  await rig.counter.call('counts');
  const since = performance.now();
  const results: PerTarget<Throughput>[] = [];
  for (const concurrency of rig.options.concurrency) {
    log(`throughput at concurrency ${concurrency}: ${rig.options.throughputMs} ms per target…`);
    results.push(
      await throughput(rig.targets, spec, concurrency, rig.options.throughputMs, rounds, () => dynamoIdle(rig)),
    );
  }
  const calls = await rig.counter.call<Record<string, number>>('counts');
  const latency = callLatency(await callsSince(rig, since));
  const requests = results.reduce((sum, row) => sum + row.tollgate.requests + row.tollgate.errors, 0);
  const total = Object.values(calls).reduce((sum, count) => sum + count, 0);
  const callsPerRequest = requests > 0 ? total / requests : Number.NaN;
  return { results, dynamo: { requests, calls, callsPerRequest, latency } };
};

/** One stream of `memoryMb` through `target`, with the memory of `process` (its child) sampled every 10 ms. */
const memoryPass = async (rig: Rig, process: RpcChild, target: Target): Promise<MemoryPass> => {
  await dynamoIdle(rig);
  const before = await process.call<MemorySample>('memory');
  await process.call('startSampling', { everyMs: 10 });
  const spec: RequestSpec = { ...chatSpec(true, BENCH_ROUTES.bulk), gaps: false, timeoutMs: 300_000 };
  const sample: Sample = await send(target, spec);
  const samples = await process.call<MemorySample[]>('stopSampling');
  await dynamoIdle(rig);
  const after = await process.call<MemorySample>('memory');
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const peak = Math.max(before.rss, ...samples.map((reading) => reading.rss));
  const peakExternal = Math.max(before.external, ...samples.map((reading) => reading.external));
  return {
    status: sample.status,
    streamedMb: mb(sample.bytes),
    seconds: sample.totalMs / 1000,
    mbPerSecond: mb(sample.bytes) / (sample.totalMs / 1000),
    rssStartMb: mb(before.rss),
    rssPeakMb: mb(peak),
    rssEndMb: mb(after.rss),
    deltaPeakMb: mb(peak - before.rss),
    deltaEndMb: mb(after.rss - before.rss),
    samples: samples.length,
    heapUsedMb: [mb(before.heapUsed), mb(after.heapUsed)],
    externalMb: [mb(before.external), mb(after.external)],
    peakExternalMb: mb(peakExternal),
  };
};

/**
 * `memoryPasses` streams each through Tollgate and, for comparison, through the minimal proxy,
 * alternating: the first pass also shows the one-time growth of a process that has not yet moved
 * large chunks; the later ones whether memory keeps growing with the volume.
 */
export const measureMemory = async (rig: Rig): Promise<MemoryResult> => {
  const { memoryMb, memoryPasses } = rig.options;
  log(`memory: streaming ${memoryMb} MB ${memoryPasses}× through Tollgate and through the minimal proxy…`);
  const target = (name: TargetName): Target => {
    const found = rig.targets.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no ${name} target`);
    return found;
  };
  const result: MemoryResult = { tollgate: [], minimal: [] };
  for (let pass = 0; pass < memoryPasses; pass += 1) {
    result.minimal.push(await memoryPass(rig, rig.minimal, target('minimal')));
    result.tollgate.push(await memoryPass(rig, rig.gateway, target('tollgate')));
  }
  return result;
};
