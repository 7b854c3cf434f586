import type { LedgerRow, Wallet } from '../vocabulary.ts';

export interface AuditResult {
  accountId: string;
  topUps: number;
  settledCosts: number;
  openHolds: number;
  /** Σ top-ups − Σ settled costs − Σ open holds: what the balance must be. */
  expected: number;
  balance: number;
  /** balance − expected; anything but 0 is a bug. */
  difference: number;
  rows: number;
  pendingRows: number;
}

/**
 * Recomputes an account's balance from its ledger (DESIGN §4):
 * `balance == Σ top-ups − Σ settled costs − Σ open holds`, to the last nano-USD.
 */
export const auditLedger = (wallet: Wallet, rows: readonly LedgerRow[]): AuditResult => {
  let topUps = 0;
  let settledCosts = 0;
  let openHolds = 0;
  let pendingRows = 0;
  for (const row of rows) {
    if (row.kind === 'topup') topUps += row.amount;
    else if (row.status === 'final') settledCosts += row.cost ?? 0;
    else {
      openHolds += row.hold;
      pendingRows += 1;
    }
  }
  const expected = topUps - settledCosts - openHolds;
  return {
    accountId: wallet.accountId,
    topUps,
    settledCosts,
    openHolds,
    expected,
    balance: wallet.balance,
    difference: wallet.balance - expected,
    rows: rows.length,
    pendingRows,
  };
};
