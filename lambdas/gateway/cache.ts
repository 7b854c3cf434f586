import { LRUCache } from 'lru-cache';
import type { KeyRecord } from '../vocabulary.ts';
import type { GatewayConfig } from './config.ts';

/** Known keys an instance keeps; the least recently used leaves first. */
export const KEY_CACHE_MAX = 10_000;
/** Unknown keys an instance remembers, apart from the known ones: a flood of them evicts only its own kind. */
export const NEGATIVE_KEY_CACHE_MAX = 1_000;

/** A millisecond clock; `performance` unless a test passes its own. */
export interface Clock {
  now(): number;
}

export interface LookupCacheOptions {
  /** How long a found value is served, from its load; 0 caches nothing (a change is seen at once). */
  ttlMs: number;
  /** At most this many found values. */
  max: number;
  /** How long a miss is remembered; 0 remembers none. Defaults to `ttlMs`. */
  negativeTtlMs?: number;
  /** At most this many misses, in their own LRU, so that misses never push out a found value. */
  negativeMax?: number;
  clock?: Clock;
}

interface Found<V> {
  value: V;
  /** From here on, a hit reloads the entry in the background. */
  refreshAt: number;
}

/**
 * A per-instance cache in front of a lookup (DESIGN §6: keys 30 s positive, 5 s negative), on two
 * bounded LRUs from `lru-cache`: found values, and misses apart, so that a flood of unknown keys
 * cycles through the small miss cache and never evicts a known key. Concurrent misses for one key
 * share a single load. A hit costs one LRU get.
 *
 * @example
 * const keys = new LookupCache<KeyRecord>({ ttlMs: 30_000, max: 10_000, negativeTtlMs: 5_000, negativeMax: 1_000 });
 * const key = await keys.get(hash, () => store.get(hash));
 */
export class LookupCache<V extends {}> {
  private readonly found: LRUCache<string, Found<V>> | undefined;
  private readonly missing: LRUCache<string, true> | undefined;
  private readonly pending = new Map<string, Promise<V | undefined>>();
  private readonly clock: Clock;
  private readonly refreshAfterMs: number;
  /** Bumped by {@link clear}: a load that began before it must not store what it read. */
  private generation = 0;

  constructor({ ttlMs, max, negativeTtlMs = ttlMs, negativeMax = max, clock = performance }: LookupCacheOptions) {
    this.clock = clock;
    // In the last fifth of its life a busy entry is reloaded in the background, so steady traffic
    // never waits on the database; an entry still never outlives its TTL.
    this.refreshAfterMs = (ttlMs * 4) / 5;
    // A fake clock is read as it is; lru-cache's default reuses a reading for 1 ms.
    const timing = { perf: clock, ttlResolution: clock === performance ? 1 : 0 };
    if (ttlMs > 0) this.found = new LRUCache({ max, ttl: ttlMs, ...timing });
    if (negativeTtlMs > 0) this.missing = new LRUCache({ max: negativeMax, ttl: negativeTtlMs, ...timing });
  }

  /** The cached value, or `load()`'s. */
  get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.found?.get(key);
    if (hit) {
      if (hit.refreshAt <= this.clock.now() && !this.pending.has(key)) void this.load(key, load).catch(() => undefined);
      return Promise.resolve(hit.value);
    }
    if (this.missing?.has(key)) return Promise.resolve(undefined);
    return this.pending.get(key) ?? this.load(key, load);
  }

  /** Entries held now (expired ones may count until they are next touched or pushed out). */
  get size(): { found: number; missing: number } {
    return { found: this.found?.size ?? 0, missing: this.missing?.size ?? 0 };
  }

  /**
   * Forgets every found value and every miss, so the next lookup reads the store: the local
   * gateway's control endpoint calls it after an operator's change. Loads already running answer
   * their callers but store nothing, since they may have read the value from before the change.
   */
  clear(): void {
    this.generation++;
    this.pending.clear();
    this.found?.clear();
    this.missing?.clear();
  }

  private load(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const generation = this.generation;
    const loading = load().then(
      (value) => {
        if (generation !== this.generation) return value;
        this.pending.delete(key);
        if (value === undefined) {
          this.found?.delete(key);
          this.missing?.set(key, true);
        } else {
          this.missing?.delete(key);
          this.found?.set(key, { value, refreshAt: this.clock.now() + this.refreshAfterMs });
        }
        return value;
      },
      (error: unknown) => {
        if (generation === this.generation) this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, loading);
    return loading;
  }
}

/**
 * The gateway's key cache: at most {@link KEY_CACHE_MAX} known keys for `keyCacheTtlMs`, and
 * {@link NEGATIVE_KEY_CACHE_MAX} unknown ones for `negativeKeyCacheTtlMs`, keyed by key hash.
 *
 * @example const keys = createKeyCache(config); await keys.get(hash, () => store.get(hash));
 */
export const createKeyCache = (
  config: Pick<GatewayConfig, 'keyCacheTtlMs' | 'negativeKeyCacheTtlMs'>,
  clock: Clock = performance,
) =>
  new LookupCache<KeyRecord>({
    ttlMs: config.keyCacheTtlMs,
    max: KEY_CACHE_MAX,
    negativeTtlMs: config.negativeKeyCacheTtlMs,
    negativeMax: NEGATIVE_KEY_CACHE_MAX,
    clock,
  });
