import { auditLedger } from '../../lambdas/gateway/audit.ts';
import { mintKey, type NewKeyOptions } from '../../lambdas/gateway/keys.ts';
import type { Route, UsageRow } from '../../lambdas/vocabulary.ts';
import type { TestDatabase } from './dynamo.ts';

let counter = 0;

/** A fresh account with `usd` of credit and one key; returns the key's secret and record. */
export const createAccountWithKey = async (
  db: TestDatabase,
  options: NewKeyOptions & { usd?: number; nano?: number; creditLimitNano?: number; discountPpm?: number } = {},
) => {
  counter += 1;
  const accountId = `acct-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  await db.stores.wallets.create(accountId);
  await db.stores.wallets.topUp(accountId, options.nano ?? (options.usd ?? 5) * 1_000_000_000, `seed-${accountId}`);
  if (options.creditLimitNano) await db.stores.wallets.setCreditLimit(accountId, options.creditLimitNano);
  if (options.discountPpm) await db.stores.wallets.setDiscount(accountId, options.discountPpm);
  const key = mintKey(accountId, options);
  await db.stores.keys.put(key.record);
  return { accountId, secret: key.secret, record: key.record };
};

/** A route priced $1 / $2 per million tokens unless told otherwise. */
export const putRoute = async (db: TestDatabase, route: Partial<Route> & Pick<Route, 'model' | 'provider'>) => {
  const full: Route = { prices: { input: 1_000_000_000, output: 2_000_000_000 }, ...route };
  await db.stores.routes.put(full);
  return full;
};

/** Waits until the account has `count` usage rows and none is pending (settles run after the response). */
export const settledUsage = async (db: TestDatabase, accountId: string, count: number, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await db.stores.wallets.allLedgerRows(accountId)).filter((row) => row.kind === 'usage');
    if (rows.length >= count && rows.every((row) => row.status === 'final')) return rows as UsageRow[];
    if (Date.now() > deadline) {
      throw new Error(`expected ${count} settled usage rows, have ${JSON.stringify(rows.map((r) => r.status))}`);
    }
    await new Promise((done) => setTimeout(done, 20));
  }
};

/** A sum as a number, refusing one a number cannot hold exactly (these tests' amounts stay far below). */
const exact = (sum: bigint): number => {
  if (sum > BigInt(Number.MAX_SAFE_INTEGER) || sum < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(`${sum} nano-USD is beyond the exact range of a number`);
  }
  return Number(sum);
};

/**
 * Audits an account as `tollgate audit` does — the wallet read again after the ledger and its leases,
 * until it did not move in between (a lease closing meanwhile is a moving wallet, not a difference);
 * the sums as numbers, so tests compare them with 0 and balances.
 */
export const audit = async (db: TestDatabase, accountId: string) => {
  for (let attempt = 1; ; attempt += 1) {
    const wallet = await db.stores.wallets.get(accountId);
    if (!wallet) throw new Error(`no wallet ${accountId}`);
    const [rows, leases] = await Promise.all([
      db.stores.wallets.allLedgerRows(accountId),
      db.stores.wallets.leases(accountId),
    ]);
    const after = await db.stores.wallets.get(accountId);
    if (after?.balance !== wallet.balance && attempt < 20) continue;
    const result = auditLedger(wallet, rows, leases);
    return {
      ...result,
      topUps: exact(result.topUps),
      adjustments: exact(result.adjustments),
      settledCosts: exact(result.settledCosts),
      openHolds: exact(result.openHolds),
      expected: exact(result.expected),
      difference: exact(result.difference),
    };
  }
};
