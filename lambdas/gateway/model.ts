/** The gateway's records, as stored and as the domain sees them. No AWS types here. */

export const PROVIDER_KINDS = ['openai', 'anthropic', 'openai-compatible', 'echo'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export const isProviderKind = (value: string): value is ProviderKind =>
  (PROVIDER_KINDS as readonly string[]).includes(value);

/** Prices in nano-USD per million tokens: $3.00 / 1M tokens is 3_000_000_000. */
export interface Prices {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

export interface Route {
  /** The model id clients send. */
  model: string;
  /** Kept as a string: a route stored with an unknown provider is a configuration error, not a crash. */
  provider: string;
  /** The model id sent upstream; defaults to `model`. */
  upstreamModel?: string;
  /** Upstream base URL; defaults per provider (environment, then the official URL). */
  baseUrl?: string;
  /** Locally the name of an environment variable; on AWS the name of a Secrets Manager secret. */
  credential?: string;
  prices: Prices;
  /** Max output tokens assumed when the request names none. */
  defaultMaxTokens?: number;
  createdAt?: string;
  updatedAt?: string;
}

export interface KeyRecord {
  keyHash: string;
  keyId: string;
  accountId: string;
  name?: string;
  /** Model allow-list; absent means every routed model. */
  models?: string[];
  /** ISO-8601 instant after which the key is refused. */
  expiresAt?: string;
  revokedAt?: string;
  createdAt: string;
  /** First characters of the secret, for telling keys apart in listings. */
  prefix: string;
}

export interface Wallet {
  accountId: string;
  /** nano-USD */
  balance: number;
  /** nano-USD the account may go below zero. */
  creditLimit: number;
  /** Fraction of list price charged, 1 = no discount. */
  discount?: number;
  createdAt: string;
  updatedAt?: string;
}

/** A key is usable for a model when it is live and its allow-list (if any) names the model. */
export const keyAllowsModel = (key: KeyRecord, model: string): boolean =>
  key.models === undefined || key.models.length === 0 || key.models.includes(model);
