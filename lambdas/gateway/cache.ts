/**
 * A per-instance TTL cache with separate lifetimes for hits and misses (DESIGN §6: keys 30 s
 * positive, 5 s negative). A TTL of 0 disables caching, so a CLI change is seen at once.
 *
 * @example
 * const keys = new TtlCache<KeyRecord>({ ttlMs: 30_000, negativeTtlMs: 5_000 });
 * const key = await keys.get(hash, () => store.get(hash));
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V | undefined; expires: number; ttl: number }>();
  private readonly pending = new Map<string, Promise<V | undefined>>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;

  constructor({
    ttlMs,
    negativeTtlMs = ttlMs,
    maxEntries = 10_000,
  }: { ttlMs: number; negativeTtlMs?: number; maxEntries?: number }) {
    this.ttlMs = ttlMs;
    this.negativeTtlMs = negativeTtlMs;
    this.maxEntries = maxEntries;
  }

  /** The cached value, or `load()`'s; concurrent misses for one key share a single load. */
  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) {
      // In the last fifth of its life a busy entry is reloaded in the background, so steady
      // traffic never waits on the database; an entry still never outlives its TTL.
      if (hit.expires - now < hit.ttl / 5 && !this.pending.has(key)) void this.load(key, load).catch(() => undefined);
      return hit.value;
    }
    return this.pending.get(key) ?? this.load(key, load);
  }

  private load(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const loading = load().then(
      (value) => {
        this.pending.delete(key);
        const ttl = value === undefined ? this.negativeTtlMs : this.ttlMs;
        if (ttl > 0) {
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(key, { value, expires: Date.now() + ttl, ttl });
        }
        return value;
      },
      (error: unknown) => {
        this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, loading);
    return loading;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
