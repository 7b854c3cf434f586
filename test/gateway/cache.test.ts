import { describe, expect, it } from 'vitest';
import { LookupCache } from '../../lambdas/gateway/cache.ts';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A clock that moves only when told. */
const fakeClock = () => {
  let now = 1_000;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

/** A lookup over `known` that counts its loads. */
const counted = (known: ReadonlyMap<string, string>) => {
  const loads: string[] = [];
  const loadFor = (key: string) => async () => {
    loads.push(key);
    return known.get(key);
  };
  return { loads, loadFor };
};

describe('LookupCache', () => {
  it('serves a hit without loading, and shares one load between concurrent misses', async () => {
    const cache = new LookupCache<string>({ ttlMs: 1_000, max: 10 });
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

  it('shares one load between concurrent misses of an unknown key too, and remembers the miss', async () => {
    const cache = new LookupCache<string>({ ttlMs: 1_000, max: 10, negativeTtlMs: 1_000, negativeMax: 10 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await sleep(5);
      return undefined;
    };
    expect(await Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)])).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(await cache.get('k', load)).toBeUndefined();
    expect(loads).toBe(1);
  });

  it('holds at most max found values, pushing out the least recently used', async () => {
    const known = new Map(Array.from({ length: 50 }, (_, index) => [`k${index}`, `v${index}`]));
    const { loads, loadFor } = counted(known);
    const cache = new LookupCache<string>({ ttlMs: 60_000, max: 10 });
    for (let index = 0; index < 50; index += 1) {
      await cache.get(`k${index}`, loadFor(`k${index}`));
      await cache.get('k0', loadFor('k0')); // k0 is used all along
    }
    expect(cache.size.found).toBe(10);
    loads.length = 0;
    await cache.get('k0', loadFor('k0'));
    await cache.get('k49', loadFor('k49'));
    expect(loads).toEqual([]);
    await cache.get('k1', loadFor('k1'));
    expect(loads).toEqual(['k1']);
  });

  it('keeps misses in their own smaller LRU, so a flood of them never evicts a found value', async () => {
    const { loads, loadFor } = counted(new Map([['valid', 'record']]));
    const cache = new LookupCache<string>({ ttlMs: 60_000, max: 2, negativeTtlMs: 60_000, negativeMax: 5 });
    await cache.get('valid', loadFor('valid'));
    for (let index = 0; index < 1_000; index += 1) await cache.get(`unknown${index}`, loadFor(`unknown${index}`));
    expect(cache.size).toEqual({ found: 1, missing: 5 });
    loads.length = 0;
    expect(await cache.get('valid', loadFor('valid'))).toBe('record');
    expect(await cache.get('unknown999', loadFor('unknown999'))).toBeUndefined(); // recent: remembered
    expect(await cache.get('unknown0', loadFor('unknown0'))).toBeUndefined(); // long pushed out: loaded again
    expect(loads).toEqual(['unknown0']);
  });

  it('forgets a found value at its TTL and a miss at the negative TTL', async () => {
    const clock = fakeClock();
    const { loads, loadFor } = counted(new Map([['valid', 'record']]));
    const cache = new LookupCache<string>({ ttlMs: 30_000, max: 10, negativeTtlMs: 5_000, negativeMax: 10, clock });
    await cache.get('valid', loadFor('valid'));
    await cache.get('unknown', loadFor('unknown'));
    clock.advance(4_999);
    await cache.get('unknown', loadFor('unknown'));
    expect(loads).toEqual(['valid', 'unknown']);
    clock.advance(2);
    await cache.get('unknown', loadFor('unknown')); // the miss expired at 5 s
    expect(loads).toEqual(['valid', 'unknown', 'unknown']);
    clock.advance(25_000); // 30.001 s after the load: past the found value's TTL
    await cache.get('valid', loadFor('valid'));
    expect(loads).toEqual(['valid', 'unknown', 'unknown', 'valid']);
  });

  it('reloads a busy entry in the background in the last fifth of its life, never serving it past its TTL', async () => {
    const clock = fakeClock();
    const cache = new LookupCache<number>({ ttlMs: 100, max: 10, clock });
    let version = 0;
    const load = async () => {
      version += 1;
      return version;
    };
    expect(await cache.get('k', load)).toBe(1);
    clock.advance(85); // inside the last fifth: still served, a reload starts
    expect(await cache.get('k', load)).toBe(1);
    await sleep(0);
    expect(await cache.get('k', load)).toBe(2); // the background reload landed, nobody waited
    clock.advance(150); // fully expired: the next get waits for a fresh load
    expect(await cache.get('k', load)).toBe(3);
  });

  it('drops a found value whose reload finds nothing', async () => {
    const clock = fakeClock();
    const cache = new LookupCache<string>({ ttlMs: 100, max: 10, negativeTtlMs: 100, clock });
    let present = true;
    const load = async () => (present ? 'record' : undefined);
    await cache.get('k', load);
    present = false;
    clock.advance(90);
    await cache.get('k', load); // served, and reloaded in the background
    await sleep(0);
    expect(await cache.get('k', load)).toBeUndefined();
    expect(cache.size).toEqual({ found: 0, missing: 1 });
  });

  it('caches nothing with a TTL of 0, and remembers no miss with a negative TTL of 0', async () => {
    const off = new LookupCache<string>({ ttlMs: 0, max: 10 });
    let offCalls = 0;
    const count = async () => {
      offCalls += 1;
      return `${offCalls}`;
    };
    await off.get('k', count);
    await off.get('k', count);
    expect(offCalls).toBe(2);

    const noMisses = new LookupCache<string>({ ttlMs: 1_000, max: 10, negativeTtlMs: 0 });
    let missCalls = 0;
    const missing = async () => {
      missCalls += 1;
      return undefined;
    };
    await noMisses.get('k', missing);
    await noMisses.get('k', missing);
    expect(missCalls).toBe(2);
    expect(noMisses.size).toEqual({ found: 0, missing: 0 });
  });

  it('does not cache a failed load: the next get tries again', async () => {
    const cache = new LookupCache<string>({ ttlMs: 1_000, max: 10 });
    let calls = 0;
    const flaky = async () => {
      calls += 1;
      if (calls === 1) throw new Error('throttled');
      return 'record';
    };
    await expect(cache.get('k', flaky)).rejects.toThrow('throttled');
    expect(await cache.get('k', flaky)).toBe('record');
  });
});
