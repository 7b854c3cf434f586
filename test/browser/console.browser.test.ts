/**
 * The console in a real browser (Debian's Chromium driven by playwright-core), against the local
 * gateway on 127.0.0.1 over this run's DynamoDB Local: an account holder signs in with an e-mailed
 * link, sees the balance, creates a key, calls the gateway with it through the official OpenAI SDK,
 * finds that request in the ledger at its exact cost, and revokes the key. Along the way every page
 * is screenshotted (full page, into the git-ignored test/browser/screenshots/), and checked for CSP
 * violations, keyboard reach, labelled fields, and working without client JavaScript.
 */
import { mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import OpenAI from 'openai';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyBudgetSk, limitPeriod } from '../../lambdas/gateway/key-budget.ts';
import type { Mail, Mailer } from '../../lambdas/mail/mailer.ts';
import { type LocalGateway, startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import { seedIfEmpty } from '../../lambdas/runtime/seed.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { createKey as createKeyRecord } from '../../lambdas/services/keys.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/** A long address, so the header and the check-email page show how they wrap. */
const EMAIL = 'ada.lovelace.analytical-engine.notes-on-the-sketch-by-menabrea@difference-engine.example.org';
/** The no-JavaScript visitor, a member of their own account. */
const NO_JS_EMAIL = 'charles.babbage@example.org';
const ACCOUNT = 'browser-walkthrough';
const NO_JS_ACCOUNT = 'browser-no-js';
const KEY_NAME = 'walkthrough key';
const LONG_KEY_NAME = `a-very-long-key-name-${'x'.repeat(99)}`;

/** The e-mails the console sent, as a mailbox would hold them. */
class CollectingMailer implements Mailer {
  readonly outbox: Mail[] = [];
  async send(mail: Mail): Promise<void> {
    this.outbox.push(mail);
  }
  /** The sign-in link in the newest e-mail to `to`, as the user would click it. */
  linkFor(to: string): string {
    const mail = this.outbox.findLast((candidate) => candidate.to === to);
    const link = mail?.text.match(/https?:\/\/\S+\/auth\?token=\S+/)?.[0];
    if (!link) throw new Error(`no sign-in link mailed to ${to}: ${JSON.stringify(this.outbox)}`);
    return link;
  }
}

/** Reports CSP violations to the test from every page of a context (only when JavaScript runs). */
const CSP_LISTENER = `document.addEventListener('securitypolicyviolation', (event) => {
  window.__reportCsp(event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline') + ' on ' + location.pathname);
});`;

let db: TestDatabase;
let gateway: LocalGateway;
let browser: Browser;
const mailer = new CollectingMailer();
/** Console errors (Chromium logs every CSP refusal there), page errors and CSP violation events. */
const problems: string[] = [];
const contexts: BrowserContext[] = [];

const newContext = async (options: BrowserContextOptions = {}): Promise<BrowserContext> => {
  const context = await browser.newContext({ baseURL: gateway.url, ...options });
  // A missing element fails its step in seconds, not at the test's timeout.
  context.setDefaultTimeout(5_000);
  contexts.push(context);
  await context.exposeBinding('__reportCsp', (_source, violation: string) => void problems.push(`CSP: ${violation}`));
  await context.addInitScript(CSP_LISTENER);
  context.on('page', watch);
  return context;
};

const watch = (page: Page): void => {
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // A page's own status is the test's to check (the used-link page is a 400); a failed style sheet or script is not.
    if (message.text().startsWith('Failed to load resource') && message.location().url === page.url()) return;
    problems.push(`console on ${page.url()}: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
};

const shoot = async (page: Page, name: string): Promise<void> => {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
};

/** Signs in as a user does: the form, the e-mail, the link, the button. Ends on the wallet. */
const signIn = async (page: Page, email: string, shots?: { form: string; sent: string; confirm: string }) => {
  await page.goto('/console/sign-in');
  if (shots) await shoot(page, shots.form);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
  await expect.poll(() => page.getByRole('heading', { name: 'Check your e-mail' }).count()).toBe(1);
  if (shots) await shoot(page, shots.sent);
  const link = mailer.linkFor(email);
  expect(new URL(link).origin).toBe(gateway.url);
  await page.goto(link);
  if (shots) await shoot(page, shots.confirm);
  await page.getByRole('button', { name: 'Continue to the console' }).click();
  await page.waitForURL('**/console/wallet');
  return link;
};

/** Creates a key in the API Keys page; returns its secret as the page shows it once. */
const createKey = async (page: Page, fields: { name: string; rpm?: string }): Promise<string> => {
  await page.goto('/console/keys');
  const form = page.locator('form#create-key');
  await form.locator('[name=name]').fill(fields.name);
  if (fields.rpm) await form.locator('[name=rpm]').fill(fields.rpm);
  await form.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.locator('code#new-key-secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^\S{20,}$/);
  return secret;
};

const openai = (secret: string) => new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });

/** Waits until the request's ledger row is settled; returns it as the usage service lists it. */
const settledEntry = async (requestId: string) => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { ledger } = await listUsage(db.stores, { accountId: ACCOUNT });
    const entry = ledger.data.find((row) => row.id === requestId);
    if (entry?.type === 'usage' && entry.status === 'final') return entry;
    if (Date.now() > deadline) throw new Error(`request ${requestId} not settled: ${JSON.stringify(entry)}`);
    await new Promise((done) => setTimeout(done, 25));
  }
};

beforeAll(async () => {
  await rm(SCREENSHOTS, { recursive: true, force: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  db = await createTestDatabase();
  // The routes `npm start` seeds, `tollgate-echo` (the built-in offline echo provider) among them.
  await seedIfEmpty(db.stores);
  for (const [accountId, email] of [
    [ACCOUNT, EMAIL],
    [NO_JS_ACCOUNT, NO_JS_EMAIL],
  ] as const) {
    await createAccount(db.stores, { accountId });
    await addMember(db.stores, { accountId, email });
    if (accountId === NO_JS_ACCOUNT) await topUp(db.stores, { accountId, amountUsd: '1.00', topUpId: 'no-js-1' });
  }
  gateway = await startLocalGateway({
    stores: db.stores,
    reportSink: { publish: async () => {} },
    env: {},
    // A key cache of 1 ms: a revoked key is refused at the next call.
    config: { keyCacheTtlMs: 1, negativeKeyCacheTtlMs: 0, routeCacheTtlMs: 0 },
    logger: new Logger({ serviceName: 'tollgate-browser-test', logLevel: 'SILENT' }),
    console: { mailer, signInFloorMs: 0 },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await gateway?.close();
});

describe('the console in Chromium: sign in, balance, a key, a call, its cost, revoke', () => {
  let context: BrowserContext;
  let page: Page;
  let link = '';
  let secret = '';
  let requestId = '';

  it('1. signs in with an e-mailed one-time link', async () => {
    context = await newContext();
    page = await context.newPage();
    link = await signIn(page, EMAIL, { form: 'sign-in', sent: 'check-email', confirm: 'confirm' });
    await expect.poll(() => page.getByText(EMAIL).count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('td[data-request]').count()).toBe(0);
    await shoot(page, 'wallet-empty');
  });

  it('a used link is refused with an error page', async () => {
    const other = await context.newPage();
    await other.goto(link);
    await other.getByRole('button', { name: 'Continue to the console' }).click();
    await expect.poll(() => other.getByRole('heading', { name: 'This link does not work' }).count()).toBe(1);
    await shoot(other, 'error-used-link');
    await other.close();
  });

  it('2. shows the balance after a $5.00 top-up', async () => {
    await topUp(db.stores, { accountId: ACCOUNT, amountUsd: '5.00', topUpId: 'browser-invoice-1' });
    await page.goto('/console/wallet');
    expect((await page.locator('[data-testid=balance]').textContent())?.trim()).toBe('$5.00');
  });

  it('3. creates a key in the API Keys page and shows its secret once', async () => {
    await page.goto('/console/keys');
    await shoot(page, 'keys-empty');
    secret = await createKey(page, { name: KEY_NAME, rpm: '60' });
    await shoot(page, 'keys-created');
    await createKey(page, { name: LONG_KEY_NAME });
    await page.goto('/console/keys');
    await expect.poll(() => page.locator('tr[data-key-id^="key_"]').count()).toBe(2);
    await shoot(page, 'keys-list');
  });

  it('4. calls the gateway with the new key through the OpenAI SDK', async () => {
    const { data, response } = await openai(secret)
      .chat.completions.create({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'Hello, console!' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain('Hello, console!');
    requestId = response.headers.get('x-request-id') ?? '';
    expect(requestId).not.toBe('');
  });

  it('5. lists that request in the wallet ledger at its exact cost', async () => {
    const entry = await settledEntry(requestId);
    expect(entry.cost_usd).not.toBeNull();
    await page.goto('/console/wallet');
    const cell = page.locator(`td[data-request="${requestId}"]`);
    expect((await cell.textContent())?.trim()).toBe(`$${entry.cost_usd}`);
    await shoot(page, 'wallet-ledger');
  });

  it('sets a spend limit on the key with its Edit form, and the list shows the spend against it', async () => {
    const entry = await settledEntry(requestId);
    // A third key near its daily limit ($1.85 spent and $0.05 held of $2.00), as the gateway would leave it.
    const batch = await createKeyRecord(db.stores, {
      accountId: ACCOUNT,
      name: 'nightly batch',
      spendLimit: 2_000_000_000,
      limitReset: 'daily',
    });
    await db.client.send(
      new PutCommand({
        TableName: db.tables.ledger,
        Item: {
          accountId: ACCOUNT,
          sk: keyBudgetSk(batch.keyId, limitPeriod('daily', new Date())),
          kind: 'keyspend',
          keyId: batch.keyId,
          spent: 1_850_000_000,
          held: 50_000_000,
          used: 1_900_000_000,
        },
      }),
    );
    await page.goto('/console/keys');
    const row = page.locator('tr[data-key-id^="key_"]', { hasText: KEY_NAME }).filter({ hasNotText: LONG_KEY_NAME });
    await row.getByRole('link', { name: `Edit ${KEY_NAME}` }).click();
    await page.getByLabel('Spend limit (USD)').fill('1');
    await page.getByLabel('Resets').selectOption({ label: 'Monthly' });
    await shoot(page, 'keys-edit-limit');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL('**/console/keys?updated=*');

    expect(await page.getByRole('status').textContent()).toContain('saved');
    // The request made before the limit counts in this month's period.
    const limit = row.locator('td.limit');
    expect((await limit.allInnerTexts()).join(' ').replace(/\s+/g, ' ')).toContain(
      `$${entry.cost_usd} of $1.00 this month`,
    );
    expect(await limit.getByRole('meter').count()).toBe(1);
    const nearly = page.locator('tr[data-key-id^="key_"]', { hasText: 'nightly batch' }).locator('td.limit');
    expect((await nearly.allInnerTexts()).join(' ').replace(/\s+/g, ' ')).toContain(
      '$1.85 of $2.00 today + $0.05 held',
    );
    expect(await nearly.locator('meter.warn').count()).toBe(1);
    const open = page.locator('tr[data-key-id^="key_"]', { hasText: LONG_KEY_NAME }).locator('td.limit');
    expect((await open.allInnerTexts()).join(' ').trim()).toBe('No limit');
    await shoot(page, 'keys-limits');

    const phone = await newContext({ ...PHONE, storageState: await context.storageState() });
    const small = await phone.newPage();
    expect((await small.goto('/console/keys'))?.status()).toBe(200);
    await shoot(small, 'keys-limits-phone');
    await small.locator('table.keys').screenshot({ path: `${SCREENSHOTS}keys-limits-phone-table.png` });
    expect((await small.goto(`/console/keys/${batch.keyId}`))?.status()).toBe(200);
    await shoot(small, 'keys-edit-limit-phone');
    await phone.close();
  });

  it('shows the Models page', async () => {
    const response = await page.goto('/console/models');
    expect(response?.status()).toBe(200);
    await expect.poll(() => page.getByRole('heading', { name: 'Models', level: 1 }).count()).toBe(1);
    await shoot(page, 'models');
  });

  it('fits a phone (390×844): wallet and keys', async () => {
    const phone = await newContext({ ...PHONE, storageState: await context.storageState() });
    const small = await phone.newPage();
    for (const [path, name] of [
      ['/console/wallet', 'phone-wallet'],
      ['/console/keys', 'phone-keys'],
    ] as const) {
      expect((await small.goto(path))?.status()).toBe(200);
      await shoot(small, name);
    }
    await phone.close();
  });

  it('6. revokes the key after a confirmation, and the gateway refuses it at once', async () => {
    await page.goto('/console/keys');
    const row = page.locator('tr[data-key-id^="key_"]', { hasText: KEY_NAME }).filter({ hasNotText: LONG_KEY_NAME });
    await row.getByRole('link', { name: 'Revoke' }).click();
    await shoot(page, 'keys-revoke-confirm');
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await page.waitForURL('**/console/keys**');
    await expect(
      openai(secret).chat.completions.create({
        model: 'tollgate-echo',
        messages: [{ role: 'user', content: 'again' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe('the console for keyboards, without JavaScript, and under its CSP', () => {
  it('Tab reaches the sign-in field and then its submit button', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto('/console/sign-in');
    const focused = async () =>
      page.evaluate(
        "(({ id, tagName, type }) => tagName.toLowerCase() + '#' + id + ':' + type)(document.activeElement)",
      );
    const reached: unknown[] = [];
    for (let i = 0; i < 6 && !reached.includes('button#:submit'); i++) {
      await page.keyboard.press('Tab');
      reached.push(await focused());
    }
    expect(reached[0]).toBe('input#email:email');
    expect(reached).toContain('button#:submit');
    await context.close();
  });

  it('the create-key form labels every field', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await signIn(page, EMAIL);
    await page.goto('/console/keys');
    const form = page.locator('form#create-key');
    for (const name of ['name', 'models', 'rpm', 'tpm', 'expires', 'spend_limit', 'limit_reset']) {
      const field = form.locator(`[name=${name}]`);
      const id = await field.getAttribute('id');
      expect(id, `${name} has an id`).toBeTruthy();
      const label = (await form.locator(`label[for="${id}"]`).textContent())?.replace(/\s+/g, ' ').trim() ?? '';
      expect(label, `${name} has a label`).not.toBe('');
      // The label's text finds the field, as assistive technology names it.
      expect(await form.getByLabel(label, { exact: true }).getAttribute('name')).toBe(name);
    }
    await context.close();
  });

  it('signs in and creates a key with JavaScript off', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, NO_JS_EMAIL);
    const secret = await createKey(page, { name: 'made without JavaScript', rpm: '10' });
    const answer = await openai(secret).chat.completions.create({
      model: 'tollgate-echo',
      messages: [{ role: 'user', content: 'made without JavaScript' }],
    });
    expect(answer.choices[0]?.message.content).toContain('made without JavaScript');
  });

  it('no page broke its CSP or logged an error', () => {
    expect(problems).toEqual([]);
  });
});
