/**
 * Card top-ups in a real browser (Debian's Chromium driven by playwright-core): "Add credit" sends the
 * browser on to the fake Stripe's checkout page (a 303 after a form post, which Chromium checks against
 * CSP form-action), a signed webhook follows, and the wallet page shows the new balance and the
 * receipt link.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mail, Mailer } from '../../lambdas/mail/mailer.ts';
import { type LocalGateway, startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { createCodes } from '../../lambdas/services/codes.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { topUpLimitsFromEnv } from '../../lambdas/services/payments.ts';
import { audit } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeStripe, startFakeStripe } from '../support/fake-stripe.ts';

/** Git-ignored, beside the console walkthrough's. */
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const WEBHOOK_SECRET = 'whsec_browser';
const EMAIL = 'payer@example.com';

describe('Add credit in a browser', () => {
  let db: TestDatabase;
  let stripe: FakeStripe;
  let gateway: LocalGateway;
  let browser: Browser;
  const outbox: Mail[] = [];
  const mailer: Mailer = { send: async (mail) => void outbox.push(mail) };
  const problems: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    stripe = await startFakeStripe();
    gateway = await startLocalGateway({
      stores: db.stores,
      reportSink: { publish: async () => undefined },
      env: {},
      logger: new Logger({ serviceName: 'tollgate-proxy', logLevel: 'ERROR' }),
      console: {
        mailer,
        signInFloorMs: 0,
        payments: async () => ({
          stripe: stripe.client(),
          webhookSecret: WEBHOOK_SECRET,
          limits: topUpLimitsFromEnv({}),
        }),
        checkoutOrigin: stripe.url,
      },
    });
    await createAccount(db.stores, { accountId: 'payer' });
    await addMember(db.stores, { accountId: 'payer', email: EMAIL });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await stripe?.close();
  });

  it('redirects to the checkout page, after the webhook shows the balance and the receipt link, and redeems a code', async () => {
    // Prepare: signed in as the user does it.
    const page = await (await browser.newContext({ baseURL: gateway.url })).newPage();
    page.setDefaultTimeout(5_000);
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${message.text()} (${message.location().url})`);
    });
    await page.goto('/console/sign-in');
    await page.getByLabel('E-mail address').fill(EMAIL);
    await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
    await expect.poll(() => outbox.length).toBe(1);
    const link = outbox[0]?.text.match(/https?:\/\/\S+\/auth\?token=\S+/)?.[0] ?? '';
    await page.goto(link);
    await page.getByRole('button', { name: 'Continue to the console' }).click();
    await page.waitForURL('**/console/wallet');

    // Act: $25, then the payment confirmed by Stripe's signed webhook.
    await page.getByRole('button', { name: 'Add $25.00' }).click();
    await page.waitForURL(`${stripe.url}/pay/cs_test_*`);
    const sessionId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    await expect.poll(() => page.getByRole('heading', { name: /Fake checkout/ }).count()).toBe(1);
    const session = stripe.sessions.get(sessionId);
    const delivered = stripe.event(
      'checkout.session.completed',
      { ...session, payment_status: 'paid', payment_intent: `pi_${sessionId.slice(3)}`, status: 'complete' },
      { secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) },
    );
    const answer = await fetch(`${gateway.url}/console/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': delivered.signature },
      body: delivered.body,
    });
    await page.goto(`/console/wallet?paid=${sessionId}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(await page.getByTestId('balance').textContent()).toContain('25.00');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'payment was received' }).count()).toBe(1);
    const receipt = page.getByRole('link', { name: 'Receipt' });
    expect(await receipt.getAttribute('href')).toBe(`https://pay.stripe.com/receipts/ch_${sessionId.slice(3)}`);
    expect(await receipt.getAttribute('rel')).toBe('noopener noreferrer');
    expect(problems).toEqual([]);
    expect(await audit(db, 'payer')).toMatchObject({ difference: 0, topUps: 25_000_000_000 });

    // 4. A redemption code, typed into the wallet page's form, adds its amount to the balance.
    const [voucher] = (await createCodes(db.stores, { amountUsd: '5.00', count: 1 })).codes;
    await page.getByRole('textbox', { name: 'Code' }).fill(voucher?.code.toLowerCase() ?? '');
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.waitForURL(/\/console\/wallet\?redeemed=/);
    expect(await page.getByTestId('balance').textContent()).toContain('30.00');
    expect(await page.getByRole('status').filter({ hasText: 'Code redeemed' }).count()).toBe(1);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}wallet-paid-and-redeemed.png`, fullPage: true });
    expect(problems).toEqual([]);
    expect(await audit(db, 'payer')).toMatchObject({ difference: 0, topUps: 30_000_000_000 });
  });
});
