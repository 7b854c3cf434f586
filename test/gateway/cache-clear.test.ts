import { describe, expect, it } from 'vitest';
import { LookupCache } from '../../lambdas/gateway/cache.ts';

describe('LookupCache.clear', () => {
  it('forgets found values and misses, so the next lookup reads the store', async () => {
    // Prepare: a found key and a missed one, both cached for 30 s.
    const store = new Map([['known', 'v1']]);
    const cache = new LookupCache<string>({ ttlMs: 30_000, max: 10 });
    const load = (key: string) => async () => store.get(key);
    await cache.get('known', load('known'));
    await cache.get('later', load('later'));
    store.set('known', 'v2');
    store.set('later', 'v1');

    // Act
    cache.clear();

    // Assess
    expect(await cache.get('known', load('known'))).toBe('v2');
    expect(await cache.get('later', load('later'))).toBe('v1');
  });

  it('does not store what a load that began before the clear read', async () => {
    // Prepare: a load in flight, holding the value from before the change.
    const cache = new LookupCache<string>({ ttlMs: 30_000, max: 10 });
    let finish: (value: string) => void = () => {};
    const stale = cache.get('k', () => new Promise<string>((done) => (finish = done)));

    // Act
    cache.clear();
    finish('old');

    // Assess: its caller gets its answer, the next lookup loads again.
    expect(await stale).toBe('old');
    expect(await cache.get('k', async () => 'new')).toBe('new');
  });
});
