/**
 * RPC handlers a bench child adds so the parent can watch its memory: a reading after a full GC
 * (the child runs with --expose-gc), and samples every few ms while something streams through.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** One reading, in bytes. `external` includes `arrayBuffers` (Buffers live there). */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
}

const read = (): MemorySample => {
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
};

const fullGc = (): void => {
  const gc = Reflect.get(globalThis, 'gc') as (() => void) | undefined;
  gc?.();
};

let sampler: { timer: NodeJS.Timeout; samples: MemorySample[] } | undefined;

/**
 * @example
 * serveRpc({ ...memoryProbe, start() { … } });
 */
export const memoryProbe = {
  /** A reading after two full GCs. */
  async memory(): Promise<MemorySample> {
    fullGc();
    await sleep(20);
    fullGc();
    return read();
  },
  startSampling({ everyMs }: { everyMs: number }): void {
    const samples = [read()];
    sampler = { samples, timer: setInterval(() => samples.push(read()), everyMs) };
  },
  stopSampling(): MemorySample[] {
    if (!sampler) return [];
    clearInterval(sampler.timer);
    const { samples } = sampler;
    samples.push(read());
    sampler = undefined;
    return samples;
  },
};
