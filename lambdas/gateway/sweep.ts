import type { WalletStore } from '../store/wallets.ts';

/** The proxy's maximum duration (15 min) plus a margin: a hold older than this has no live request. */
export const DEFAULT_HOLD_EXPIRY_MS = 16 * 60_000;

export interface SweepResult {
  /** Expired holds returned in full: nothing had been streamed (no checkpoint). */
  released: number;
  /** Expired holds charged their last checkpoint: the request had streamed output before it died. */
  charged: number;
  /** Holds another sweeper or a late settle finished first: nothing done twice. */
  alreadySettled: number;
}

/**
 * Settles holds left pending by invocations that died (older than `expiryMs`): each row becomes
 * final with outcome `expired_hold`, charged its last checkpoint (the running cost a long stream
 * wrote, never more than the hold; marked `estimated`) or nothing when it has none, and the rest
 * of the hold goes back to the wallet. The settle's condition makes it exactly-once, however many
 * sweepers run, and a late settle of the request itself then changes nothing.
 *
 * @example await sweepExpiredHolds(stores.wallets) // { released: 1, charged: 0, alreadySettled: 0 }
 */
export const sweepExpiredHolds = async (
  wallets: Pick<WalletStore, 'pendingHolds' | 'settle'>,
  { expiryMs = DEFAULT_HOLD_EXPIRY_MS, now = Date.now() }: { expiryMs?: number; now?: number } = {},
): Promise<SweepResult> => {
  const cutoff = new Date(now - expiryMs).toISOString();
  const result: SweepResult = { released: 0, charged: 0, alreadySettled: 0 };
  for (;;) {
    const page = await wallets.pendingHolds(cutoff);
    let progressed = false;
    for (const row of page) {
      const cost = Math.min(row.checkpoint ?? 0, row.hold);
      const applied = await wallets.settle(
        row,
        cost > 0 ? { cost, outcome: 'expired_hold', estimated: true } : { cost, outcome: 'expired_hold' },
      );
      if (!applied) result.alreadySettled += 1;
      else if (cost > 0) result.charged += 1;
      else result.released += 1;
      progressed ||= applied;
    }
    // The index is eventually consistent: stop when a page brings nothing new.
    if (page.length === 0 || !progressed) return result;
  }
};
