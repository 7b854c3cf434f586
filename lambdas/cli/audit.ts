import { type AuditResult, auditLedger } from '../gateway/audit.ts';
import { formatUsd } from '../gateway/money.ts';
import { CommandError } from '../services/errors.ts';
import { checkAccountId } from '../services/validate.ts';
import type { Stores } from '../store/index.ts';
import type { LedgerRow, Wallet } from '../vocabulary.ts';
import { usd } from './format.ts';

/** One account's audit: every amount as an exact USD string with nano-USD alongside. */
export interface AccountAudit {
  account: string;
  /** True when the balance equals Σ top-ups − Σ settled costs − Σ open holds, to the nano-USD. */
  ok: boolean;
  top_ups_usd: string;
  top_ups_nano: number;
  settled_costs_usd: string;
  settled_costs_nano: number;
  open_holds: number;
  open_holds_usd: string;
  open_holds_nano: number;
  expected_balance_usd: string;
  expected_balance_nano: number;
  balance_usd: string;
  balance_nano: number;
  /** balance − expected; anything but 0 is a bug (or a hand edit). */
  difference_usd: string;
  difference_nano: number;
  ledger_rows: number;
  /**
   * False when the balance kept moving while the ledger was read (live traffic) on every attempt:
   * a difference may then be the traffic's, so run the audit again before concluding.
   */
  stable: boolean;
}

export interface AuditOptions {
  /** Reads of wallet + ledger to try before reporting an account whose balance keeps moving. */
  attempts?: number;
}

const view = (audit: AuditResult, stable: boolean): AccountAudit => ({
  account: audit.accountId,
  ok: audit.difference === 0,
  top_ups_usd: formatUsd(audit.topUps),
  top_ups_nano: audit.topUps,
  settled_costs_usd: formatUsd(audit.settledCosts),
  settled_costs_nano: audit.settledCosts,
  open_holds: audit.pendingRows,
  open_holds_usd: formatUsd(audit.openHolds),
  open_holds_nano: audit.openHolds,
  expected_balance_usd: formatUsd(audit.expected),
  expected_balance_nano: audit.expected,
  balance_usd: formatUsd(audit.balance),
  balance_nano: audit.balance,
  difference_usd: formatUsd(audit.difference),
  difference_nano: audit.difference,
  ledger_rows: audit.rows,
  stable,
});

const requireWallet = async (stores: Stores, account: string): Promise<Wallet> => {
  const wallet = await stores.wallets.get(account);
  if (!wallet) throw new CommandError(`Unknown account '${account}'`);
  return wallet;
};

/**
 * Recomputes the account's balance from every ledger row (DESIGN §4) and compares it with the
 * wallet. The wallet is read before and after the ledger; when a request moved it in between, the
 * reads are repeated, so live traffic does not show up as a difference.
 *
 * @example (await auditAccount(stores, 'acme')).ok // true
 */
export const auditAccount = async (
  stores: Stores,
  account: string,
  options: AuditOptions = {},
): Promise<AccountAudit> => auditWallet(stores, checkAccountId(account), options);

const auditWallet = async (
  stores: Stores,
  account: string,
  { attempts = 3 }: AuditOptions = {},
): Promise<AccountAudit> => {
  let wallet = await requireWallet(stores, account);
  let rows: LedgerRow[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    rows = await stores.wallets.allLedgerRows(account);
    const after = await requireWallet(stores, account);
    if (after.balance === wallet.balance) return view(auditLedger(wallet, rows), true);
    wallet = after;
  }
  return view(auditLedger(wallet, rows), false);
};

/** The "AUDIT FAILED: …" message of an account whose balance differs from its ledger, or undefined. */
export const accountAuditFailure = (audit: AccountAudit): string | undefined => {
  if (audit.ok) return undefined;
  const holds = `${audit.open_holds} open hold${audit.open_holds === 1 ? '' : 's'}`;
  const busy = audit.stable ? '' : ' The balance kept changing during the audit (live traffic?): run it again.';
  return (
    `AUDIT FAILED: the balance of ${audit.account} is ${usd(audit.balance_usd)} but its ledger adds up to ` +
    `${usd(audit.expected_balance_usd)} (top-ups ${usd(audit.top_ups_usd)} − settled costs ` +
    `${usd(audit.settled_costs_usd)} − ${holds} ${usd(audit.open_holds_usd)}): ` +
    `a difference of ${usd(audit.difference_usd)}.${busy}`
  );
};

export interface AuditOfAll {
  ok: boolean;
  audited: number;
  failed: number;
  /** Sorted by account id. */
  accounts: AccountAudit[];
}

/** How many accounts are audited at once by {@link auditAccounts}. */
const AUDIT_CONCURRENCY = 8;

/**
 * Audits each of `accountIds` (e.g. every account: `context.accountIds()`); an account deleted
 * since the ids were listed is skipped.
 *
 * @example const all = await auditAccounts(stores, ['acme', 'globex']); all.failed // 0
 */
export const auditAccounts = async (
  stores: Stores,
  accountIds: readonly string[],
  options: AuditOptions = {},
): Promise<AuditOfAll> => {
  const audits: (AccountAudit | undefined)[] = new Array(accountIds.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < accountIds.length) {
      const index = next++;
      try {
        // Ids come from the table itself: audit them as they are, valid for the CLI or not.
        audits[index] = await auditWallet(stores, accountIds[index] ?? '', options);
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(AUDIT_CONCURRENCY, accountIds.length) }, worker));
  const accounts = audits
    .filter((audit): audit is AccountAudit => audit !== undefined)
    .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  const failed = accounts.filter((audit) => !audit.ok).length;
  return { ok: failed === 0, audited: accounts.length, failed, accounts };
};

/** The "AUDIT FAILED: …" message of an audit of many accounts, or undefined when all balance. */
export const auditOfAllFailure = (all: AuditOfAll): string | undefined => {
  if (all.ok) return undefined;
  const differing = all.accounts
    .filter((audit) => !audit.ok)
    .map((audit) => `${audit.account} (${usd(audit.difference_usd)})`);
  return `AUDIT FAILED: ${all.failed} of ${all.audited} accounts differ from their ledger: ${differing.join(', ')}. Run tollgate audit <account> for the details.`;
};
