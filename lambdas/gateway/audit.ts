import type { LeaseRow, LedgerRow, Wallet } from '../vocabulary.ts';

/**
 * An account's ledger summed up. Sums are bigints: each row's amount is exact as a number, but an
 * account's top-ups over the years (or a hand-edited ledger) may add up past 2^53 − 1 nano-USD,
 * where a number would round.
 */
export interface AuditResult {
  accountId: string;
  topUps: bigint;
  /** Σ adjustments (signed: refunds and disputes are negative). */
  adjustments: bigint;
  settledCosts: bigint;
  openHolds: bigint;
  /** Σ top-ups + Σ adjustments − Σ settled costs − Σ open holds: what the balance must be. */
  expected: bigint;
  /** The wallet's balance (a number: the store reads only amounts a number holds exactly). */
  balance: number;
  /** balance − expected; anything but 0 is a bug. */
  difference: bigint;
  rows: number;
  pendingRows: number;
  /** Credit leases still open (counted as held in full), and closed ones whose cost is not the sum of their requests' (anything but none is a bug). */
  openLeases: number;
  leaseMismatches: string[];
}

/**
 * Recomputes an account's balance from its ledger (DESIGN §4):
 * `balance == Σ top-ups + Σ adjustments − Σ settled costs − Σ open holds`, to the last nano-USD, at
 * any size (adjustments are signed: a refunded card payment is negative).
 *
 * A request held in a credit lease (gateway/leases.ts) moved the lease, not the wallet: an open
 * lease counts as held in full, a closed one as settled at its cost — which must be the sum of its
 * requests' costs, every one of them final (else it is listed in `leaseMismatches`).
 *
 * @example auditLedger(wallet, rows, leases).difference // 0n
 */
export const auditLedger = (
  wallet: Wallet,
  rows: readonly LedgerRow[],
  leases: readonly LeaseRow[] = [],
): AuditResult => {
  let topUps = 0n;
  let adjustments = 0n;
  let settledCosts = 0n;
  let openHolds = 0n;
  let pendingRows = 0;
  const leased = new Map<string, { cost: bigint; pending: number }>();
  for (const row of rows) {
    if (row.kind === 'topup') topUps += BigInt(row.amount);
    else if (row.kind === 'adjustment') adjustments += BigInt(row.amount);
    else if (row.lease !== undefined) {
      const sum = leased.get(row.lease) ?? { cost: 0n, pending: 0 };
      if (row.status === 'final') sum.cost += BigInt(row.cost ?? 0);
      else {
        sum.pending += 1;
        pendingRows += 1;
      }
      leased.set(row.lease, sum);
    } else if (row.status === 'final') settledCosts += BigInt(row.cost ?? 0);
    else {
      openHolds += BigInt(row.hold);
      pendingRows += 1;
    }
  }
  let openLeases = 0;
  const leaseMismatches: string[] = [];
  for (const lease of leases) {
    const sum = leased.get(lease.sk) ?? { cost: 0n, pending: 0 };
    if (lease.status === 'open') {
      openLeases += 1;
      openHolds += BigInt(lease.amount);
      continue;
    }
    settledCosts += BigInt(lease.cost ?? 0);
    if (sum.pending > 0 || sum.cost !== BigInt(lease.cost ?? 0)) {
      leaseMismatches.push(
        `${lease.sk}: closed at ${lease.cost ?? 0} nano-USD, its requests cost ${sum.cost}` +
          (sum.pending > 0 ? ` with ${sum.pending} still pending` : ''),
      );
    }
  }
  const expected = topUps + adjustments - settledCosts - openHolds;
  return {
    accountId: wallet.accountId,
    topUps,
    adjustments,
    settledCosts,
    openHolds,
    expected,
    balance: wallet.balance,
    difference: BigInt(wallet.balance) - expected,
    rows: rows.length,
    pendingRows,
    openLeases,
    leaseMismatches,
  };
};
