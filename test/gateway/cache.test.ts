import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../lambdas/gateway/cache.ts';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('TtlCache', () => {
  it('serves a hit without loading, and shares one load between concurrent misses', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1_000 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await sleep(5);
      return 'value';
    };
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual(['value', 'value']);
    expect(await cache.get('k', load)).toBe('value');
    expect(loads).toBe(1);
  });

  it('reloads a busy entry in the background near the end of its life, never serving it past its TTL', async () => {
    const cache = new TtlCache<number>({ ttlMs: 100 });
    let version = 0;
    const load = async () => {
      version += 1;
      return version;
    };
    expect(await cache.get('k', load)).toBe(1);
    await sleep(85); // inside the last fifth: still served, reload starts
    expect(await cache.get('k', load)).toBe(1);
    await sleep(5);
    expect(await cache.get('k', load)).toBe(2); // the background reload landed, nobody waited
    await sleep(150); // fully expired: the next get waits for a fresh load
    expect(await cache.get('k', load)).toBe(3);
  });

  it('remembers misses for the negative TTL only, and caches nothing with a TTL of 0', async () => {
    const negative = new TtlCache<string>({ ttlMs: 1_000, negativeTtlMs: 20 });
    let calls = 0;
    const missing = async () => {
      calls += 1;
      return undefined;
    };
    await negative.get('k', missing);
    await negative.get('k', missing);
    expect(calls).toBe(1);
    await sleep(30);
    await negative.get('k', missing);
    expect(calls).toBe(2);

    const off = new TtlCache<string>({ ttlMs: 0 });
    let offCalls = 0;
    const count = async () => {
      offCalls += 1;
      return `${offCalls}`;
    };
    await off.get('k', count);
    await off.get('k', count);
    expect(offCalls).toBe(2);
  });
});
