import type { LedgerRow, Wallet } from '../vocabulary.ts';

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
}

/**
 * Recomputes an account's balance from its ledger (DESIGN §4):
 * `balance == Σ top-ups + Σ adjustments − Σ settled costs − Σ open holds`, to the last nano-USD, at
 * any size (adjustments are signed: a refunded card payment is negative).
 *
 * @example auditLedger(wallet, rows).difference // 0n
 */
export const auditLedger = (wallet: Wallet, rows: readonly LedgerRow[]): AuditResult => {
  let topUps = 0n;
  let adjustments = 0n;
  let settledCosts = 0n;
  let openHolds = 0n;
  let pendingRows = 0;
  for (const row of rows) {
    if (row.kind === 'topup') topUps += BigInt(row.amount);
    else if (row.kind === 'adjustment') adjustments += BigInt(row.amount);
    else if (row.status === 'final') settledCosts += BigInt(row.cost ?? 0);
    else {
      openHolds += BigInt(row.hold);
      pendingRows += 1;
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
  };
};
