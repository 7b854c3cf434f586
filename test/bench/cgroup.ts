/**
 * Lambda's CPU share for a memory size, imposed on one process with a cgroup CPU quota: Lambda gives
 * one vCPU at 1,769 MB and a share pro rata below it. cgroup v1 (cpu controller, cpu.cfs_quota_us)
 * or v2 (cpu.max); when neither can be written, `openCpuLimits` says why and the caller skips.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LAMBDA_FULL_VCPU_MB = 1769;
export const CFS_PERIOD_US = 100_000;

/** Lambda's CPU share at `mb` (1 = one vCPU). */
export const lambdaCpuShare = (mb: number): number => mb / LAMBDA_FULL_VCPU_MB;

/** The quota per 100 ms period: round(100000 × mb / 1769). */
export const quotaUs = (mb: number): number => Math.round(CFS_PERIOD_US * lambdaCpuShare(mb));

export interface Throttling {
  /** Enforcement periods (100 ms) in which the cgroup ran. */
  periods: number;
  /** Of those, how many ran out of quota. */
  throttled: number;
  /** Time the cgroup's threads waited for the next period, in total. */
  throttledMs: number;
}

export interface CpuLimits {
  version: 'v1' | 'v2';
  /** Puts `pid` (all its threads) under the quota for `mb`; the cgroup is created on first use. */
  limit(pid: number, mb: number): void;
  /** The quota's throttling so far in the cgroup for `mb` (cpu.stat), or undefined when unreadable. */
  throttling(mb: number): Throttling | undefined;
  /** Moves `pid` back where it was before the first `limit`. */
  release(pid: number): void;
  /** Moves every process it placed back and removes every cgroup it created (idempotent). */
  cleanup(): void;
}

const V1_ROOT = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';
const NAME = (mb: number) => `tollgate-bench-${mb}`;

/** The process's cgroup path for the v1 cpu controller (`4:cpu,cpuacct:/x` → `/x`), or v2's (`0::/x`). */
const cgroupOf = (pid: number, version: 'v1' | 'v2'): string => {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  for (const line of lines) {
    const [, controllers = '', path = '/'] = line.split(':');
    if (version === 'v2' && controllers === '') return path;
    if (version === 'v1' && controllers.split(',').includes('cpu')) return path;
  }
  return '/';
};

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Opens the machine's CPU controller for quotas, or answers why it cannot (not Linux, no cgroup
 * CPU controller, not writable: not root, or a read-only /sys in a container).
 *
 * @example
 * const limits = openCpuLimits();
 * if (typeof limits === 'string') console.log(`cgroup CPU quotas unavailable here: ${limits}`);
 */
export const openCpuLimits = (): CpuLimits | string => {
  if (process.platform !== 'linux') return `cgroups are Linux-only (this is ${process.platform})`;
  let version: 'v1' | 'v2';
  let root: string;
  if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) {
    version = 'v1';
    root = V1_ROOT;
  } else if (existsSync(join(V2_ROOT, 'cgroup.controllers'))) {
    version = 'v2';
    root = V2_ROOT;
    const controllers = readFileSync(join(V2_ROOT, 'cgroup.controllers'), 'utf8');
    if (!controllers.split(/\s+/).includes('cpu'))
      return `cgroup v2 without the cpu controller (${controllers.trim()})`;
    try {
      writeFileSync(join(V2_ROOT, 'cgroup.subtree_control'), '+cpu');
    } catch (error) {
      return `cannot enable the cpu controller for child cgroups: ${errorText(error)}`;
    }
  } else {
    return 'no cgroup CPU controller at /sys/fs/cgroup/cpu (v1) or /sys/fs/cgroup (v2)';
  }
  // Probe: create and remove one cgroup now, so a read-only or unprivileged setup is found before measuring.
  const probe = join(root, 'tollgate-bench-probe');
  try {
    mkdirSync(probe, { recursive: true });
    rmdirSync(probe);
  } catch (error) {
    return `cannot create a cgroup under ${root}: ${errorText(error)}`;
  }

  const created = new Set<string>();
  const origins = new Map<number, string>();
  const dir = (mb: number): string => {
    const path = join(root, NAME(mb));
    if (!existsSync(path)) mkdirSync(path);
    created.add(path);
    if (version === 'v1') {
      writeFileSync(join(path, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
      writeFileSync(join(path, 'cpu.cfs_quota_us'), String(quotaUs(mb)));
    } else {
      writeFileSync(join(path, 'cpu.max'), `${quotaUs(mb)} ${CFS_PERIOD_US}`);
    }
    return path;
  };
  const moveTo = (pid: number, path: string): void => writeFileSync(join(path, 'cgroup.procs'), String(pid));
  const release = (pid: number): void => {
    const origin = origins.get(pid);
    if (origin === undefined) return;
    try {
      moveTo(pid, join(root, origin));
    } catch {
      // The process is gone: nothing left to move.
    }
    origins.delete(pid);
  };
  return {
    version,
    throttling(mb) {
      try {
        const stat = Object.fromEntries(
          readFileSync(join(root, NAME(mb), 'cpu.stat'), 'utf8')
            .trim()
            .split('\n')
            .map((line) => {
              const [key = '', value = ''] = line.split(' ');
              return [key, Number(value)];
            }),
        );
        return {
          periods: stat['nr_periods'] ?? Number.NaN,
          throttled: stat['nr_throttled'] ?? Number.NaN,
          throttledMs:
            version === 'v1'
              ? (stat['throttled_time'] ?? Number.NaN) / 1e6
              : (stat['throttled_usec'] ?? Number.NaN) / 1e3,
        };
      } catch {
        return undefined;
      }
    },
    limit(pid, mb) {
      if (!origins.has(pid)) origins.set(pid, cgroupOf(pid, version));
      moveTo(pid, dir(mb));
    },
    release,
    cleanup() {
      for (const pid of [...origins.keys()]) release(pid);
      for (const path of created) {
        try {
          rmdirSync(path);
          created.delete(path);
        } catch {
          // Still holds a process (one we did not place): left for the next run's cleanup.
        }
      }
    },
  };
};

/** AWS Lambda arm64 prices used for the cost column (us-east-1). */
export const LAMBDA_PRICES = { perGbSecond: 0.0000133334, perMillionRequests: 0.2 } as const;

/** Lambda's bill for one million requests of `seconds` each at `mb` (duration only: the proxy waits for the whole generation). */
export const costPerMillion = (mb: number, seconds: number): number =>
  (mb / 1024) * seconds * LAMBDA_PRICES.perGbSecond * 1_000_000 + LAMBDA_PRICES.perMillionRequests;
