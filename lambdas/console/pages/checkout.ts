import Stripe from 'stripe';
import { createCheckout, handleStripeEvent, type Payments, RefusedPaymentError } from '../../services/payments.ts';
import { html } from '../html.ts';
import { type ConsoleResponse, htmlPage, redirect } from '../http.ts';
import { type Route, signedIn, type WebhookContext, type WebhookRoute } from '../route.ts';
import { MessagePage } from '../views/layout.ts';

const text = (statusCode: number, body: string): ConsoleResponse => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  body,
});

/** `POST /console/wallet/checkout`: a Checkout Session for the amount asked, then off to Stripe (303). */
export const CHECKOUT_ROUTES: readonly Route[] = [
  signedIn('POST', /^\/wallet\/checkout$/, async ({ request, deps, session, consoleUrl }) => {
    const payments = await deps.payments?.();
    if (!payments) {
      return htmlPage(
        503,
        html`<${MessagePage} title="Card payments are not configured" session=${session} kind="error">
          This console does not take card payments yet. Ask the operator to top up your account.
        <//>`,
      );
    }
    const amount = request.form.get('amount') || request.form.get('custom') || '';
    const url = await createCheckout(payments, { accountId: session.accountId, amountUsd: amount, consoleUrl });
    return redirect(url);
  }),
];

/**
 * `POST /console/webhooks/stripe`: Stripe's signed events, verified over the raw body with the
 * endpoint secret and Stripe's default timestamp tolerance. 200 for an event handled or ignored, 400
 * for a bad signature (nothing done), 500 for a failure Stripe should retry. Refusals and failures
 * are reported to the operator.
 */
const stripeWebhook = async ({ request, body, deps }: WebhookContext): Promise<ConsoleResponse> => {
  const configured = await deps.payments?.();
  if (!configured) return text(503, 'card payments are not configured');
  const payments: Payments = configured;
  const now = deps.now?.() ?? new Date();
  let event: Stripe.Event;
  try {
    event = payments.stripe.webhooks.constructEvent(
      body,
      request.headers['stripe-signature'] ?? '',
      payments.webhookSecret,
      undefined,
      undefined,
      now.getTime(),
    );
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) throw error;
    deps.logger.warn('stripe webhook: bad signature', { reason: error.message, requestId: request.requestId });
    return text(400, 'bad signature');
  }
  const report = (message: string, hint: string) =>
    deps.reporter?.report({
      kind: 'payment_webhook',
      model: `stripe ${event.id}`,
      message,
      hint,
      requestId: request.requestId,
      time: now.toISOString(),
    });
  try {
    return await answer();
  } finally {
    // The invocation may freeze once it has answered: reports go out first.
    await deps.reporter?.flush();
  }
  async function answer(): Promise<ConsoleResponse> {
    try {
      const outcome = await handleStripeEvent(
        { wallets: deps.stores.wallets, payments, ...(deps.now && { now: deps.now }) },
        event,
      );
      deps.logger.info('stripe webhook', { event: event.id, type: event.type, outcome });
      return text(200, outcome.status);
    } catch (error) {
      if (error instanceof RefusedPaymentError) {
        report(error.message, 'Nothing was credited. Refund the payment in Stripe, or credit the account by hand.');
        return text(200, 'refused');
      }
      deps.logger.error('stripe webhook failed', { error, event: event.id, type: event.type });
      report(
        `Stripe event ${event.id} (${event.type}) failed: ${(error as Error).message}`,
        'Stripe retries it for three days; fix the cause (e.g. create the account) and it will be credited once.',
      );
      return text(500, 'failed; retry');
    }
  }
};

export const WEBHOOK_ROUTES: readonly WebhookRoute[] = [{ path: /^\/webhooks\/stripe$/, handle: stripeWebhook }];
