import { DEFAULT_HOLD_EXPIRY_MS, sweepExpiredHolds } from '../gateway/sweep.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { checkPositiveInteger } from './validate.ts';

export const DEFAULT_OLDER_THAN_SECONDS = DEFAULT_HOLD_EXPIRY_MS / 1_000;

export type SweepDeps = ServiceDeps<'wallets'>;

export interface SweepOutcome {
  /** Holds released now: final with outcome `expired_hold`, cost 0, the hold back in the wallet. */
  released: number;
  /** Holds charged their last checkpoint now (a stream that died after output): `expired_hold`, estimated. */
  charged: number;
  /** Holds a settle or another sweeper finished first: nothing done twice. */
  already_settled: number;
  /** Credit leases of gateway instances that died, closed now (their requests counted above). */
  leases_closed: number;
  older_than_seconds: number;
  /** Holds pending since before this instant were settled. */
  cutoff_at: string;
}

/**
 * Settles every hold pending for longer than `olderThanSeconds` (default: the proxy's maximum
 * duration plus a margin), as the scheduled sweeper does: charged its last checkpoint when a stream
 * wrote one, else released. Exactly once per hold, however often it runs. A shorter time may settle
 * the hold of a request still running, which is then billed no more than its checkpoint.
 *
 * @example await sweepHolds(stores) // { released: 1, charged: 0, already_settled: 0, older_than_seconds: 960, cutoff_at: '…' }
 */
export const sweepHolds = async (
  deps: SweepDeps,
  { olderThanSeconds = DEFAULT_OLDER_THAN_SECONDS }: { olderThanSeconds?: number } = {},
): Promise<SweepOutcome> => {
  const seconds = checkPositiveInteger(olderThanSeconds, 'hold age in seconds');
  const now = clock(deps).getTime();
  const expiryMs = seconds * 1_000;
  const result = await sweepExpiredHolds(deps.wallets, { expiryMs, now });
  return {
    released: result.released,
    charged: result.charged,
    already_settled: result.alreadySettled,
    leases_closed: result.leasesClosed,
    older_than_seconds: seconds,
    cutoff_at: new Date(now - expiryMs).toISOString(),
  };
};
