import { endpointsOf, type ModelEndpoint } from '../gateway/model-endpoints.ts';
import { formatUsd } from '../gateway/money.ts';
import type { Prices, Route } from '../vocabulary.ts';
import { getAccount } from './accounts.ts';
import type { ServiceDeps } from './deps.ts';

export type { ModelEndpoint } from '../gateway/model-endpoints.ts';

export type ModelsDeps = ServiceDeps<'routes' | 'wallets'>;

/** One price per million tokens: what the account pays, and the list price. */
export interface ModelPrice {
  /** USD per million tokens after the account's discount, exact. */
  usd: string;
  /** USD per million tokens at list price. */
  list_usd: string;
  /** True when the route has no own price for this kind of token and the input price applies. */
  as_input: boolean;
}

export interface AccountModel {
  model: string;
  provider: string;
  /** What a key suffix appends to select this model: `-<provider>/<model>`. */
  key_suffix: string;
  endpoints: ModelEndpoint[];
  fallbacks: string[];
  prices: { input: ModelPrice; output: ModelPrice; cache_read: ModelPrice; cache_write: ModelPrice };
}

export interface AccountModels {
  account: string;
  discount: string;
  discount_ppm: number;
  models: AccountModel[];
}

const MILLION = 1_000_000n;

/**
 * `perMillion` nano-USD at `discountPpm`, exact: whole nano-USD through {@link formatUsd}; a price
 * whose discount leaves a fraction of a nano-dollar keeps every digit (at most 6 more).
 *
 * @example discounted(3_000_000_000, 800_000) // '2.40'
 */
export const discountedUsd = (perMillion: number, discountPpm: number): string => {
  const scaled = BigInt(perMillion) * BigInt(discountPpm); // in 1e-6 nano-USD
  if (scaled % MILLION === 0n) return formatUsd(scaled / MILLION);
  const whole = formatUsd(scaled / MILLION);
  const nanoDigits = whole.includes('.') ? (whole.split('.')[1] ?? '') : '';
  const padded = `${whole}${'0'.repeat(9 - nanoDigits.length)}`;
  return `${padded}${(scaled % MILLION).toString().padStart(6, '0')}`.replace(/0+$/, '');
};

const price = (value: number | undefined, input: number, discountPpm: number): ModelPrice => ({
  usd: discountedUsd(value ?? input, discountPpm),
  list_usd: formatUsd(value ?? input),
  as_input: value === undefined,
});

const accountModel = (route: Route, discountPpm: number): AccountModel => {
  const prices: Prices = route.prices;
  return {
    model: route.model,
    provider: route.provider,
    key_suffix: `-${route.provider}/${route.model}`,
    endpoints: endpointsOf(route),
    fallbacks: route.fallbacks ?? [],
    prices: {
      input: price(prices.input, prices.input, discountPpm),
      output: price(prices.output, prices.input, discountPpm),
      cache_read: price(prices.cacheRead, prices.input, discountPpm),
      cache_write: price(prices.cacheWrite, prices.input, discountPpm),
    },
  };
};

/**
 * The models an account may call (every routed model) with what it pays per million tokens after
 * its discount, exact, beside the list price; by model id.
 *
 * @example await accountModels(stores, { accountId: 'acme' }) // { discount: '0.8', models: [{ model: 'gpt-5.2', … }] }
 */
export const accountModels = async (deps: ModelsDeps, input: { accountId: string }): Promise<AccountModels> => {
  const [wallet, routes] = await Promise.all([getAccount(deps, input), deps.routes.list()]);
  const discountPpm = wallet.discount_ppm;
  const models = [...routes]
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))
    .map((route) => accountModel(route, discountPpm));
  return { account: wallet.account, discount: wallet.discount, discount_ppm: discountPpm, models };
};
