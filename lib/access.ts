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
import {
  KEYS_BY_ACCOUNT_INDEX,
  KEYS_BY_KEY_ID_INDEX,
  LEDGER_PENDING_INDEX,
  MEMBERS_BY_ACCOUNT_INDEX,
  type TableName,
} from './tables.ts';

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
 *   `checkpoint` (UpdateItem), and for a key with a spend limit the Update item of its period's
 *   spend row in both (UpdateItem); `ledger` for `GET /v1/wallet` (Query on the table, not an
 *   index); one row by its key for `GET /v1/generation` and a key's spend row for `GET /v1/key`
 *   (GetItem); the daily roll-ups `GET /v1/key` sums a key's usage from (Query, and a conditional
 *   PutItem of a closed day's roll-up).
 * - counters: `CounterStore.countRequest`/`countTokens`, one atomic ADD each (UpdateItem).
 */
export const PROXY_ACCESS = {
  keys: { table: ['GetItem'] },
  routes: { table: ['Scan'] },
  wallets: { table: ['GetItem', 'UpdateItem'] },
  ledger: { table: ['GetItem', 'PutItem', 'Query', 'UpdateItem'] },
  counters: { table: ['UpdateItem'] },
} as const satisfies FunctionAccess;

/**
 * The sweeper (`sweepExpiredHolds`, `sendPendingAlerts`): `WalletStore.pendingHolds` and
 * `pendingAlerts` (Query on the ledger's pending index), `settle` (a transaction updating the ledger
 * row and the wallet) and the low-balance check after it (a conditional wallet UpdateItem, and a
 * PutItem of the alert row when it crosses); claiming and clearing an alert row (UpdateItem); an
 * expired credit lease: its requests' rows (Query on the table), their settles (UpdateItem) and the
 * lease's close (a transaction updating the lease row and the wallet); the
 * account's members to e-mail (Query on the members' `byAccount` index only).
 */
export const SWEEPER_ACCESS = {
  wallets: { table: ['UpdateItem'] },
  ledger: { table: ['UpdateItem', 'PutItem', 'Query'], indexes: { [LEDGER_PENDING_INDEX]: ['Query'] } },
  members: { table: [], indexes: { [MEMBERS_BY_ACCOUNT_INDEX]: ['Query'] } },
} as const satisfies FunctionAccess;

/**
 * The console (lambdas/console.ts): an account holder's own keys, wallet, usage and sign-in. It may
 * mint, edit and revoke keys (a revoked key is updated, never deleted). The only money it moves is a
 * top-up (a redeemed code): a wallet increment with its ledger row, never a change of an existing row.
 * - wallets: the balance (GetItem), and the wallet Update item of a code's top-up transaction (UpdateItem).
 * - keys: create (PutItem), look up (GetItem), edit and revoke (UpdateItem), list an account's keys and
 *   find one by id (Query on the `byAccount` and `byKeyId` indexes; the table's own key is the key hash,
 *   which a Query could only use as a GetItem does).
 * - ledger: usage and top-ups (Query, GetItem) and the daily spend roll-up rows `rollup#YYYY-MM-DD`
 *   under the account's partition (a conditional PutItem); when a key's spend limit is set or given
 *   a new reset, its period's spend row `keyspend#…` starts again from the key's spend so far
 *   (UpdateItem of that row only, keeping the holds open on it).
 * - routes: the models and prices page (GetItem, Scan, Query; read-only, like the proxy's).
 * - members: who may sign in for which account (GetItem, Query, also on `byAccount`), invite and remove
 *   (PutItem, DeleteItem).
 * - sessions: sign-in links and sessions (GetItem, PutItem, UpdateItem; DeleteItem for a used link and
 *   on sign-out).
 * - counters: sign-in and redemption rate limits, one atomic ADD each (UpdateItem).
 * - codes: redeem a code (GetItem, then the code's Update item of the top-up transaction). Codes are
 *   created, listed and revoked by the operator's CLI only.
 */
export const CONSOLE_ACCESS = {
  keys: {
    table: ['GetItem', 'PutItem', 'UpdateItem'],
    indexes: { [KEYS_BY_ACCOUNT_INDEX]: ['Query'], [KEYS_BY_KEY_ID_INDEX]: ['Query'] },
  },
  wallets: { table: ['GetItem', 'UpdateItem'] },
  ledger: { table: ['Query', 'GetItem', 'PutItem', 'UpdateItem'] },
  routes: { table: ['GetItem', 'Scan', 'Query'] },
  members: {
    table: ['GetItem', 'Query', 'PutItem', 'DeleteItem'],
    indexes: { [MEMBERS_BY_ACCOUNT_INDEX]: ['Query'] },
  },
  sessions: { table: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] },
  counters: { table: ['UpdateItem'] },
  codes: { table: ['GetItem', 'UpdateItem'] },
} as const satisfies FunctionAccess;
