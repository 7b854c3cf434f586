/**
 * What each function may do on each table, as data: the DynamoDB actions its code calls, no more.
 * `TollgateFunction.bindTable` turns an entry into one statement on the table and one on each index
 * named; `test/lib/stack.test.ts` writes the same sets out, so a new grant is a visible change.
 *
 * A transaction (`TransactWriteItems`) is authorized per item: its Update items need `UpdateItem`,
 * its Put items `PutItem`, on the table they touch; there is no action of its own.
 *
 * Plain data only (no aws-cdk-lib).
 */
import { LEDGER_PENDING_INDEX, type TableName } from './tables.ts';

export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

export interface TableAccess {
  /** Actions on the table itself. */
  readonly table: readonly TableAction[];
  /** Actions on a global secondary index, by index name (reads only: an index cannot be written). */
  readonly indexes?: Readonly<Record<string, readonly ('Query' | 'Scan')[]>>;
}

export type FunctionAccess = Readonly<Partial<Record<TableName, TableAccess>>>;

/**
 * The proxy (lambdas/app.ts and what it calls). Read-only on keys and routes: it cannot mint a key or
 * point a route elsewhere.
 * - keys: `KeyStore.get` (GetItem by key hash).
 * - routes: `RouteStore.list`, a Scan. The table holds one small row per model and is read once per
 *   cache period; a Scan on it reads nothing a GetItem per model would not, and there is no key to
 *   Query by. Scan here is read-only and on this table only.
 * - wallets: `WalletStore.get` (GetItem), and the wallet Update items of the hold and settle
 *   transactions (UpdateItem).
 * - ledger: the hold transaction's pending row (PutItem), the settle transaction's row update and
 *   `checkpoint` (UpdateItem), `ledger` for `GET /v1/wallet` (Query on the table, not an index).
 * - counters: `CounterStore.countRequest`/`countTokens`, one atomic ADD each (UpdateItem).
 */
export const PROXY_ACCESS = {
  keys: { table: ['GetItem'] },
  routes: { table: ['Scan'] },
  wallets: { table: ['GetItem', 'UpdateItem'] },
  ledger: { table: ['PutItem', 'Query', 'UpdateItem'] },
  counters: { table: ['UpdateItem'] },
} as const satisfies FunctionAccess;

/**
 * The sweeper (`sweepExpiredHolds`): `WalletStore.pendingHolds` (Query on the ledger's pending index)
 * and `settle` (a transaction updating the ledger row and the wallet).
 */
export const SWEEPER_ACCESS = {
  wallets: { table: ['UpdateItem'] },
  ledger: { table: ['UpdateItem'], indexes: { [LEDGER_PENDING_INDEX]: ['Query'] } },
} as const satisfies FunctionAccess;
