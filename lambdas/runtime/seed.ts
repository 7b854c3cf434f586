import { mintKey } from '../gateway/keys.ts';
import { parseUsd } from '../gateway/money.ts';
import { catalogueRoutes, DEFAULT_CATALOGUE } from '../services/catalogue.ts';
import type { Stores } from '../store/index.ts';
import { AccountExistsError } from '../store/wallets.ts';

export const DEMO_ACCOUNT = 'demo';
export const DEMO_TOP_UP_ID = 'seed-demo';
const DEMO_CREDIT_USD = '5.00';

export type SeedResult =
  | {
      seeded: true;
      /** The demo key's secret: print it once, it is not stored. */
      key: string;
      keyId: string;
      /** How many catalogue routes were loaded. */
      routes: number;
    }
  | { seeded: false };

export interface SeedOptions {
  /** A catalogue (parsed JSON); the default is `lib/catalogue.json`. */
  catalogue?: unknown;
  now?: Date;
}

/**
 * First-start seeding of the local gateway. On an empty database (no routes and no `demo`
 * account) it loads the route catalogue, creates account `demo`, credits it $5 (top-up id
 * `seed-demo`) and mints a key named `demo`. Otherwise it changes nothing.
 *
 * @example
 * const seed = await seedIfEmpty(db.stores);
 * if (seed.seeded) console.log(`Demo key (shown once): ${seed.key}`);
 */
export const seedIfEmpty = async (stores: Stores, options: SeedOptions = {}): Promise<SeedResult> => {
  const now = options.now ?? new Date();
  const routes = catalogueRoutes(options.catalogue ?? DEFAULT_CATALOGUE);
  const [existingRoutes, demo] = await Promise.all([stores.routes.list(), stores.wallets.get(DEMO_ACCOUNT)]);
  if (existingRoutes.length > 0 || demo) return { seeded: false };

  const createdAt = now.toISOString();
  for (const route of routes) await stores.routes.put({ ...route, createdAt });
  try {
    await stores.wallets.create(DEMO_ACCOUNT, now);
  } catch (error) {
    // Another process seeding at the same moment got there first: let it hand out the key.
    if (error instanceof AccountExistsError) return { seeded: false };
    throw error;
  }
  await stores.wallets.topUp(DEMO_ACCOUNT, parseUsd(DEMO_CREDIT_USD), DEMO_TOP_UP_ID, now);
  const { secret, record } = mintKey(DEMO_ACCOUNT, { name: 'demo', now });
  await stores.keys.put(record);
  return { seeded: true, key: secret, keyId: record.keyId, routes: routes.length };
};
