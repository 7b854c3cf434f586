/**
 * The gateway at Lambda's CPU share for each memory size: its process (only it: not DynamoDB
 * Local, not the upstream, not the minimal proxy) put under a cgroup CPU quota of
 * 100 ms × MB / 1,769 per 100 ms, then the non-stream latency over the minimal proxy and a
 * translated stream (OpenAI chat client → Anthropic upstream, 2,000 tokens sent at once by the
 * upstream) measured. Lambda bills memory × duration and the proxy waits on the upstream for the
 * whole generation, so the cost per million 10-second streams is shown beside each size.
 */

import { type CpuLimits, costPerMillion, lambdaCpuShare, openCpuLimits, quotaUs, type Throttling } from './cgroup.ts';
import { send } from './client.ts';
import { type PhaseCpu, startPhase } from './cpu.ts';
import { measuredSeries } from './measure.ts';
import { chatSpec, log, type Register, type Rig, TRANSLATED_TOKENS, translatedSpec } from './rig.ts';
import { alternate } from './series.ts';
import { type Summary, summarize } from './stats.ts';

/** The stream length the cost column assumes. */
export const COST_STREAM_SECONDS = 10;

export interface LambdaSizeResult {
  mb: number;
  /** Of one vCPU. */
  cpuShare: number;
  quotaUs: number;
  /** Non-stream latency, Tollgate − minimal. */
  addedP50: number;
  addedP99: number;
  errors: number;
  /** Translated stream: request → first body byte (upstream TTFB 0). */
  streamTtfb: Summary;
  /** Tokens per second through the translation, per stream (median over the streams). */
  tokensPerSecond: number;
  mbPerSecond: number;
  streamErrors: number;
  /** Lambda's bill for a million 10-second streams at this size, USD. */
  costPerMillion: number;
  cpu: PhaseCpu;
  /** How often the quota stopped the gateway during this size's measurement (cgroup cpu.stat). */
  throttling?: Throttling;
}

export interface LambdaResult {
  /** Why the section did not run (no writable cgroup CPU controller), or undefined. */
  unavailable?: string;
  cgroup?: 'v1' | 'v2';
  sizes: LambdaSizeResult[];
  /** The same measurement with no quota (the machine's whole CPU), for reference; `mb` 0. */
  unlimited?: LambdaSizeResult;
  /** The smallest size whose added p99 ≤ 2 × the reference size's (1,024 MB, or the largest measured). */
  suggested?: { mb: number; referenceMb: number; thresholdMs: number };
}

export const SUGGESTION_RULE =
  'smallest size whose non-stream added latency p99 stays within 2× of the 1,024 MB figure (or of the largest size measured)';

/** One size; `limits` undefined: the same measurement without a quota (the reference row, `mb` 0). */
const measureSize = async (rig: Rig, limits: CpuLimits | undefined, mb: number): Promise<LambdaSizeResult> => {
  const pid = rig.gateway.process.pid;
  if (pid === undefined) throw new Error('the gateway process has no pid');
  limits?.limit(pid, mb);
  const share = limits ? lambdaCpuShare(mb) : Number.NaN;
  log(
    limits
      ? `Lambda ${mb} MB: gateway limited to ${(share * 100).toFixed(1)}% of a core (quota ${quotaUs(mb)} µs / 100 ms)…`
      : 'Lambda sizes: the same measurement without a quota first, for reference…',
  );
  const label = limits ? `lambda ${mb} MB` : 'lambda, no quota';
  const throttledBefore = limits?.throttling(mb);
  const done = startPhase(label, {
    'dynamodb-local': rig.dynamoPid,
    gateway: pid,
    minimal: rig.minimal.process.pid,
    upstream: rig.upstream.process.pid,
  });
  try {
    const pair = rig.targets.filter((target) => target.name !== 'direct');
    await alternate(pair, chatSpec(false), 5); // JIT and caches settle under the new quota
    const series = await measuredSeries(rig, `${label} non-stream`, chatSpec(false), rig.options.lambdaRequests);
    const { total, errors } = series.latency;
    const tollgate = rig.targets.find((target) => target.name === 'tollgate');
    if (!tollgate) throw new Error('no tollgate target');
    const spec = translatedSpec();
    for (let index = 0; index < 3; index += 1) await send(tollgate, spec); // the translation's code JIT-compiled
    const ttfb: number[] = [];
    const tokens: number[] = [];
    const mbs: number[] = [];
    let streamErrors = 0;
    for (let index = 0; index < rig.options.lambdaStreams; index += 1) {
      const sample = await send(tollgate, spec);
      if (sample.status !== 200) {
        streamErrors += 1;
        continue;
      }
      ttfb.push(sample.ttfbMs);
      tokens.push(TRANSLATED_TOKENS / (sample.totalMs / 1000));
      mbs.push(sample.bytes / 1024 / 1024 / (sample.totalMs / 1000));
    }
    const throttledAfter = limits?.throttling(mb);
    const throttling =
      throttledBefore && throttledAfter
        ? {
            periods: throttledAfter.periods - throttledBefore.periods,
            throttled: throttledAfter.throttled - throttledBefore.throttled,
            throttledMs: throttledAfter.throttledMs - throttledBefore.throttledMs,
          }
        : undefined;
    return {
      ...(throttling ? { throttling } : {}),
      mb,
      cpuShare: share,
      quotaUs: limits ? quotaUs(mb) : Number.NaN,
      addedP50: total.tollgate.p50 - total.minimal.p50,
      addedP99: total.tollgate.p99 - total.minimal.p99,
      errors: errors.tollgate,
      streamTtfb: summarize(ttfb),
      tokensPerSecond: summarize(tokens).p50,
      mbPerSecond: summarize(mbs).p50,
      streamErrors,
      costPerMillion: limits ? costPerMillion(mb, COST_STREAM_SECONDS) : Number.NaN,
      cpu: done(),
    };
  } finally {
    limits?.release(pid);
  }
};

/**
 * Runs each size in turn (smallest first) and removes the cgroups afterwards — also on Ctrl-C, via
 * `register`. When no CPU controller can be written, answers why and measures nothing.
 *
 * @example
 * const lambda = await measureLambdaSizes(rig, [128, 1024], register);
 */
export const measureLambdaSizes = async (rig: Rig, sizes: readonly number[], register: Register) => {
  const result: LambdaResult = { sizes: [] };
  if (sizes.length === 0) return result;
  const limits = openCpuLimits();
  if (typeof limits === 'string') {
    log(`cgroup CPU quotas unavailable here: ${limits}`);
    result.unavailable = limits;
    return result;
  }
  result.cgroup = limits.version;
  register(async () => limits.cleanup());
  try {
    result.unlimited = await measureSize(rig, undefined, 0);
    for (const mb of [...sizes].sort((a, b) => a - b)) result.sizes.push(await measureSize(rig, limits, mb));
  } finally {
    limits.cleanup();
  }
  const reference = result.sizes.find((size) => size.mb === 1024) ?? result.sizes.at(-1);
  if (reference) {
    const thresholdMs = 2 * reference.addedP99;
    const pick = result.sizes.find((size) => size.errors === 0 && size.addedP99 <= thresholdMs) ?? reference;
    result.suggested = { mb: pick.mb, referenceMb: reference.mb, thresholdMs };
  }
  return result;
};
