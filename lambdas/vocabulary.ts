/**
 * The gateway's shared words: protocols, wire formats, provider kinds, usage, outcomes, money and the
 * records every layer passes around. A leaf: it imports nothing of ours, so any folder may import it.
 */

/** The protocol family of an error envelope and of an upstream. */
export type Protocol = 'openai' | 'anthropic';

/** A wire format: what a client sends, or what an upstream is sent, by endpoint. */
export type Operation = 'chat' | 'messages' | 'responses' | 'embeddings' | 'count_tokens';

/** An amount of money in nano-USD (1e-9 USD): always an integer, never a float. */
export type Nano = number;

/*
 * Money limits. Amounts are JS numbers of nano-USD, exact only up to 2^53 − 1 nano-USD
 * (≈ $9,007,199.25): these keep every stored amount, and what `spendable` and holds add up to, well
 * inside that range, with about $3,000,000 to spare for overruns and sums. The wallet store enforces
 * them inside its DynamoDB writes; the CLI may check them first for a friendlier message.
 */

/** The most one top-up may credit: $1,000,000 (more is likelier a typo than an invoice). */
export const MAX_TOP_UP_NANO: Nano = 1_000_000_000_000_000;

/**
 * The most a wallet may hold: $5,000,000, counting money held by requests in flight (balance + open
 * holds), since their refunds return to the balance. A top-up beyond it is refused.
 */
export const MAX_BALANCE_NANO: Nano = 5_000_000_000_000_000;

/**
 * The largest credit limit: $1,000,000, so that `spendable` (balance + credit limit), and so any
 * hold, stays at most $6,000,000.
 */
export const MAX_CREDIT_LIMIT_NANO: Nano = 1_000_000_000_000_000;

/**
 * One usage shape for every protocol (DESIGN §4). `inputTokens` excludes cache reads and writes, so
 * each token is priced exactly once: OpenAI's `prompt_tokens` includes its cached tokens and is
 * normalized down; Anthropic's `input_tokens` already excludes them.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export const PROVIDER_KINDS = ['openai', 'anthropic', 'openai-compatible', 'echo'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export const isProviderKind = (value: string): value is ProviderKind =>
  (PROVIDER_KINDS as readonly string[]).includes(value);

/**
 * The names a route's credential may have: upper case, digits and `_`, ending in `_API_KEY`, at most
 * 128 characters, and not in the `AWS_` or `TOLLGATE_` namespaces. So a route can name
 * `OPENAI_API_KEY` or `GROQ_API_KEY`, never `HOME`, `AWS_SECRET_ACCESS_KEY` or a gateway setting;
 * and on AWS, where it is appended to the stage's secret prefix, it has no `/` or `.` to leave it by.
 */
export const CREDENTIAL_NAME_RULE =
  'upper-case letters, digits and _, ending in _API_KEY (e.g. GROQ_API_KEY), not starting with AWS_ or TOLLGATE_';
const CREDENTIAL_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_API_KEY$/;
const RESERVED_CREDENTIAL_PREFIXES = ['AWS_', 'TOLLGATE_'] as const;

/** @example isCredentialName('GROQ_API_KEY') // true; isCredentialName('HOME') // false */
export const isCredentialName = (name: string): boolean =>
  name.length <= 128 &&
  CREDENTIAL_NAME.test(name) &&
  !RESERVED_CREDENTIAL_PREFIXES.some((prefix) => name.startsWith(prefix));

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
  /**
   * Locally the name of an environment variable; on AWS the name of a Secrets Manager secret under
   * the stage's prefix. Always a {@link isCredentialName} name.
   */
  credential?: string;
  /** The upstream may be reached over plain http (otherwise https only; loopback under the local gateway). */
  allowHttp?: boolean;
  /** The upstream may resolve to a private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, loopback). */
  allowPrivate?: boolean;
  prices: Prices;
  /** Max output tokens assumed when the request names none. */
  defaultMaxTokens?: number;
  /**
   * Models of other routes tried in order when this one's upstream answers 429 or 5xx, or cannot
   * be reached, before the first byte reached the client.
   */
  fallbacks?: string[];
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
  /** Requests per minute this key may make, across every instance; absent = unlimited. */
  rpm?: number;
  /** Tokens (input + output + cache) per minute this key may use; absent = unlimited. */
  tpm?: number;
  /** nano-USD this key may spend per {@link KeyRecord.limitReset} period; absent = no limit (the wallet's only). */
  spendLimit?: number;
  /** When the spend limit starts again (UTC): absent with a limit means `never`. */
  limitReset?: LimitReset;
}

/** When a key's spend limit starts again, at UTC boundaries (weeks start on Monday). */
export type LimitReset = 'daily' | 'weekly' | 'monthly' | 'never';

export const LIMIT_RESETS: readonly LimitReset[] = ['daily', 'weekly', 'monthly', 'never'];

export interface Wallet {
  accountId: string;
  /** nano-USD */
  balance: number;
  /** nano-USD the account may go below zero. */
  creditLimit: number;
  /**
   * Always `balance + creditLimit`, kept in the row because a DynamoDB condition cannot add: a hold
   * is the condition `spendable >= :hold`.
   */
  spendable: number;
  /** Parts per million of list price charged: absent or 1_000_000 = no discount, 800_000 = 20% off. */
  discountPpm?: number;
  /**
   * nano-USD: when a settle leaves the balance below this, the members get one low-balance e-mail.
   * Absent = no alert.
   */
  alertBelow?: number;
  /** True while the low-balance alert may fire; a crossing disarms it, a top-up back above re-arms it. */
  alertArmed?: boolean;
  createdAt: string;
  updatedAt?: string;
}

/**
 * How a request ended, as its ledger row records it: `completed`; `client_disconnected` (the upstream
 * was still read to its end and billed); `upstream_error`; `rejected` (failed before any upstream
 * answer); `expired_hold` (released or charged by the sweeper).
 */
export type Outcome = 'completed' | 'client_disconnected' | 'upstream_error' | 'rejected' | 'expired_hold';

/** How an upstream exchange itself ended (a subset of {@link Outcome}). */
export type StreamOutcome = Extract<Outcome, 'completed' | 'client_disconnected' | 'upstream_error'>;

/** One request's row in the ledger: a pending hold until settled, then the final usage row. */
export interface UsageRow {
  accountId: string;
  /** `<ISO time>#<requestId>`: the ledger reads in time order. */
  sk: string;
  kind: 'usage';
  requestId: string;
  status: 'pending' | 'final';
  /** nano-USD held before the upstream call. */
  hold: number;
  /** nano-USD charged; set when final. */
  cost?: number;
  model: string;
  provider: string;
  upstreamModel: string;
  keyId: string;
  at: string;
  prices: Prices;
  discountPpm: number;
  outcome?: Outcome;
  /** The usage as the upstream reported it, untouched. */
  rawUsage?: unknown;
  /** Normalized: input excludes cache reads and writes. */
  usage?: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
  /** True when the upstream reported no usage and the cost is the documented estimate. */
  estimated?: boolean;
  /** True when the reported usage cost more than the hold: debited in full all the same. */
  overrun?: boolean;
  /** The route first chosen, when a fallback route answered instead (model/prices are the answering one's). */
  fallbackFrom?: string;
  /**
   * Set when the key had a spend limit: the sort key of the key's spend row for the period the
   * request was held in (`keyspend#…`), which its settle moves from held to spent.
   */
  keyBudget?: string;
  /**
   * Set when the request was held in a credit lease of its gateway instance (`lease#…` sort key):
   * its hold and cost move the lease, not the wallet; the lease's close charges the wallet the sum.
   */
  lease?: string;
  settledAt?: string;
  /** While pending: the running cost a long stream last wrote, what the sweeper charges if it dies. */
  checkpoint?: number;
  /** Sparse index keys, present only while pending. */
  pending?: string;
  pendingSince?: string;
}

/**
 * A credit lease (DESIGN-level note in the README, "One busy account"): money one gateway instance
 * reserved from the wallet at once, to hold its requests in without writing the wallet for each.
 * While open, the wallet counts `amount` as held; the close charges the wallet `cost`, the sum of the
 * costs of the requests held in it, and gives back the rest. Stored at `lease#<openedAt>#<id>` in
 * the account's ledger partition, outside every ledger read.
 */
export interface LeaseRow {
  accountId: string;
  sk: string;
  kind: 'lease';
  /** nano-USD reserved from the wallet. */
  amount: number;
  status: 'open' | 'closed';
  openedAt: string;
  /** No request is held in the lease after this instant; the sweeper closes it once the holds may have expired. */
  holdUntil: string;
  /** nano-USD: Σ costs of its requests, once closed. */
  cost?: number;
  closedAt?: string;
}

/** The card payment behind a top-up (Stripe Checkout): what names it to the payer and to Stripe. */
export interface TopUpPayment {
  provider: 'stripe';
  /** The Checkout Session (`cs_…`). */
  sessionId: string;
  /** The PaymentIntent (`pi_…`), when Stripe gave one. */
  paymentIntentId?: string;
  /** Stripe's receipt page for the charge (https only). */
  receiptUrl?: string;
}

export interface TopUpRow {
  accountId: string;
  sk: string;
  kind: 'topup';
  topUpId: string;
  amount: number;
  at: string;
  /** Set when the top-up was a card payment. */
  payment?: TopUpPayment;
}

/**
 * Money taken back (or given) outside a request: a card payment refunded or disputed at the payment
 * provider. `amount` is signed: negative debits the wallet, and may take it below zero.
 */
export interface AdjustmentRow {
  accountId: string;
  sk: string;
  kind: 'adjustment';
  /** The idempotency id it was applied under, e.g. `stripe-refund-ch_…-2500`. */
  adjustmentId: string;
  /** nano-USD, signed: negative is a debit. */
  amount: number;
  /** Why, in one sentence, naming the payment. */
  reason: string;
  at: string;
  /** The card payment it concerns. */
  payment?: AdjustmentPayment;
}

/** The Stripe objects an adjustment names. */
export interface AdjustmentPayment {
  provider: 'stripe';
  chargeId?: string;
  paymentIntentId?: string;
  disputeId?: string;
}

export type LedgerRow = UsageRow | TopUpRow | AdjustmentRow;
