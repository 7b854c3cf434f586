import type { WalletStore } from '../store/wallets.ts';

/** The proxy's maximum duration (15 min) plus a margin: a hold older than this has no live request. */
export const DEFAULT_HOLD_EXPIRY_MS = 16 * 60_000;

export interface SweepResult {
  released: number;
  /** Holds another sweeper or a late settle finished first: nothing done twice. */
  alreadySettled: number;
}

/**
 * Releases holds left pending by invocations that died (older than `expiryMs`): each row becomes
 * final with outcome `expired_hold` and cost 0, and the hold goes back to the wallet. The settle's
 * condition makes it exactly-once, however many sweepers run.
 *
 * @example await sweepExpiredHolds(stores.wallets) // { released: 1, alreadySettled: 0 }
 */
export const sweepExpiredHolds = async (
  wallets: Pick<WalletStore, 'pendingHolds' | 'settle'>,
  { expiryMs = DEFAULT_HOLD_EXPIRY_MS, now = Date.now() }: { expiryMs?: number; now?: number } = {},
): Promise<SweepResult> => {
  const cutoff = new Date(now - expiryMs).toISOString();
  const result: SweepResult = { released: 0, alreadySettled: 0 };
  for (;;) {
    const page = await wallets.pendingHolds(cutoff);
    let progressed = false;
    for (const row of page) {
      const applied = await wallets.settle(row, { cost: 0, outcome: 'expired_hold' });
      if (applied) {
        result.released += 1;
        progressed = true;
      } else result.alreadySettled += 1;
    }
    // The index is eventually consistent: stop when a page brings nothing new.
    if (page.length === 0 || !progressed) return result;
  }
};
