import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { addMember, removeMember, secretHash } from '../../lambdas/services/members.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type Answer, cookiePair, startTestConsole, type TestConsole } from './console-client.ts';

const MINUTE = 60_000;

/** A fresh database and console: the sign-in limits count per source, and every request here comes from 127.0.0.1. */
const freshConsole = async (options: Parameters<typeof startTestConsole>[1] = {}) => {
  const db = await createTestDatabase();
  const console = await startTestConsole(db, options);
  return { db, console };
};

const member = async (db: TestDatabase, accountId: string, email: string) => {
  if (!(await db.stores.wallets.get(accountId))) await createAccount(db.stores, { accountId });
  await addMember(db.stores, { accountId, email });
};

const isSignInRedirect = (answer: Answer) => answer.status === 303 && answer.headers.location === '/console/sign-in';

describe('console sign-in by e-mailed link', () => {
  let db: TestDatabase;
  let console: TestConsole;
  beforeAll(async () => {
    ({ db, console } = await freshConsole());
    await member(db, 'acme', 'ada@example.com');
  });
  afterAll(async () => {
    await console.close();
  });

  it('mails a member exactly one link, and a non-member nothing, with the same page apart from the address', async () => {
    // Prepare
    const before = console.mails.length;

    // Act
    const forMember = await console.post('/console/sign-in', { form: { email: 'ada@example.com' } });
    const forStranger = await console.post('/console/sign-in', { form: { email: 'eve@example.com' } });

    // Assess
    const sent = console.mails.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBe('ada@example.com');
    expect(sent[0]?.text).toMatch(/\/console\/auth\?token=[A-Za-z0-9_-]{43}\n/);
    expect(forStranger.status).toBe(forMember.status);
    expect(forMember.status).toBe(200);
    expect(forStranger.body.replaceAll('eve@example.com', 'EMAIL')).toBe(
      forMember.body.replaceAll('ada@example.com', 'EMAIL'),
    );
    expect(forStranger.setCookies).toEqual([]);
  });

  it('answers 400 to an address that is not one, and sends nothing', async () => {
    const before = console.mails.length;

    const answer = await console.post('/console/sign-in', { form: { email: 'not an address' } });

    expect(answer.status).toBe(400);
    expect(answer.body).toContain('Enter an e-mail address');
    expect(console.mails.length).toBe(before);
  });

  it('signs in once per link: a second use answers 400 and starts no session', async () => {
    await console.post('/console/sign-in', { form: { email: 'ada@example.com' } });
    const token = console.tokenFor('ada@example.com') ?? '';

    const first = await console.post('/console/auth', { form: { token } });
    const second = await console.post('/console/auth', { form: { token } });

    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/console/wallet');
    expect(first.setCookies).toHaveLength(1);
    expect(second.status).toBe(400);
    expect(second.setCookies).toEqual([]);
  });

  it('does not use the link up on GET (mail scanners fetch links): the page posts it', async () => {
    await console.post('/console/sign-in', { form: { email: 'ada@example.com' } });
    const token = console.tokenFor('ada@example.com') ?? '';

    const scanned = await console.get(`/console/auth?token=${token}`);
    const again = await console.get(`/console/auth?token=${token}`);
    const used = await console.post('/console/auth', { form: { token } });

    expect(scanned.status).toBe(200);
    expect(again.status).toBe(200);
    expect(scanned.setCookies).toEqual([]);
    expect(scanned.body).toContain('<form method="post"');
    expect(used.status).toBe(303);
  });

  it('refuses a link after its 15 minutes with 400', async () => {
    await console.post('/console/sign-in', { form: { email: 'ada@example.com' } });
    const token = console.tokenFor('ada@example.com') ?? '';

    console.clock.advance(16 * MINUTE);
    const late = await console.post('/console/auth', { form: { token } });

    expect(late.status).toBe(400);
    expect(late.body).toContain('This link does not work');
  });

  it('refuses a made-up token with 400', async () => {
    const answer = await console.post('/console/auth', { form: { token: 'A'.repeat(43) } });

    expect(answer.status).toBe(400);
  });

  it('stores only SHA-256 hashes of link and session secrets', async () => {
    await console.post('/console/sign-in', { form: { email: 'ada@example.com' } });
    const unused = console.tokenFor('ada@example.com') ?? '';
    const cookie = await console.signIn('ada@example.com');
    const secret = cookie.split('=')[1] ?? '';

    const { Items = [] } = await db.client.send(new ScanCommand({ TableName: db.tables.sessions }));

    const stored = JSON.stringify(Items);
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(unused);
    for (const item of Items) expect(item['id']).toMatch(/^(?:session|link)#[0-9a-f]{64}$/);
    expect(Items.some((item) => String(item['id']).startsWith('session#'))).toBe(true);
    expect(Items.some((item) => String(item['id']).startsWith('link#'))).toBe(true);
  });
});

describe('console sign-in rate limits', () => {
  it('answers the 6th request for one address within 15 minutes with 429, member or not, and mails no more', async () => {
    const { db, console } = await freshConsole();
    try {
      await member(db, 'acme', 'ada@example.com');
      const answers: number[] = [];
      for (let i = 0; i < 6; i++) {
        answers.push((await console.post('/console/sign-in', { form: { email: 'Ada@Example.com' } })).status);
      }
      const stranger: number[] = [];
      for (let i = 0; i < 6; i++) {
        stranger.push((await console.post('/console/sign-in', { form: { email: 'eve@example.com' } })).status);
      }
      const sixth = await console.post('/console/sign-in', { form: { email: 'ada@example.com' } });

      expect(answers).toEqual([200, 200, 200, 200, 200, 429]);
      expect(stranger).toEqual([200, 200, 200, 200, 200, 429]);
      expect(sixth.status).toBe(429);
      expect(sixth.body).toContain('Too many sign-in requests');
      expect(console.mails).toHaveLength(5);

      console.clock.advance(15 * MINUTE);
      expect((await console.post('/console/sign-in', { form: { email: 'ada@example.com' } })).status).toBe(200);
    } finally {
      await console.close();
    }
  });

  it('answers the 21st request from one source within 15 minutes with 429, whatever the address', async () => {
    const { console } = await freshConsole();
    try {
      const answers: number[] = [];
      for (let i = 0; i < 21; i++) {
        answers.push((await console.post('/console/sign-in', { form: { email: `p${i}@example.com` } })).status);
      }

      expect(answers.slice(0, 20).every((status) => status === 200)).toBe(true);
      expect(answers[20]).toBe(429);
    } finally {
      await console.close();
    }
  });
});

describe('console session cookie and headers', () => {
  let db: TestDatabase;
  let console: TestConsole;
  beforeAll(async () => {
    ({ db, console } = await freshConsole());
    await member(db, 'acme', 'ada@example.com');
  });
  afterAll(async () => {
    await console.close();
  });

  const signInWith = async (headers: Record<string, string>) => {
    await console.post('/console/sign-in', { form: { email: 'ada@example.com' }, headers });
    const token = console.tokenFor('ada@example.com') ?? '';
    return console.post('/console/auth', { form: { token }, headers });
  };

  it('is HttpOnly and SameSite=Lax, without Secure or __Host- on loopback http', async () => {
    const answer = await signInWith({});

    const [cookie] = answer.setCookies;
    expect(cookie).toMatch(/^tollgate_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('; HttpOnly');
    expect(cookie).toContain('; SameSite=Lax');
    expect(cookie).toContain('; Path=/');
    expect(cookie).not.toMatch(/Secure/i);
  });

  it('is __Host- and Secure behind https (x-forwarded-proto), and read back only there', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const answer = await signInWith(https);

    const [cookie = ''] = answer.setCookies;
    expect(cookie).toMatch(/^__Host-tollgate_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('; HttpOnly');
    expect(cookie).toContain('; Path=/');
    expect(cookie).not.toContain('Domain=');
    expect((await console.get('/console/wallet', { cookie: cookiePair(cookie), headers: https })).status).toBe(200);
  });

  it('is __Host- and Secure for a Host that is not loopback', async () => {
    const answer = await signInWith({ host: 'console.example.com' });

    expect(answer.setCookies[0]).toMatch(/^__Host-tollgate_session=.*; Secure/);
  });

  it('sends the security headers: a CSP without unsafe-inline, no framing, nosniff, a referrer policy', async () => {
    const page = await console.get('/console/sign-in');

    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBeDefined();
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('sends no HSTS on loopback http, and HSTS behind https', async () => {
    const plain = await console.get('/console/sign-in');
    const https = await console.get('/console/sign-in', { headers: { 'x-forwarded-proto': 'https' } });

    expect(plain.headers['strict-transport-security']).toBeUndefined();
    expect(String(plain.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
    expect(https.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  });
});

describe('console session expiry and sign-out', () => {
  let db: TestDatabase;
  let console: TestConsole;
  beforeAll(async () => {
    ({ db, console } = await freshConsole({ session: { idleMs: 60_000, maxMs: 150_000 } }));
    await member(db, 'acme', 'ada@example.com');
  });
  afterAll(async () => {
    await console.close();
  });

  it('ends a session left idle longer than the idle time: back to sign-in', async () => {
    const cookie = await console.signIn('ada@example.com');
    expect((await console.get('/console/wallet', { cookie })).status).toBe(200);

    console.clock.advance(61_000);
    const late = await console.get('/console/wallet', { cookie });

    expect(isSignInRedirect(late)).toBe(true);
  });

  it('keeps an active session past the idle time, and ends it at the absolute limit however active', async () => {
    const cookie = await console.signIn('ada@example.com');
    const statuses: number[] = [];
    for (let step = 0; step < 3; step++) {
      console.clock.advance(40_000);
      statuses.push((await console.get('/console/wallet', { cookie })).status);
    }

    console.clock.advance(31_000); // 151 s after sign-in, 31 s after the last request
    const over = await console.get('/console/wallet', { cookie });

    expect(statuses).toEqual([200, 200, 200]);
    expect(isSignInRedirect(over)).toBe(true);
  });

  it('deletes the session on sign-out: the old cookie no longer works', async () => {
    const cookie = await console.signIn('ada@example.com');
    const csrf = await console.csrf(cookie);

    const out = await console.post('/console/sign-out', { cookie, form: { _csrf: csrf } });
    const after = await console.get('/console/wallet', { cookie });

    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/console/sign-in');
    expect(out.setCookies[0]).toMatch(/^tollgate_session=; .*Max-Age=0/);
    expect(isSignInRedirect(after)).toBe(true);
    const id = `session#${secretHash(cookie.split('=')[1] ?? '')}`;
    const { Items = [] } = await db.client.send(new ScanCommand({ TableName: db.tables.sessions }));
    expect(Items.map((item) => item['id'])).not.toContain(id);
  });
});

describe('console CSRF and same-origin checks', () => {
  let db: TestDatabase;
  let console: TestConsole;
  let cookie: string;
  let csrf: string;
  beforeAll(async () => {
    ({ db, console } = await freshConsole());
    await member(db, 'acme', 'ada@example.com');
    cookie = await console.signIn('ada@example.com');
    csrf = await console.csrf(cookie);
  });
  afterAll(async () => {
    await console.close();
  });

  const stillSignedIn = async () => (await console.get('/console/wallet', { cookie })).status;

  it('refuses a sign-out without the CSRF token with 403, and the session goes on', async () => {
    const answer = await console.post('/console/sign-out', { cookie, form: {} });

    expect(answer.status).toBe(403);
    expect(await stillSignedIn()).toBe(200);
  });

  it('refuses a sign-out with a wrong CSRF token with 403', async () => {
    const wrong = await console.post('/console/sign-out', {
      cookie,
      form: { _csrf: `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}` },
    });
    const short = await console.post('/console/sign-out', { cookie, form: { _csrf: 'x' } });

    expect(wrong.status).toBe(403);
    expect(short.status).toBe(403);
    expect(await stillSignedIn()).toBe(200);
  });

  it('refuses a post from another origin with 403, even with the right token', async () => {
    const answer = await console.post('/console/sign-out', {
      cookie,
      form: { _csrf: csrf },
      headers: { origin: 'http://evil.example' },
    });

    expect(answer.status).toBe(403);
    expect(await stillSignedIn()).toBe(200);
  });

  it('refuses a post the browser marks cross-site with 403', async () => {
    const answer = await console.post('/console/sign-out', {
      cookie,
      form: { _csrf: csrf },
      headers: { 'sec-fetch-site': 'cross-site' },
    });

    expect(answer.status).toBe(403);
    expect(await stillSignedIn()).toBe(200);
  });

  it('refuses a cross-site sign-in form and link post (login CSRF) with 403', async () => {
    const form = await console.post('/console/sign-in', {
      form: { email: 'ada@example.com' },
      headers: { origin: 'http://evil.example' },
    });
    const link = await console.post('/console/auth', {
      form: { token: 'A'.repeat(43) },
      headers: { 'sec-fetch-site': 'cross-site' },
    });

    expect(form.status).toBe(403);
    expect(link.status).toBe(403);
  });

  it('accepts a same-origin post with the token', async () => {
    const { url } = console;
    const answer = await console.post('/console/sign-out', {
      cookie,
      form: { _csrf: csrf },
      headers: { origin: url, 'sec-fetch-site': 'same-origin' },
    });

    expect(answer.status).toBe(303);
    expect(await stillSignedIn()).toBe(303);
  });
});

describe('console membership and accounts', () => {
  let db: TestDatabase;
  let console: TestConsole;
  beforeAll(async () => {
    ({ db, console } = await freshConsole());
    await member(db, 'alpha', 'both@example.com');
    await member(db, 'beta', 'both@example.com');
    await member(db, 'alpha', 'one@example.com');
    await member(db, 'gamma', 'other@example.com');
  });
  afterAll(async () => {
    await console.close();
  });

  it('lets a member of two accounts switch between them', async () => {
    const cookie = await console.signIn('both@example.com');
    const csrf = await console.csrf(cookie);

    const first = await console.get('/console/wallet', { cookie });
    const switched = await console.post('/console/account', { cookie, form: { _csrf: csrf, account: 'beta' } });
    const after = await console.get('/console/wallet', { cookie });

    expect(first.body).toContain('<option value="alpha" selected>');
    expect(switched.status).toBe(303);
    expect(after.body).toContain('<option value="beta" selected>');
  });

  it('answers 404 to a switch to an account the member does not belong to, and stays put', async () => {
    const cookie = await console.signIn('both@example.com');
    const csrf = await console.csrf(cookie);

    const answer = await console.post('/console/account', { cookie, form: { _csrf: csrf, account: 'gamma' } });
    const after = await console.get('/console/wallet', { cookie });

    expect(answer.status).toBe(404);
    expect(after.body).toContain('<option value="alpha" selected>');
    expect(after.body).not.toContain('gamma');
  });

  it('ends access at the next request once the member is removed', async () => {
    const cookie = await console.signIn('one@example.com');
    expect((await console.get('/console/wallet', { cookie })).status).toBe(200);

    await removeMember(db.stores, { accountId: 'alpha', email: 'one@example.com' });
    const after = await console.get('/console/wallet', { cookie });
    const models = await console.get('/console/models', { cookie });

    expect(isSignInRedirect(after)).toBe(true);
    expect(isSignInRedirect(models)).toBe(true);
  });

  it('moves a member removed from the open account to their other one', async () => {
    await member(db, 'delta', 'moves@example.com');
    await member(db, 'epsilon', 'moves@example.com');
    const cookie = await console.signIn('moves@example.com');

    await removeMember(db.stores, { accountId: 'delta', email: 'moves@example.com' });
    const after = await console.get('/console/wallet', { cookie });

    expect(after.status).toBe(200);
    expect(after.body).toContain('<strong>epsilon</strong>');
    expect(after.body).not.toContain('delta');
  });
});

describe('console wallet isolation', () => {
  let db: TestDatabase;
  let console: TestConsole;
  let cookie: string;
  beforeAll(async () => {
    ({ db, console } = await freshConsole());
    await member(db, 'mine', 'ada@example.com');
    await member(db, 'theirs', 'eve@example.com');
    await topUp(db.stores, { accountId: 'mine', amountUsd: '1.25', topUpId: 'mine-topup-1' });
    for (let i = 1; i <= 3; i++) {
      await topUp(db.stores, { accountId: 'theirs', amountUsd: `${700 + i}.00`, topUpId: `theirs-topup-${i}` });
    }
    cookie = await console.signIn('ada@example.com');
  });
  afterAll(async () => {
    await console.close();
  });

  it("shows a member only their own account's balance and ledger", async () => {
    const page = await console.get('/console/wallet', { cookie });

    expect(page.status).toBe(200);
    expect(page.body).toContain('$1.25');
    expect(page.body).toContain('mine-topup-1');
    expect(page.body).not.toContain('theirs');
    expect(page.body).not.toMatch(/\$70[123]\.00/);
  });

  it("reads another account's cursor within the member's own ledger only", async () => {
    const theirs = await listUsage(db.stores, { accountId: 'theirs', limit: 1 });
    const cursor = theirs.ledger.next_cursor ?? '';
    expect(cursor).not.toBe('');

    const page = await console.get(`/console/wallet?cursor=${encodeURIComponent(cursor)}`, { cookie });

    expect(page.body).not.toContain('theirs-topup');
    expect(page.body).not.toMatch(/\$70[123]\.00/);
  });

  it('ignores an account named in the query', async () => {
    const page = await console.get('/console/wallet?account=theirs&accountId=theirs', { cookie });

    expect(page.body).toContain('mine-topup-1');
    expect(page.body).not.toContain('theirs-topup');
  });
});
