/** Turns raw samples into the numbers the issue asks for, and those numbers into PASS/FAIL. */
import type { Sample, TargetName } from './client.ts';
import type { DynamoCall } from './dynamo-counter.ts';
import type { PerTarget } from './series.ts';
import { type Summary, summarize } from './stats.ts';
import type { Arrival } from './upstream-process.ts';

export const TARGETS: readonly TargetName[] = ['direct', 'minimal', 'tollgate'];

const perTarget = <T>(make: (name: TargetName) => T): PerTarget<T> => ({
  direct: make('direct'),
  minimal: make('minimal'),
  tollgate: make('tollgate'),
});

const ok = (samples: readonly Sample[]) => samples.filter((sample) => sample.status === 200);

export interface PathSplit {
  /** Client sent → the upstream had read the request: the request path (every hop's inbound cost). */
  toUpstream: PerTarget<Summary>;
  /** The upstream had the request → first body byte at the client: its TTFB plus every hop's way back. */
  fromUpstream: PerTarget<Summary>;
}

export interface LatencyResult {
  /** Request → last byte. */
  total: PerTarget<Summary>;
  /** Request → first body byte. */
  ttfb: PerTarget<Summary>;
  /** Gaps between body chunks (streams). */
  gaps: PerTarget<Summary>;
  /** Median body chunks per response: as many as the upstream wrote when nothing is buffered. */
  chunksPerResponse: PerTarget<number>;
  errors: PerTarget<number>;
  /** `x-tollgate-overhead-ms` on Tollgate's answers; null when the header is absent. */
  overhead: Summary | null;
  /** Where the added time goes: on the way to the upstream or on the way back. */
  path?: PathSplit;
  /** Tollgate's way to the upstream, split at the gateway's own marks. */
  gateway?: GatewayPath;
}

/** The first time in [from, to] of an ascending list, by binary search. */
const firstWithin = (times: readonly number[], from: number, to: number): number | undefined => {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((times[middle] ?? 0) < from) low = middle + 1;
    else high = middle;
  }
  const at = times[low];
  return at !== undefined && at <= to ? at : undefined;
};

/**
 * Splits each request's time to first byte at the moment the upstream received it (arrivals on
 * this process's clock). Requests ran one at a time, so the one arrival inside a request's window
 * is its own.
 */
export const analyzePath = (samples: PerTarget<Sample[]>, arrivals: readonly Arrival[]): PathSplit => {
  const times = arrivals.map((arrival) => arrival.at).sort((a, b) => a - b);
  const split = (name: TargetName) => {
    const to: number[] = [];
    const back: number[] = [];
    for (const sample of ok(samples[name])) {
      const from = sample.startedAt;
      const arrival = firstWithin(times, from, from + sample.totalMs);
      if (arrival === undefined) continue;
      to.push(arrival - from);
      back.push(sample.ttfbMs - (arrival - from));
    }
    return { to: summarize(to), back: summarize(back) };
  };
  const all = perTarget(split);
  return {
    toUpstream: perTarget((name) => all[name].to),
    fromUpstream: perTarget((name) => all[name].back),
  };
};

/** Latency per operation of DynamoDB calls (as seen by the counting proxy), in ms. */
export const callLatency = (calls: readonly DynamoCall[]): Record<string, Summary> => {
  const byOp = new Map<string, number[]>();
  for (const call of calls) {
    if (call.endAt === undefined) continue;
    const list = byOp.get(call.op) ?? [];
    list.push(call.endAt - call.startAt);
    byOp.set(call.op, list);
  }
  return Object.fromEntries([...byOp].map(([op, values]) => [op, summarize(values)]));
};

/** Percentiles per target of what one alternating series measured. */
export const analyzeLatency = (samples: PerTarget<Sample[]>): LatencyResult => {
  const overheads = ok(samples.tollgate).flatMap((sample) =>
    sample.overheadMs === undefined ? [] : [sample.overheadMs],
  );
  return {
    total: perTarget((name) => summarize(ok(samples[name]).map((sample) => sample.totalMs))),
    ttfb: perTarget((name) => summarize(ok(samples[name]).map((sample) => sample.ttfbMs))),
    gaps: perTarget((name) => summarize(ok(samples[name]).flatMap((sample) => sample.gaps))),
    chunksPerResponse: perTarget((name) => summarize(ok(samples[name]).map((sample) => sample.chunks)).p50),
    errors: perTarget((name) => samples[name].length - ok(samples[name]).length),
    overhead: overheads.length > 0 ? summarize(overheads) : null,
  };
};

export interface DynamoResult {
  /** Tollgate requests in the series. */
  requests: number;
  /** All calls the series caused (settles included), per operation and table. */
  calls: Record<string, number>;
  callsPerRequest: number;
  /** Requests whose arrival at the gateway and upstream call were both found (the rest cannot be attributed). */
  matched: number;
  /** Calls sent after the request reached the gateway and before it called the upstream (e.g. the overlapped hold). */
  startedBeforeUpstream: number;
  /** Requests where a DynamoDB call was answered before the gateway called the upstream: a round-trip on the path. */
  requestsWithRoundTripBeforeUpstream: number;
  /** Those round-trips, per operation and table. */
  roundTripsBeforeUpstream: Record<string, number>;
  /** How long each kind of call took. */
  latency: Record<string, Summary>;
}

/** Where a Tollgate request's way to the upstream goes, from the gateway's own marks. */
export interface GatewayPath {
  /** Client sent → the gateway's HTTP server had the request. */
  toGateway: Summary;
  /** The gateway had the request → it called fetch() for the upstream (function URL, middy chain, hold start). */
  toUpstreamCall: Summary;
  /** fetch() called → the upstream had read the request. */
  upstreamCallToArrival: Summary;
}

/**
 * Splits each Tollgate request's way to the upstream at the gateway's marks (request in, fetch
 * called), and attributes the DynamoDB calls in between (all times on this process's clock).
 * Requests ran one at a time, so each window holds one request.
 */
export const analyzeGateway = (
  samples: readonly Sample[],
  marks: { requests: readonly number[]; fetches: readonly number[] },
  arrivals: readonly Arrival[],
  calls: readonly DynamoCall[],
  counts: Record<string, number>,
): { dynamo: DynamoResult; path: GatewayPath } => {
  const upstream = arrivals
    .filter((arrival) => arrival.tollgate)
    .map((arrival) => arrival.at)
    .sort((a, b) => a - b);
  const requests = [...marks.requests].sort((a, b) => a - b);
  const fetches = [...marks.fetches].sort((a, b) => a - b);
  const toGateway: number[] = [];
  const toUpstreamCall: number[] = [];
  const upstreamCallToArrival: number[] = [];
  let matched = 0;
  let startedBeforeUpstream = 0;
  let requestsWithRoundTripBeforeUpstream = 0;
  const roundTripsBeforeUpstream: Record<string, number> = {};
  for (const sample of samples) {
    const end = sample.startedAt + sample.totalMs;
    const received = firstWithin(requests, sample.startedAt, end);
    const called = received === undefined ? undefined : firstWithin(fetches, received, end);
    if (received === undefined || called === undefined) continue;
    matched += 1;
    toGateway.push(received - sample.startedAt);
    toUpstreamCall.push(called - received);
    const arrived = firstWithin(upstream, called, end);
    if (arrived !== undefined) upstreamCallToArrival.push(arrived - called);
    const before = calls.filter((call) => call.startAt >= received && call.startAt < called);
    startedBeforeUpstream += before.length;
    const roundTrips = before.filter((call) => call.endAt !== undefined && call.endAt <= called);
    if (roundTrips.length > 0) requestsWithRoundTripBeforeUpstream += 1;
    for (const call of roundTrips) roundTripsBeforeUpstream[call.op] = (roundTripsBeforeUpstream[call.op] ?? 0) + 1;
  }
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  return {
    dynamo: {
      requests: samples.length,
      calls: counts,
      callsPerRequest: samples.length > 0 ? total / samples.length : Number.NaN,
      matched,
      startedBeforeUpstream,
      requestsWithRoundTripBeforeUpstream,
      roundTripsBeforeUpstream,
      latency: callLatency(calls),
    },
    path: {
      toGateway: summarize(toGateway),
      toUpstreamCall: summarize(toUpstreamCall),
      upstreamCallToArrival: summarize(upstreamCallToArrival),
    },
  };
};

export interface Check {
  name: string;
  value: number;
  target: string;
  pass: boolean;
  unit: string;
  note?: string;
}

/** A check that passes when `value ≤ limit`. */
export const atMost = (name: string, value: number, limit: number, unit: string, note?: string): Check => {
  const check: Check = { name, value, target: `≤ ${limit} ${unit}`, pass: value <= limit, unit };
  if (note !== undefined) check.note = note;
  return check;
};
