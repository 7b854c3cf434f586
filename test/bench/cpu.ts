/**
 * CPU time of the bench's child processes over a measured phase, from /proc/<pid>/stat (utime +
 * stime, all threads): DynamoDB Local shares this machine locally, and does not on AWS, so the
 * report says how much of it each phase used — and how much the gateway itself used.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second (`getconf CLK_TCK`; 100 when that cannot be asked). */
const clockTicks = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of `pid` in seconds; undefined when the process (or /proc) is not there. */
export const cpuSeconds = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / clockTicks : undefined;
  } catch {
    return undefined;
  }
};

export interface ProcessCpu {
  /** CPU-seconds the process used during the phase. */
  cpuS: number;
  /** Of one core over the phase's wall time. */
  percentOfCore: number;
}

export interface PhaseCpu {
  phase: string;
  wallS: number;
  /** Per watched process (`dynamodb-local`, `gateway`…); absent when it could not be read. */
  processes: Record<string, ProcessCpu>;
}

/**
 * Starts a phase: reads every watched process's CPU time now; the function it returns reads it
 * again and gives the difference.
 *
 * @example
 * const done = startPhase('non-stream', { gateway: 1234, 'dynamodb-local': 1200 });
 * // … measure …
 * const cpu = done(); // { phase, wallS, processes: { gateway: { cpuS, percentOfCore } … } }
 */
export const startPhase = (phase: string, pids: Record<string, number | undefined>): (() => PhaseCpu) => {
  const started = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return () => {
    const wallS = (performance.now() - started) / 1000;
    const processes: Record<string, ProcessCpu> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const start = before[name];
      const end = cpuSeconds(pid);
      if (start === undefined || end === undefined) continue;
      const cpuS = end - start;
      processes[name] = { cpuS, percentOfCore: wallS > 0 ? (cpuS / wallS) * 100 : Number.NaN };
    }
    return { phase, wallS, processes };
  };
};

export const CLOCK_TICKS = clockTicks;
