import { mintKey, type NewKeyOptions } from '../../lambdas/gateway/keys.ts';
import type { Route } from '../../lambdas/gateway/model.ts';
import type { TestDatabase } from './dynamo.ts';

let counter = 0;

/** A fresh account with `usd` of credit and one key; returns the key's secret and record. */
export const createAccountWithKey = async (db: TestDatabase, options: NewKeyOptions & { usd?: number } = {}) => {
  counter += 1;
  const accountId = `acct-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  await db.stores.wallets.create(accountId);
  await db.stores.wallets.topUp(accountId, (options.usd ?? 5) * 1_000_000_000, `seed-${accountId}`);
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
