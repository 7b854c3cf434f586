import { DEFAULT_LEASE_OPTIONS, type LeaseOptions } from './leases.ts';
import { parseUsd } from './money.ts';
import { DEFAULT_HOLD_EXPIRY_MS } from './sweep.ts';

/** Tunables read once from the environment, each with the default DESIGN §6 names. */
export interface GatewayConfig {
  keyCacheTtlMs: number;
  negativeKeyCacheTtlMs: number;
  routeCacheTtlMs: number;
  /** Request bodies over this many bytes answer 413 before any parsing. */
  maxBodyBytes: number;
  /** How long to wait for the upstream's response headers (non-stream answers come whole). */
  upstreamHeadersTimeoutMs: number;
  /** A stream that sends nothing for this long (while the client reads) is cut with an in-stream error. */
  upstreamIdleTimeoutMs: number;
  /** A client that takes no bytes for this long is dropped; the upstream is still read and billed. */
  clientTimeoutMs: number;
  /** Holds older than this are settled by the sweeper: no request may run longer (less the margin). */
  holdExpiryMs: number;
  /** How long before the invocation's end or the hold's expiry a request is ended and settled. */
  deadlineMarginMs: number;
  /** How often a long stream writes its running cost onto its pending ledger row (the sweeper charges it). */
  checkpointIntervalMs: number;
  /** Waits between settle attempts while DynamoDB fails; after the last, the sweeper takes over. */
  settleRetryDelaysMs: readonly number[];
  /** Credit leases for well-funded accounts (gateway/leases.ts); undefined: every request holds in the wallet. */
  leases: LeaseOptions | undefined;
}

/**
 * `TOLLGATE_LEASES=off` turns credit leases off; `TOLLGATE_LEASE_MIN_SPENDABLE` (USD, default 100)
 * is the spendable an account needs before its requests are held in leases.
 */
const leasesFromEnv = (env: NodeJS.ProcessEnv): LeaseOptions | undefined => {
  if (env['TOLLGATE_LEASES'] === 'off') return undefined;
  const min = env['TOLLGATE_LEASE_MIN_SPENDABLE'];
  return min === undefined || min.trim() === ''
    ? DEFAULT_LEASE_OPTIONS
    : { ...DEFAULT_LEASE_OPTIONS, minSpendable: parseUsd(min) };
};

const seconds = (value: string | undefined, fallback: number): number => {
  if (value === undefined || value.trim() === '') return fallback * 1000;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new RangeError(`Expected a number of seconds ≥ 0, got '${value}'`);
  return parsed * 1000;
};

export const DEFAULT_MAX_BODY_BYTES = 6_000_000;

export const configFromEnv = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => ({
  keyCacheTtlMs: seconds(env['TOLLGATE_KEY_CACHE_TTL'], 30),
  negativeKeyCacheTtlMs: seconds(env['TOLLGATE_NEGATIVE_KEY_CACHE_TTL'], 5),
  routeCacheTtlMs: seconds(env['TOLLGATE_ROUTE_CACHE_TTL'], 30),
  maxBodyBytes: Number(env['TOLLGATE_MAX_BODY_BYTES'] ?? DEFAULT_MAX_BODY_BYTES),
  upstreamHeadersTimeoutMs: seconds(env['TOLLGATE_UPSTREAM_HEADERS_TIMEOUT'], 600),
  upstreamIdleTimeoutMs: seconds(env['TOLLGATE_UPSTREAM_IDLE_TIMEOUT'], 120),
  clientTimeoutMs: seconds(env['TOLLGATE_CLIENT_TIMEOUT'], 60),
  holdExpiryMs: seconds(env['TOLLGATE_HOLD_EXPIRY'], DEFAULT_HOLD_EXPIRY_MS / 1000),
  deadlineMarginMs: seconds(env['TOLLGATE_DEADLINE_MARGIN'], 10),
  checkpointIntervalMs: seconds(env['TOLLGATE_CHECKPOINT_INTERVAL'], 30),
  settleRetryDelaysMs: [200, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 30_000],
  leases: leasesFromEnv(env),
});
