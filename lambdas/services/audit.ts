import { type AuditResult, auditLedger } from '../gateway/audit.ts';
import { formatUsd, sumNano } from '../gateway/money.ts';
import { CorruptRecordError } from '../store/wallets.ts';
import type { LeaseRow, LedgerRow } from '../vocabulary.ts';
import { requireWallet } from './accounts.ts';
import type { ServiceDeps } from './deps.ts';
import { NotFoundError } from './errors.ts';
import { checkAccountId, checkPositiveInteger } from './validate.ts';

export type AuditDeps = ServiceDeps<'wallets'>;

/**
 * One account's audit: every amount an exact `*_usd` string and its `*_nano` integer. Sums over the
 * ledger (and so the expected balance and the difference) are not bounded by the money limits: their
 * `*_nano` is null past what a JSON number holds exactly (`sumNano`), the `*_usd` string never is.
 */
export interface AccountAudit {
  account: string;
  /** True when the balance equals Σ top-ups − Σ settled costs − Σ open holds, to the nano-USD. */
  ok: boolean;
  top_ups_usd: string;
  top_ups_nano: number | null;
  /** Σ adjustments (refunded or disputed card payments), signed: negative takes money back. */
  adjustments_usd: string;
  adjustments_nano: number | null;
  settled_costs_usd: string;
  settled_costs_nano: number | null;
  open_holds: number;
  open_holds_usd: string;
  open_holds_nano: number | null;
  expected_balance_usd: string;
  expected_balance_nano: number | null;
  balance_usd: string;
  balance_nano: number;
  /** balance − expected; anything but 0 is a bug (or a hand edit). */
  difference_usd: string;
  difference_nano: number | null;
  ledger_rows: number;
  /** Credit leases of gateway instances still open (their slice counts in `open_holds_usd`). */
  open_leases: number;
  /** Closed leases whose cost is not the sum of their requests' costs: anything listed is a bug. */
  lease_mismatches: string[];
  /**
   * False when the balance kept moving while the ledger was read (live traffic) on every attempt:
   * a difference may then be the traffic's, so run the audit again before concluding.
   */
  stable: boolean;
}

/** An account whose wallet or ledger could not be read exactly (a corrupt or out-of-range item). */
export interface UnreadableAccount {
  account: string;
  /** Names the item and the field, e.g. "Account 'acme': the wallet's balance is stored as …". */
  message: string;
}

/** The audit of several accounts. */
export interface AuditOfAll {
  /** True when every account could be read and balances with its ledger. */
  ok: boolean;
  /** Accounts read and audited. */
  audited: number;
  /** Audited accounts whose balance differs from their ledger. */
  failed: number;
  /** Sorted by account id. */
  accounts: AccountAudit[];
  /** Accounts that could not be audited because an item is corrupt; sorted by account id. */
  unreadable: UnreadableAccount[];
}

/** Reads of wallet + ledger to try before reporting an account whose balance keeps moving. */
const DEFAULT_ATTEMPTS = 3;
/** How many accounts {@link auditAccounts} audits at once. */
const AUDIT_CONCURRENCY = 8;

const view = (audit: AuditResult, stable: boolean): AccountAudit => ({
  account: audit.accountId,
  ok: audit.difference === 0n && audit.leaseMismatches.length === 0,
  top_ups_usd: formatUsd(audit.topUps),
  top_ups_nano: sumNano(audit.topUps),
  adjustments_usd: formatUsd(audit.adjustments),
  adjustments_nano: sumNano(audit.adjustments),
  settled_costs_usd: formatUsd(audit.settledCosts),
  settled_costs_nano: sumNano(audit.settledCosts),
  open_holds: audit.pendingRows,
  open_holds_usd: formatUsd(audit.openHolds),
  open_holds_nano: sumNano(audit.openHolds),
  expected_balance_usd: formatUsd(audit.expected),
  expected_balance_nano: sumNano(audit.expected),
  balance_usd: formatUsd(audit.balance),
  balance_nano: audit.balance,
  difference_usd: formatUsd(audit.difference),
  difference_nano: sumNano(audit.difference),
  ledger_rows: audit.rows,
  open_leases: audit.openLeases,
  lease_mismatches: audit.leaseMismatches,
  stable,
});

const auditWallet = async (deps: AuditDeps, accountId: string, attempts: number): Promise<AccountAudit> => {
  let wallet = await requireWallet(deps, accountId);
  let rows: LedgerRow[] = [];
  let leases: LeaseRow[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    [rows, leases] = await Promise.all([deps.wallets.allLedgerRows(accountId), deps.wallets.leases(accountId)]);
    const after = await requireWallet(deps, accountId);
    if (after.balance === wallet.balance) return view(auditLedger(wallet, rows, leases), true);
    wallet = after;
  }
  return view(auditLedger(wallet, rows, leases), false);
};

/**
 * Recomputes the account's balance from every ledger row (DESIGN §4) and compares it with the
 * wallet. The wallet is read before and after the ledger; when a request moved it in between, the
 * reads are repeated (up to `attempts`, default 3), so live traffic does not show up as a difference.
 *
 * @example (await auditAccount(stores, { accountId: 'acme' })).ok // true
 */
export const auditAccount = async (
  deps: AuditDeps,
  { accountId, attempts = DEFAULT_ATTEMPTS }: { accountId: string; attempts?: number },
): Promise<AccountAudit> => auditWallet(deps, checkAccountId(accountId), checkPositiveInteger(attempts, 'attempts'));

/**
 * Audits each of `accountIds` (e.g. every account of the wallets table), a few at a time; an
 * account deleted since the ids were listed is skipped. An account whose wallet or ledger cannot
 * be read exactly (a {@link CorruptRecordError}) does not stop the others: it is listed in
 * `unreadable` with the reason, and the audit is not `ok`.
 *
 * @example const all = await auditAccounts(stores, { accountIds: ['acme', 'globex'] }); all.failed // 0
 */
export const auditAccounts = async (
  deps: AuditDeps,
  { accountIds, attempts = DEFAULT_ATTEMPTS }: { accountIds: readonly string[]; attempts?: number },
): Promise<AuditOfAll> => {
  checkPositiveInteger(attempts, 'attempts');
  const accounts: AccountAudit[] = [];
  const unreadable: UnreadableAccount[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < accountIds.length) {
      const account = accountIds[next++] ?? '';
      try {
        // Ids come from the table itself: audit them as they are, whatever the rules for new ids.
        accounts.push(await auditWallet(deps, account, attempts));
      } catch (error) {
        if (error instanceof CorruptRecordError) unreadable.push({ account, message: error.message });
        else if (!(error instanceof NotFoundError)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(AUDIT_CONCURRENCY, accountIds.length) }, worker));
  const byAccount = (a: { account: string }, b: { account: string }): number =>
    a.account < b.account ? -1 : a.account > b.account ? 1 : 0;
  accounts.sort(byAccount);
  unreadable.sort(byAccount);
  const failed = accounts.filter((audit) => !audit.ok).length;
  return { ok: failed === 0 && unreadable.length === 0, audited: accounts.length, failed, accounts, unreadable };
};
