/** The two load shapes of the bench: alternating single requests, and timed bursts at a concurrency. */
import { type RequestSpec, type Sample, send, type Target, type TargetName } from './client.ts';

export type PerTarget<T> = Record<TargetName, T>;

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const rotate = <T>(items: readonly T[], by: number): T[] =>
  items.map((_, index) => items[(index + by) % items.length] as T);

/**
 * `rounds` rounds of one request per target, one at a time, the order rotating each round so no
 * target always follows the same other: machine noise (GC, the other processes, DynamoDB Local)
 * lands on all of them alike. `settle(target)` is awaited after each request (untimed), so one
 * target's after-work (Tollgate's settle in DynamoDB) does not run during the next one's request.
 *
 * @example
 * const samples = await alternate([direct, minimal, tollgate], spec, 400, () => pause(5));
 */
export const alternate = async (
  targets: readonly Target[],
  spec: RequestSpec,
  rounds: number,
  settle: (target: Target) => Promise<void> = async () => {},
): Promise<PerTarget<Sample[]>> => {
  const samples: PerTarget<Sample[]> = { direct: [], minimal: [], tollgate: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const target of rotate(targets, round)) {
      samples[target.name].push(await send(target, spec));
      await settle(target);
    }
  }
  return samples;
};

export interface Throughput {
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
}

/** `concurrency` workers sending back to back for `ms`; requests still running at the end are awaited and counted. */
const burst = async (target: Target, spec: RequestSpec, concurrency: number, ms: number) => {
  const until = performance.now() + ms;
  let requests = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const sample = await send(target, spec);
      if (sample.status === 200) requests += 1;
      else errors += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests, errors, seconds: (performance.now() - started) / 1000 };
};

/**
 * Throughput per target at one concurrency: `rounds` bursts each, targets taking turns, with
 * `between()` awaited after each burst (so Tollgate's settles do not spill into the next target's).
 */
export const throughput = async (
  targets: readonly Target[],
  spec: RequestSpec,
  concurrency: number,
  msPerTarget: number,
  rounds: number,
  between: () => Promise<void>,
): Promise<PerTarget<Throughput>> => {
  const totals: PerTarget<{ requests: number; errors: number; seconds: number }> = {
    direct: { requests: 0, errors: 0, seconds: 0 },
    minimal: { requests: 0, errors: 0, seconds: 0 },
    tollgate: { requests: 0, errors: 0, seconds: 0 },
  };
  for (let round = 0; round < rounds; round += 1) {
    for (const target of rotate(targets, round)) {
      const result = await burst(target, spec, concurrency, msPerTarget / rounds);
      const total = totals[target.name];
      total.requests += result.requests;
      total.errors += result.errors;
      total.seconds += result.seconds;
      await between();
    }
  }
  const of = (name: TargetName): Throughput => {
    const total = totals[name];
    return { concurrency, ...total, perSecond: total.requests / total.seconds };
  };
  return { direct: of('direct'), minimal: of('minimal'), tollgate: of('tollgate') };
};
