/**
 * The one JSON convention of Tollgate's own outputs (README "Operator CLI", "JSON output"): snake_case
 * keys; every amount an exact `*_usd` decimal string next to its `*_nano` integer; timestamps ISO-8601
 * in `*_at`; ledger rows in the shape of `GET /v1/wallet`; every list `{data, has_more, next_cursor}`.
 * These serializers turn the services' TypeScript objects (camelCase, used by the console too) into
 * that shape at the CLI's edge.
 */
import { formatUsd, parseUsd } from '../gateway/money.ts';
import type { KeyCreated, KeySummary } from '../services/keys.ts';
import type { RouteView } from '../services/route-spec.ts';

/** A list in the one pagination shape. */
export interface Page<Item> {
  data: Item[];
  has_more: boolean;
  /** Pass back as `--cursor` (or `?cursor=`) for the next page; null on the last one. */
  next_cursor: string | null;
}

/** A whole list (no further page) in the one pagination shape. */
export const wholePage = <Item>(data: Item[]): Page<Item> => ({ data, has_more: false, next_cursor: null });

/** An amount that may be absent, as its `_usd`/`_nano` pair (both null when absent). */
const maybeUsd = (nano: number | undefined): string | null => (nano === undefined ? null : formatUsd(nano));

/**
 * A key as `keys create|list|set|revoke --json` print it: never the secret's hash; the secret only
 * as `key`, from `keys create`. Fields other commands' results add (already snake_case) pass through.
 *
 * @example keyJson(summary) // { key_id: 'key_…', account: 'acme', …, spend_limit_usd: '20.00', spend_limit_nano: 20000000000, limit_reset: 'monthly', status: 'active' }
 */
export const keyJson = (key: KeySummary | KeyCreated) => {
  const { keyId, account, name, prefix, models, createdAt, expiresAt, rpm, tpm, spendLimit, limitReset, ...rest } =
    key as KeySummary & Partial<Pick<KeyCreated, 'key'>>;
  const { revokedAt, status, key: secret, ...others } = rest;
  return {
    ...(secret === undefined ? {} : { key: secret }),
    key_id: keyId,
    account,
    name: name ?? null,
    prefix,
    models: models ?? null,
    rpm: rpm ?? null,
    tpm: tpm ?? null,
    spend_limit_usd: maybeUsd(spendLimit),
    spend_limit_nano: spendLimit ?? null,
    limit_reset: limitReset ?? null,
    status: status ?? 'active',
    created_at: createdAt,
    expires_at: expiresAt ?? null,
    revoked_at: revokedAt ?? null,
    ...others,
  };
};

/** A route's price per million tokens (a decimal USD string) as its `_usd`/`_nano` pair. */
const price = (name: string, usd: string | undefined): Record<string, string | number> =>
  usd === undefined ? {} : { [`${name}_usd`]: usd, [`${name}_nano`]: parseUsd(usd) };

/**
 * A route as `routes list|set --json` print it; `routes import` reads it back. Prices are USD per
 * million tokens (`input_usd`, `input_nano`, …, as `routes set` takes them).
 */
export const routeJson = (route: RouteView) => ({
  model: route.model,
  provider: route.provider,
  upstream_model: route.upstreamModel ?? null,
  base_url: route.baseUrl ?? null,
  credential: route.credential ?? null,
  allow_http: route.allowHttp === true,
  allow_private: route.allowPrivate === true,
  prices: {
    ...price('input', route.prices.input),
    ...price('output', route.prices.output),
    ...price('cache_read', route.prices.cacheRead),
    ...price('cache_write', route.prices.cacheWrite),
  },
  default_max_tokens: route.defaultMaxTokens ?? null,
  fallbacks: route.fallbacks ?? [],
  created_at: route.createdAt ?? null,
  updated_at: route.updatedAt ?? null,
});
