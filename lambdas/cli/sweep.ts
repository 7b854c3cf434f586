import { DEFAULT_HOLD_EXPIRY_MS, sweepExpiredHolds } from '../gateway/sweep.ts';
import { parsePositiveInteger } from '../services/validate.ts';
import type { Stores } from '../store/index.ts';

export const DEFAULT_OLDER_THAN_SECONDS = DEFAULT_HOLD_EXPIRY_MS / 1_000;

export interface SweepOutcome {
  /** Holds released now: final with outcome `expired_hold`, cost 0, the hold back in the wallet. */
  released: number;
  /** Holds a settle or another sweeper finished first: nothing done twice. */
  already_settled: number;
  older_than_seconds: number;
  /** Holds pending since before this instant were released. */
  cutoff: string;
}

/** `--older-than` in seconds: a whole number greater than zero, or the default when absent. */
export const parseOlderThan = (text: string | undefined): number =>
  text === undefined ? DEFAULT_OLDER_THAN_SECONDS : parsePositiveInteger(text, '--older-than');

/**
 * Releases every hold pending for longer than `olderThan` seconds (default: the proxy's maximum
 * duration plus a margin), as the scheduled sweeper does. Exactly once per hold, however often it runs.
 *
 * @example await sweepHolds(stores) // { released: 1, already_settled: 0, older_than_seconds: 960, cutoff: '…' }
 */
export const sweepHolds = async (
  stores: Stores,
  { olderThan, now = new Date() }: { olderThan?: string; now?: Date } = {},
): Promise<SweepOutcome> => {
  const seconds = parseOlderThan(olderThan);
  const expiryMs = seconds * 1_000;
  const result = await sweepExpiredHolds(stores.wallets, { expiryMs, now: now.getTime() });
  return {
    released: result.released,
    already_settled: result.alreadySettled,
    older_than_seconds: seconds,
    cutoff: new Date(now.getTime() - expiryMs).toISOString(),
  };
};
