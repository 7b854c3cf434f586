import type { WalletAdminStore } from '../store/wallet-admin.ts';
import { LEASE_SWEEP_MARGIN_MS, type Settlement } from '../store/wallets.ts';
import type { UsageRow } from '../vocabulary.ts';

/** The proxy's maximum duration (15 min) plus a margin: a hold older than this has no live request. */
export const DEFAULT_HOLD_EXPIRY_MS = 16 * 60_000;

export interface SweepResult {
  /** Expired holds returned in full: nothing had been streamed (no checkpoint). */
  released: number;
  /** Expired holds charged their last checkpoint: the request had streamed output before it died. */
  charged: number;
  /** Holds another sweeper or a late settle finished first: nothing done twice. */
  alreadySettled: number;
  /** Credit leases of instances that died, closed now (their pending requests counted in the three above). */
  leasesClosed: number;
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
  wallets: Pick<WalletAdminStore, 'pendingHolds' | 'settle' | 'expiredLeases' | 'leaseRows' | 'closeLease'>,
  { expiryMs = DEFAULT_HOLD_EXPIRY_MS, now = Date.now() }: { expiryMs?: number; now?: number } = {},
): Promise<SweepResult> => {
  const cutoff = new Date(now - expiryMs).toISOString();
  const result: SweepResult = { released: 0, charged: 0, alreadySettled: 0, leasesClosed: 0 };
  // A lease's rows are its instance's to write until a little after its holds expire.
  await sweepExpiredLeases(wallets, new Date(now - expiryMs - LEASE_SWEEP_MARGIN_MS).toISOString(), result);
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

const expire = (row: UsageRow): Settlement => {
  const cost = Math.min(row.checkpoint ?? 0, row.hold);
  return cost > 0 ? { cost, outcome: 'expired_hold', estimated: true } : { cost, outcome: 'expired_hold' };
};

/**
 * Closes the credit leases whose last request was held before `cutoff` (gateway/leases.ts): an open
 * one then belongs to an instance that died or froze, and none of its requests can still be running.
 * Each pending request of it is settled as an expired hold (charged its checkpoint), then the lease
 * closes at the sum of its requests' costs as the rows say — the wallet gets the rest back. The close
 * is conditional on the lease being open, so a lease is closed once however many sweepers run.
 */
const sweepExpiredLeases = async (
  wallets: Pick<WalletAdminStore, 'settle' | 'expiredLeases' | 'leaseRows' | 'closeLease'>,
  cutoff: string,
  result: SweepResult,
): Promise<void> => {
  for (;;) {
    const leases = await wallets.expiredLeases(cutoff);
    let progressed = false;
    for (const lease of leases) {
      for (const row of await wallets.leaseRows(lease)) {
        if (row.status !== 'pending') continue;
        const settlement = expire(row);
        const applied = await wallets.settle(row, settlement);
        if (!applied) result.alreadySettled += 1;
        else if (settlement.cost > 0) result.charged += 1;
        else result.released += 1;
      }
      const rows = await wallets.leaseRows(lease);
      const cost = rows.reduce((sum, row) => sum + (row.cost ?? 0), 0);
      if (await wallets.closeLease(lease, cost)) {
        result.leasesClosed += 1;
        progressed = true;
      }
    }
    if (leases.length === 0 || !progressed) return;
  }
};
