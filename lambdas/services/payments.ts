/**
 * Card top-ups through Stripe Checkout: the Checkout Session an account holder is sent to, and the
 * webhook events that credit (or refuse) the payment. Everything Stripe does itself — the API calls,
 * the webhook signature — goes through the `stripe` library; this file decides what the money does.
 */
import Stripe from 'stripe';
import { formatUsd, parseUsd } from '../gateway/money.ts';
import { UnknownAccountError } from '../store/wallets.ts';
import type { AdjustmentPayment, TopUpPayment } from '../vocabulary.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import { type TopUpReceipt, topUp } from './topups.ts';

/** nano-USD in one US cent: Stripe's `amount_total` is in cents. */
export const NANO_PER_CENT = 10_000_000;

/** What the operator allows one card top-up to be, and the buttons the wallet page offers. */
export interface TopUpLimits {
  minNano: number;
  maxNano: number;
  /** Preset amounts (nano-USD), those of 10/25/50/100 that lie within min and max. */
  presetsNano: number[];
}

/** Stripe, configured: the API client and the webhook endpoint's signing secret. */
export interface Payments {
  stripe: Stripe;
  webhookSecret: string;
  limits: TopUpLimits;
}

const PRESETS_USD = ['10', '25', '50', '100'];

const envUsd = (env: Readonly<Record<string, string | undefined>>, name: string, fallback: string): number => {
  const text = env[name]?.trim() || fallback;
  try {
    const nano = parseUsd(text);
    if (nano <= 0 || nano % NANO_PER_CENT !== 0) throw new Error('a positive amount in whole cents');
    return nano;
  } catch (error) {
    throw new Error(`${name}='${text}' is not a USD amount: ${(error as Error).message}`);
  }
};

/**
 * The card top-up limits from `TOLLGATE_TOPUP_MIN_USD` (default 5) and `TOLLGATE_TOPUP_MAX_USD`
 * (default 500).
 *
 * @example topUpLimitsFromEnv({ TOLLGATE_TOPUP_MAX_USD: '1000' }) // { minNano: 5e9, maxNano: 1e12, … }
 */
export const topUpLimitsFromEnv = (env: Readonly<Record<string, string | undefined>>): TopUpLimits => {
  const minNano = envUsd(env, 'TOLLGATE_TOPUP_MIN_USD', '5');
  const maxNano = envUsd(env, 'TOLLGATE_TOPUP_MAX_USD', '500');
  if (minNano > maxNano) throw new Error('TOLLGATE_TOPUP_MIN_USD is more than TOLLGATE_TOPUP_MAX_USD');
  const presetsNano = PRESETS_USD.map((usd) => parseUsd(usd)).filter((nano) => nano >= minNano && nano <= maxNano);
  return { minNano, maxNano, presetsNano };
};

/**
 * A Stripe client. `apiUrl` (e.g. `http://127.0.0.1:4242`, env `STRIPE_API_URL`) points it at
 * another API server — the fake one in tests — through the library's own host/port/protocol options.
 */
export const stripeClient = (secretKey: string, apiUrl?: string): Stripe => {
  if (!apiUrl) return new Stripe(secretKey, { maxNetworkRetries: 2, timeout: 10_000 });
  const url = new URL(apiUrl);
  return new Stripe(secretKey, {
    host: url.hostname,
    port: url.port || (url.protocol === 'http:' ? 80 : 443),
    protocol: url.protocol === 'http:' ? 'http' : 'https',
    maxNetworkRetries: 0,
    timeout: 10_000,
  });
};

/**
 * Payments from `STRIPE_SECRET_KEY` and `STRIPE_WEBHOOK_SECRET` (and `STRIPE_API_URL`, optional);
 * undefined when either secret is missing: card payments are then not offered.
 */
export const paymentsFromEnv = (env: Readonly<Record<string, string | undefined>>): Payments | undefined => {
  const secretKey = env['STRIPE_SECRET_KEY'];
  const webhookSecret = env['STRIPE_WEBHOOK_SECRET'];
  if (!secretKey || !webhookSecret) return undefined;
  return { stripe: stripeClient(secretKey, env['STRIPE_API_URL']), webhookSecret, limits: topUpLimitsFromEnv(env) };
};

/**
 * The amount a form asked for, in whole cents: exact decimal USD (parseUsd), within the limits.
 *
 * @example checkoutAmount(limits, '12.50') // 1250
 */
export const checkoutAmount = (limits: TopUpLimits, text: string): number => {
  let nano: number;
  try {
    nano = parseUsd(text.trim().replace(/^\$/, ''));
  } catch {
    throw new InvalidInputError(`'${text}' is not an amount in USD, like 25 or 12.50`);
  }
  if (nano % NANO_PER_CENT !== 0) throw new InvalidInputError('Card payments are in whole cents, like 12.50');
  if (nano < limits.minNano || nano > limits.maxNano) {
    throw new InvalidInputError(
      `Add between $${formatUsd(limits.minNano)} and $${formatUsd(limits.maxNano)} at a time (asked $${formatUsd(nano)})`,
    );
  }
  return nano / NANO_PER_CENT;
};

/**
 * Creates the Checkout Session for `amount` USD to `accountId` and answers its URL, where the
 * account holder pays; Stripe sends them back to the wallet page either way.
 */
export const createCheckout = async (
  payments: Payments,
  { accountId, amountUsd, consoleUrl }: { accountId: string; amountUsd: string; consoleUrl: string },
): Promise<string> => {
  const cents = checkoutAmount(payments.limits, amountUsd);
  const session = await payments.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [
      { price_data: { currency: 'usd', unit_amount: cents, product_data: { name: 'Tollgate credit' } }, quantity: 1 },
    ],
    metadata: { account: accountId },
    // Refunds and disputes name the payment intent, not the session: it carries the account too.
    payment_intent_data: { metadata: { account: accountId } },
    client_reference_id: accountId,
    success_url: `${consoleUrl}/wallet?paid={CHECKOUT_SESSION_ID}`,
    cancel_url: `${consoleUrl}/wallet?cancelled=1`,
  });
  if (!session.url) throw new Error(`Stripe created Checkout Session ${session.id} without a URL`);
  return session.url;
};

/** A webhook event Tollgate refuses for good (a retry cannot help): answered 200, and reported. */
export class RefusedPaymentError extends Error {}

/** What a webhook event did. */
export type WebhookOutcome =
  | { status: 'credited' | 'duplicate'; receipt: TopUpReceipt }
  | { status: 'ignored'; reason: string }
  | { status: 'refused'; reason: string }
  /** A refund or dispute taken back from the wallet (amount negative). */
  | { status: 'taken_back'; adjustmentId: string; amountNano: number };

export type PaymentsDeps = ServiceDeps<'wallets'> & { payments: Payments };

const idOf = (value: string | { id: string } | null): string | undefined =>
  value === null ? undefined : typeof value === 'string' ? value : value.id;

/** Stripe's receipt URL for the payment intent's charge, https only; undefined when Stripe has none. */
const receiptUrlOf = async (stripe: Stripe, paymentIntentId: string | undefined): Promise<string | undefined> => {
  if (!paymentIntentId) return undefined;
  const intent = await stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['latest_charge'] });
  const charge = intent.latest_charge;
  const url = charge !== null && typeof charge === 'object' ? charge.receipt_url : null;
  return url?.startsWith('https://') ? url : undefined;
};

/**
 * Credits a paid Checkout Session to the account in its metadata: exactly `amount_total` cents, as
 * nano-USD, through the same top-up service as `tollgate topup`, under the id `stripe-<session id>` —
 * so every delivery of every event of one session credits once.
 */
const creditSession = async (deps: PaymentsDeps, session: Stripe.Checkout.Session): Promise<WebhookOutcome> => {
  if (session.mode !== 'payment') return { status: 'ignored', reason: `session ${session.id} is not a payment` };
  if (session.payment_status !== 'paid') {
    return { status: 'ignored', reason: `session ${session.id} is ${session.payment_status}, not paid yet` };
  }
  const accountId = session.metadata?.['account'];
  if (!accountId) throw new RefusedPaymentError(`Checkout Session ${session.id} names no account in its metadata`);
  if (session.currency !== 'usd') {
    throw new RefusedPaymentError(
      `Checkout Session ${session.id} for account '${accountId}' was paid in ${session.currency ?? 'no currency'}, ` +
        'not usd: nothing was credited; refund it in Stripe or credit the account by hand',
    );
  }
  const cents = session.amount_total;
  if (cents === null || !Number.isSafeInteger(cents) || cents <= 0) {
    throw new RefusedPaymentError(`Checkout Session ${session.id} has no positive amount_total (${cents})`);
  }
  const paymentIntentId = idOf(session.payment_intent);
  const receiptUrl = await receiptUrlOf(deps.payments.stripe, paymentIntentId);
  const payment: TopUpPayment = {
    provider: 'stripe',
    sessionId: session.id,
    ...(paymentIntentId && { paymentIntentId }),
    ...(receiptUrl && { receiptUrl }),
  };
  try {
    const receipt = await topUp(deps, {
      accountId,
      topUpId: `stripe-${session.id}`,
      amountNano: cents * NANO_PER_CENT,
      payment,
    });
    return { status: receipt.applied ? 'credited' : 'duplicate', receipt };
  } catch (error) {
    if (error instanceof NotFoundError) {
      // Retried by Stripe (for days): creating the account lets a later delivery credit it.
      throw new Error(`Checkout Session ${session.id} was paid for unknown account '${accountId}'`, { cause: error });
    }
    throw error;
  }
};

/**
 * Takes a refunded or disputed card payment back from the account that paid it: a negative
 * adjustment row, idempotent on the refund's charge (its cumulative `amount_refunded`) or the dispute.
 */
const takeBack = async (
  deps: PaymentsDeps,
  input: {
    what: string;
    guardId: string;
    cents: number;
    currency: string;
    account: string | undefined;
    payment: AdjustmentPayment;
  },
): Promise<WebhookOutcome> => {
  const paymentIntentId = input.payment.paymentIntentId;
  let account = input.account;
  if (!account && paymentIntentId) {
    account = (await deps.payments.stripe.paymentIntents.retrieve(paymentIntentId)).metadata?.['account'];
  }
  if (!account) {
    throw new RefusedPaymentError(`${input.what}: its payment names no Tollgate account; nothing was taken back`);
  }
  if (input.currency !== 'usd') {
    throw new RefusedPaymentError(
      `${input.what} for account '${account}' is in ${input.currency}, not usd: nothing was taken back`,
    );
  }
  if (!Number.isSafeInteger(input.cents) || input.cents <= 0) {
    return { status: 'ignored', reason: `${input.what}: nothing to take back (${input.cents})` };
  }
  const total = input.cents * NANO_PER_CENT;
  try {
    const result = await deps.wallets.takeBack(account, {
      guardId: input.guardId,
      total,
      reason: `${input.what} (payment ${paymentIntentId ?? '?'}): $${formatUsd(total)} taken back`,
      payment: input.payment,
      at: clock(deps),
    });
    return result.applied
      ? { status: 'taken_back', adjustmentId: result.adjustmentId, amountNano: result.amount }
      : { status: 'ignored', reason: `${input.what}: already taken back` };
  } catch (error) {
    if (error instanceof UnknownAccountError) {
      throw new Error(`${input.what} concerns unknown account '${account}'`, { cause: error });
    }
    throw error;
  }
};

/**
 * What one verified webhook event does. Throws {@link RefusedPaymentError} for a payment Tollgate
 * will never credit (not USD, no account), and any other error for a failure Stripe should retry.
 */
export const handleStripeEvent = async (deps: PaymentsDeps, event: Stripe.Event): Promise<WebhookOutcome> => {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      return creditSession(deps, event.data.object);
    case 'charge.refunded': {
      const charge = event.data.object;
      const paymentIntentId = idOf(charge.payment_intent);
      return takeBack(deps, {
        what: `Refund of charge ${charge.id}`,
        guardId: `stripe-refund-${charge.id}`,
        cents: charge.amount_refunded,
        currency: charge.currency,
        account: charge.metadata?.['account'],
        payment: { provider: 'stripe', chargeId: charge.id, ...(paymentIntentId && { paymentIntentId }) },
      });
    }
    case 'charge.dispute.created': {
      const dispute = event.data.object;
      const chargeId = idOf(dispute.charge);
      const paymentIntentId = idOf(dispute.payment_intent);
      return takeBack(deps, {
        what: `Dispute ${dispute.id} of charge ${chargeId ?? '?'}`,
        guardId: `stripe-dispute-${dispute.id}`,
        cents: dispute.amount,
        currency: dispute.currency,
        account: dispute.metadata?.['account'],
        payment: {
          provider: 'stripe',
          disputeId: dispute.id,
          ...(chargeId && { chargeId }),
          ...(paymentIntentId && { paymentIntentId }),
        },
      });
    }
    default:
      return { status: 'ignored', reason: `event type ${event.type} is not used` };
  }
};
