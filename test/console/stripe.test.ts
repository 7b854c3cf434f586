import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigurationReport } from '../../lambdas/reports/reporter.ts';
import { createAccount, getAccount } from '../../lambdas/services/accounts.ts';
import { auditAccount } from '../../lambdas/services/audit.ts';
import { createKey } from '../../lambdas/services/keys.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { type Payments, topUpLimitsFromEnv } from '../../lambdas/services/payments.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import { audit, putRoute } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeStripe, startFakeStripe } from '../support/fake-stripe.ts';
import { send, startTestConsole, type TestConsole } from './console-client.ts';

const WEBHOOK_SECRET = 'whsec_test_tollgate';

/** A paid Checkout Session as Stripe sends it in `checkout.session.completed`. */
const paidSession = (
  id: string,
  account: string,
  cents: number,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> => ({
  id,
  object: 'checkout.session',
  mode: 'payment',
  amount_total: cents,
  currency: 'usd',
  client_reference_id: account,
  metadata: { account },
  payment_status: 'paid',
  payment_intent: `pi_${id.slice(3)}`,
  status: 'complete',
  ...overrides,
});

describe('card top-ups with Stripe Checkout', () => {
  let db: TestDatabase;
  let stripe: FakeStripe;
  let console: TestConsole;
  let bare: TestConsole;
  let ada: string;
  const reports: ConfigurationReport[] = [];
  let payments: Payments;

  const seconds = (): number => Math.floor(console.clock.ms / 1000);
  const deliver = (event: { body: string; signature: string }, signature = event.signature) =>
    send(console.url, 'POST', '/console/webhooks/stripe', {
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': signature,
      },
      body: event.body,
    });
  const event = (type: string, object: object, timestamp = seconds()) =>
    stripe.event(type, object, { secret: WEBHOOK_SECRET, timestamp });
  const balance = async (accountId: string) => (await getAccount(db.stores, { accountId })).balance_usd;
  const topUps = async (accountId: string) =>
    (await listUsage(db.stores, { accountId, limit: 100 })).ledger.data.filter((entry) => entry.type === 'topup');

  beforeAll(async () => {
    db = await createTestDatabase();
    stripe = await startFakeStripe();
    payments = { stripe: stripe.client(), webhookSecret: WEBHOOK_SECRET, limits: topUpLimitsFromEnv({}) };
    console = await startTestConsole(db, {
      payments: async () => payments,
      checkoutOrigin: stripe.url,
      reportSink: { publish: async (report) => void reports.push(report) },
    });
    bare = await startTestConsole(db);
    await createAccount(db.stores, { accountId: 'acme' });
    await addMember(db.stores, { accountId: 'acme', email: 'ada@example.com' });
    ada = await console.signIn('ada@example.com');
  });
  afterAll(async () => {
    await console?.close();
    await bare?.close();
    await stripe?.close();
  });

  describe('Add credit', () => {
    it('offers the presets within the limits and a custom amount on the wallet page', async () => {
      const page = await console.get('/console/wallet', { cookie: ada });

      expect(page.status).toBe(200);
      expect(page.body).toContain('Add credit');
      for (const amount of ['10.00', '25.00', '50.00', '100.00']) {
        expect(page.body).toContain(`name="amount" value="${amount}"`);
      }
      expect(page.body).toContain('name="custom"');
      expect(page.body).not.toContain('not configured');
    });

    it('says card payments are not configured when the Stripe secrets are missing, and refuses the form', async () => {
      const cookie = await bare.signIn('ada@example.com');
      const page = await bare.get('/console/wallet', { cookie });
      const csrf = await bare.csrf(cookie);

      const posted = await bare.post('/console/wallet/checkout', { cookie, form: { _csrf: csrf, amount: '10.00' } });

      expect(page.status).toBe(200);
      expect(page.body).toContain('Card payments are not configured');
      expect(posted.status).toBe(503);
      expect(posted.body).toContain('Card payments are not configured');
    });

    it('creates a payment Checkout Session for the account and redirects to it (303)', async () => {
      const csrf = await console.csrf(ada);

      const answer = await console.post('/console/wallet/checkout', {
        cookie: ada,
        form: { _csrf: csrf, amount: '25.00' },
      });

      expect(answer.status).toBe(303);
      const created = stripe.requests.filter((request) => request.path === '/v1/checkout/sessions').at(-1);
      expect(created?.authorization).toBe('Bearer sk_test_fake');
      const form = Object.fromEntries(created?.form ?? []);
      expect(form).toMatchObject({
        mode: 'payment',
        'line_items[0][price_data][currency]': 'usd',
        'line_items[0][price_data][unit_amount]': '2500',
        'line_items[0][price_data][product_data][name]': 'Tollgate credit',
        'line_items[0][quantity]': '1',
        'metadata[account]': 'acme',
        'payment_intent_data[metadata][account]': 'acme',
        client_reference_id: 'acme',
        success_url: `${console.url}/console/wallet?paid={CHECKOUT_SESSION_ID}`,
        cancel_url: `${console.url}/console/wallet?cancelled=1`,
      });
      const session = [...stripe.sessions.values()].at(-1);
      expect(answer.headers.location).toBe(session?.url);
      expect(answer.headers.location?.startsWith(`${stripe.url}/pay/cs_test_`)).toBe(true);
      // Chromium checks a form post's redirects against form-action: Stripe's origin is allowed.
      expect(answer.headers['content-security-policy']).toContain(`form-action 'self' ${stripe.url}`);
    });

    it('takes a custom amount as exact decimal USD', async () => {
      const csrf = await console.csrf(ada);

      const answer = await console.post('/console/wallet/checkout', {
        cookie: ada,
        form: { _csrf: csrf, custom: '12.34' },
      });

      expect(answer.status).toBe(303);
      expect(stripe.requests.at(-1)?.form.get('line_items[0][price_data][unit_amount]')).toBe('1234');
    });

    it.each([
      ['below the minimum', '4.99'],
      ['above the maximum', '500.01'],
      ['not whole cents', '10.005'],
      ['not a number', '1e3'],
    ])('refuses an amount %s with 400, and creates no session', async (_, amount) => {
      const csrf = await console.csrf(ada);
      const before = stripe.requests.length;

      const answer = await console.post('/console/wallet/checkout', {
        cookie: ada,
        form: { _csrf: csrf, custom: amount },
      });

      expect(answer.status).toBe(400);
      expect(stripe.requests.length).toBe(before);
    });

    it('refuses a checkout without the CSRF token', async () => {
      const answer = await console.post('/console/wallet/checkout', { cookie: ada, form: { amount: '10.00' } });

      expect(answer.status).toBe(403);
    });
  });

  describe('POST /console/webhooks/stripe', () => {
    it('credits a paid checkout.session.completed once, exactly amount_total, with the payment on the row', async () => {
      const before = await balance('acme');
      const completed = event('checkout.session.completed', paidSession('cs_test_good', 'acme', 2550));

      const first = await deliver(completed);
      const again = await deliver(completed);

      expect(first.status).toBe(200);
      expect(again.status).toBe(200);
      expect(before).toBe('0.00');
      expect(await balance('acme')).toBe('25.50');
      const rows = await topUps('acme');
      expect(rows).toEqual([
        expect.objectContaining({
          id: 'stripe-cs_test_good',
          amount_nano: 25_500_000_000,
          payment: {
            session_id: 'cs_test_good',
            payment_intent_id: 'pi_test_good',
            receipt_url: 'https://pay.stripe.com/receipts/ch_test_good',
          },
        }),
      ]);
    });

    it('links the receipt on the wallet page', async () => {
      const page = await console.get('/console/wallet', { cookie: ada });

      expect(page.body).toContain(
        '<a href="https://pay.stripe.com/receipts/ch_test_good" target="_blank" rel="noopener noreferrer">Receipt</a>',
      );
    });

    it('verifies the raw body when the function URL hands it over base64-encoded', async () => {
      const completed = event('checkout.session.completed', paidSession('cs_test_base64', 'b64', 100));
      await createAccount(db.stores, { accountId: 'b64' });

      // Not JSON by its content type: the function URL base64-encodes the body.
      const answer = await send(console.url, 'POST', '/console/webhooks/stripe', {
        headers: { 'content-type': 'application/octet-stream', 'stripe-signature': completed.signature },
        body: completed.body,
      });

      expect(answer.status).toBe(200);
      expect(await balance('b64')).toBe('1.00');
    });

    it('credits once for a completed and an async_payment_succeeded of one session', async () => {
      const session = paidSession('cs_test_twice', 'acme', 1000);
      const before = await balance('acme');

      const answers = await Promise.all([
        deliver(event('checkout.session.completed', session)),
        deliver(event('checkout.session.async_payment_succeeded', session)),
        deliver(event('checkout.session.completed', session)),
      ]);

      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      expect(before).toBe('25.50');
      expect(await balance('acme')).toBe('35.50');
    });

    it('credits nothing for a completed session still unpaid, then credits its async_payment_succeeded', async () => {
      const id = 'cs_test_async';

      const pending = await deliver(
        event('checkout.session.completed', paidSession(id, 'acme', 700, { payment_status: 'unpaid' })),
      );
      const afterPending = await balance('acme');
      const succeeded = await deliver(event('checkout.session.async_payment_succeeded', paidSession(id, 'acme', 700)));

      expect(pending.status).toBe(200);
      expect(afterPending).toBe('35.50');
      expect(succeeded.status).toBe(200);
      expect(await balance('acme')).toBe('42.50');
    });

    it('answers 400 to a bad signature and credits nothing', async () => {
      const forged = event('checkout.session.completed', paidSession('cs_test_forged', 'acme', 100_000));
      const wrongSecret = stripe.event('checkout.session.completed', paidSession('cs_test_forged', 'acme', 100_000), {
        secret: 'whsec_someone_else',
        timestamp: seconds(),
      });

      const tampered = await deliver({ ...forged, body: forged.body.replace('100000', '900000') }, forged.signature);
      const unsigned = await deliver(forged, '');
      const foreign = await deliver(wrongSecret);

      expect([tampered.status, unsigned.status, foreign.status]).toEqual([400, 400, 400]);
      expect(await balance('acme')).toBe('42.50');
    });

    it('refuses an event signed longer ago than the tolerance (a replay)', async () => {
      const stale = event('checkout.session.completed', paidSession('cs_test_stale', 'acme', 500), seconds() - 301);

      const answer = await deliver(stale);

      expect(answer.status).toBe(400);
      expect(await balance('acme')).toBe('42.50');
    });

    it('refuses and reports a session paid in another currency', async () => {
      const euros = event('checkout.session.completed', paidSession('cs_test_eur', 'acme', 5000, { currency: 'eur' }));

      const answer = await deliver(euros);

      expect(answer.status).toBe(200);
      expect(await balance('acme')).toBe('42.50');
      expect(reports.at(-1)).toMatchObject({ kind: 'payment_webhook', message: expect.stringContaining('eur') });
    });

    it('reports a payment for an unknown account and asks Stripe to retry (500)', async () => {
      const lost = event('checkout.session.completed', paidSession('cs_test_lost', 'nobody', 5000));

      const answer = await deliver(lost);

      expect(answer.status).toBe(500);
      expect(reports.at(-1)).toMatchObject({
        kind: 'payment_webhook',
        message: expect.stringContaining("unknown account 'nobody'"),
      });
    });

    it('takes a refund back once: partial refunds add up exactly, replays and older totals change nothing', async () => {
      stripe.intentAccounts.set('pi_test_good', 'acme');
      const refunded = (cents: number) =>
        event('charge.refunded', {
          id: 'ch_test_good',
          object: 'charge',
          amount: 2550,
          amount_refunded: cents,
          currency: 'usd',
          payment_intent: 'pi_test_good',
          metadata: {},
        });
      const partial = refunded(1000);

      const first = await deliver(partial);
      const afterPartial = await balance('acme');
      const replay = await deliver(partial);
      const full = await deliver(refunded(2550));
      const late = await deliver(refunded(1000));

      expect([first.status, replay.status, full.status, late.status]).toEqual([200, 200, 200, 200]);
      expect(afterPartial).toBe('32.50');
      expect(await balance('acme')).toBe('17.00');
      const adjustments = (await listUsage(db.stores, { accountId: 'acme', limit: 100 })).ledger.data.filter(
        (entry) => entry.type === 'adjustment',
      );
      expect(adjustments.map((entry) => entry.amount_usd).sort()).toEqual(['-10.00', '-15.50']);
      expect(adjustments[0]).toMatchObject({
        type: 'adjustment',
        payment: { charge_id: 'ch_test_good', payment_intent_id: 'pi_test_good', dispute_id: null },
        reason: expect.stringContaining('Refund of charge ch_test_good'),
      });
      const page = await console.get('/console/wallet', { cookie: ada });
      expect(page.body).toContain('Refund of charge ch_test_good');
    });

    it('takes back a dispute and a refund below zero, and the gateway then answers 402', async () => {
      await createAccount(db.stores, { accountId: 'spender' });
      await putRoute(db, { model: 'tollgate-echo', provider: 'echo' });
      const key = await createKey(db.stores, { accountId: 'spender', name: 'spender key' });
      stripe.intentAccounts.set('pi_test_spender', 'spender');
      await deliver(event('checkout.session.completed', paidSession('cs_test_spender', 'spender', 1000)));
      const charge = { id: 'ch_test_spender', object: 'charge', currency: 'usd', payment_intent: 'pi_test_spender' };

      const disputed = await deliver(
        event('charge.dispute.created', {
          id: 'dp_test_spender',
          object: 'dispute',
          amount: 1000,
          currency: 'usd',
          charge: 'ch_test_spender',
          payment_intent: 'pi_test_spender',
          metadata: {},
        }),
      );
      const refunded = await deliver(
        event('charge.refunded', { ...charge, amount: 1000, amount_refunded: 1000, metadata: {} }),
      );
      const answer = await fetch(`${console.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hello' }] }),
      });

      expect([disputed.status, refunded.status]).toEqual([200, 200]);
      expect(await balance('spender')).toBe('-10.00');
      expect(answer.status).toBe(402);
      expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(/^Insufficient balance/);
      expect(await audit(db, 'spender')).toMatchObject({ difference: 0, topUps: 10_000_000_000 });
    });

    it('takes back exactly the largest refunded total under concurrent deliveries of partial and full refunds', async () => {
      await createAccount(db.stores, { accountId: 'racer' });
      stripe.intentAccounts.set('pi_test_racer', 'racer');
      await deliver(event('checkout.session.completed', paidSession('cs_test_racer', 'racer', 2000)));
      const refunded = (cents: number) =>
        event('charge.refunded', {
          id: 'ch_test_racer',
          object: 'charge',
          amount: 2000,
          amount_refunded: cents,
          currency: 'usd',
          payment_intent: 'pi_test_racer',
          metadata: {},
        });
      const deliveries = [500, 1500, 2000, 500, 1500, 2000, 2000, 1500].map(refunded);

      const answers = await Promise.all(deliveries.map((delivery) => deliver(delivery)));

      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      expect(await balance('racer')).toBe('0.00');
      expect(await audit(db, 'racer')).toMatchObject({ difference: 0, adjustments: -20_000_000_000 });
    });

    it('refuses and reports a refund of a payment that names no account', async () => {
      const before = reports.length;

      const answer = await deliver(
        event('charge.refunded', {
          id: 'ch_test_foreign',
          object: 'charge',
          amount: 500,
          amount_refunded: 500,
          currency: 'usd',
          payment_intent: 'pi_test_foreign',
          metadata: {},
        }),
      );

      expect(answer.status).toBe(200);
      expect(answer.body).toBe('refused');
      expect(reports.length).toBe(before + 1);
    });

    it('ignores event types it does not use', async () => {
      const answer = await deliver(event('customer.created', { id: 'cus_1', object: 'customer' }));

      expect(answer.status).toBe(200);
      expect(answer.body).toBe('ignored');
    });

    it('leaves the account auditable to the nano-USD', async () => {
      const result = await audit(db, 'acme');

      expect(result.difference).toBe(0);
      expect(result.topUps).toBe(42_500_000_000);
      expect(result.adjustments).toBe(-25_500_000_000);
      expect(result.balance).toBe(17_000_000_000);
      expect(await auditAccount(db.stores, { accountId: 'acme' })).toMatchObject({
        ok: true,
        top_ups_usd: '42.50',
        adjustments_usd: '-25.50',
        balance_usd: '17.00',
        difference_usd: '0.00',
      });
    });
  });
});
