/** Tunables read once from the environment, each with the default DESIGN §6 names. */
export interface GatewayConfig {
  keyCacheTtlMs: number;
  negativeKeyCacheTtlMs: number;
  routeCacheTtlMs: number;
  /** Request bodies over this many bytes answer 413 before any parsing. */
  maxBodyBytes: number;
  /** How long to wait for the upstream's response headers (non-stream answers come whole). */
  upstreamHeadersTimeoutMs: number;
  /** A stream that sends nothing for this long is cut with an in-stream error. */
  upstreamIdleTimeoutMs: number;
  /** Waits between settle attempts while DynamoDB fails; after the last, the sweeper takes over. */
  settleRetryDelaysMs: readonly number[];
}

const seconds = (value: string | undefined, fallback: number): number => {
  if (value === undefined || value.trim() === '') return fallback * 1000;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new RangeError(`Expected a number of seconds ≥ 0, got '${value}'`);
  return parsed * 1000;
};

export const DEFAULT_MAX_BODY_BYTES = 6_000_000;

export const configFromEnv = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => ({
  keyCacheTtlMs: seconds(env.TOLLGATE_KEY_CACHE_TTL, 30),
  negativeKeyCacheTtlMs: seconds(env.TOLLGATE_NEGATIVE_KEY_CACHE_TTL, 5),
  routeCacheTtlMs: seconds(env.TOLLGATE_ROUTE_CACHE_TTL, 30),
  maxBodyBytes: Number(env.TOLLGATE_MAX_BODY_BYTES ?? DEFAULT_MAX_BODY_BYTES),
  upstreamHeadersTimeoutMs: seconds(env.TOLLGATE_UPSTREAM_HEADERS_TIMEOUT, 600),
  upstreamIdleTimeoutMs: seconds(env.TOLLGATE_UPSTREAM_IDLE_TIMEOUT, 120),
  settleRetryDelaysMs: [200, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 30_000],
});
