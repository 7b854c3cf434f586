import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDEEM_LIMIT_PER_SESSION,
  REDEEM_LIMIT_PER_SOURCE,
  REDEEM_WINDOW_MS,
} from '../../lambdas/console/pages/redeem.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { auditAccounts } from '../../lambdas/services/audit.ts';
import { createCodes, generateCode, listCodes, revokeCode } from '../../lambdas/services/codes.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { startTestConsole, type TestConsole } from './console-client.ts';

const balanceOf = async (db: TestDatabase, accountId: string) => (await db.stores.wallets.get(accountId))?.balance;

const newCode = async (db: TestDatabase, amountUsd = '25.00'): Promise<{ code: string; code_id: string }> => {
  const [code] = (await createCodes(db.stores, { amountUsd, count: 1 })).codes;
  if (!code) throw new Error('no code');
  return code;
};

const statusOf = async (db: TestDatabase, codeId: string) =>
  (await listCodes(db.stores)).codes.find((code) => code.code_id === codeId)?.status;

describe('console: redeem a code', () => {
  let db: TestDatabase;
  let console: TestConsole;
  let cookie: string;
  let csrf: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    for (const accountId of ['acme', 'rival']) await createAccount(db.stores, { accountId });
    await addMember(db.stores, { accountId: 'acme', email: 'ada@example.com' });
    await addMember(db.stores, { accountId: 'rival', email: 'eve@example.com' });
    console = await startTestConsole(db);
    cookie = await console.signIn('ada@example.com');
    csrf = await console.csrf(cookie);
  });
  afterAll(async () => {
    await console.close();
  });

  const redeem = (code: string, extra: Record<string, string> = {}, as = { cookie, csrf }) =>
    console.post('/console/wallet/redeem', { cookie: as.cookie, form: { _csrf: as.csrf, code, ...extra } });

  it('shows a "Redeem a code" form on the wallet page, with the CSRF field', async () => {
    const page = await console.get('/console/wallet', { cookie });

    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<h2 id="redeem-title">Redeem a code<\/h2>/);
    expect(page.body).toMatch(
      /<form method="post" action="\/console\/wallet\/redeem"[^>]*><input type="hidden" name="_csrf"/,
    );
    expect(page.body).toContain('<label for="redeem-code">Code</label>');
  });

  it('credits the code once and comes back to the wallet with a notice of the amount', async () => {
    const { code, code_id } = await newCode(db);

    const answer = await redeem(code.toLowerCase());

    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/console/wallet?redeemed=25.00');
    const page = await console.get(answer.headers.location ?? '', { cookie });
    expect(page.body).toMatch(/Code redeemed: .*25\.00.* was added to your balance\./);
    expect(await balanceOf(db, 'acme')).toBe(25_000_000_000);
    const rows = await db.stores.wallets.allLedgerRows('acme');
    expect(rows.at(-1)).toMatchObject({ kind: 'topup', topUpId: `code-${code_id}`, amount: 25_000_000_000 });
    expect(await statusOf(db, code_id)).toBe('redeemed');
  });

  it('refuses a used, unknown or revoked code with 400 and its own message', async () => {
    const used = await newCode(db, '1');
    const revoked = await newCode(db, '1');
    await revokeCode(db.stores, { code: revoked.code_id });
    expect((await redeem(used.code)).status).toBe(303);
    const before = await balanceOf(db, 'acme');

    const again = await redeem(used.code);
    const unknown = await redeem(generateCode());
    const gone = await redeem(revoked.code);

    expect(again.status).toBe(400);
    expect(again.body).toContain('This code has already been redeemed.');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toContain('This code is not valid.');
    expect(gone.status).toBe(400);
    expect(gone.body).toContain('This code has been revoked.');
    expect(await balanceOf(db, 'acme')).toBe(before);
  });

  it('refuses a redemption without the CSRF token (403): nothing credited, the code still active', async () => {
    const { code, code_id } = await newCode(db);
    const before = await balanceOf(db, 'acme');

    const missing = await console.post('/console/wallet/redeem', { cookie, form: { code } });
    const wrong = await console.post('/console/wallet/redeem', {
      cookie,
      form: { code, _csrf: `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}` },
    });
    const signedOut = await console.post('/console/wallet/redeem', { form: { code, _csrf: csrf } });

    expect(missing.status).toBe(403);
    expect(wrong.status).toBe(403);
    expect(signedOut.status).not.toBe(303);
    expect(await balanceOf(db, 'acme')).toBe(before);
    expect(await statusOf(db, code_id)).toBe('active');
  });

  it("credits the session's account only, whatever account is forged into the form", async () => {
    const { code } = await newCode(db, '3');
    const acme = await balanceOf(db, 'acme');

    const answer = await redeem(code, { account: 'rival', accountId: 'rival', account_id: 'rival' });

    expect(answer.status).toBe(303);
    expect(await balanceOf(db, 'acme')).toBe((acme ?? 0) + 3_000_000_000);
    expect(await balanceOf(db, 'rival')).toBe(0);
  });

  it('limits attempts per session before any lookup: brute force hits 429, and a valid code is refused until the window passes', async () => {
    console.clock.advance(REDEEM_WINDOW_MS); // a fresh window
    const { code, code_id } = await newCode(db, '2');
    const before = await balanceOf(db, 'acme');

    const guesses = [];
    for (let i = 0; i < REDEEM_LIMIT_PER_SESSION; i += 1) guesses.push((await redeem(generateCode())).status);
    const over = await redeem(generateCode());
    const valid = await redeem(code);

    expect(guesses).toEqual(Array(REDEEM_LIMIT_PER_SESSION).fill(400));
    expect(over.status).toBe(429);
    expect(over.body).toContain('Too many attempts to redeem a code.');
    expect(valid.status).toBe(429);
    expect(await balanceOf(db, 'acme')).toBe(before);
    expect(await statusOf(db, code_id)).toBe('active');

    console.clock.advance(REDEEM_WINDOW_MS);
    const later = await redeem(code);
    expect(later.status).toBe(303);
    expect(await balanceOf(db, 'acme')).toBe((before ?? 0) + 2_000_000_000);
  });

  it('limits attempts per source address across sessions', async () => {
    console.clock.advance(REDEEM_WINDOW_MS);
    const sessions = [];
    for (const email of ['ada@example.com', 'eve@example.com', 'ada@example.com', 'eve@example.com']) {
      const session = await console.signIn(email);
      sessions.push({ cookie: session, csrf: await console.csrf(session) });
    }
    const statuses: number[] = [];
    for (let i = 0; i < REDEEM_LIMIT_PER_SOURCE; i += 1) {
      const as = sessions[Math.floor(i / REDEEM_LIMIT_PER_SESSION)];
      if (!as) throw new Error('not enough sessions');
      statuses.push((await redeem(generateCode(), {}, as)).status);
    }
    const fourth = sessions[3];
    if (!fourth) throw new Error('no fourth session');

    const over = await redeem(generateCode(), {}, fourth);

    expect(statuses).toEqual(Array(REDEEM_LIMIT_PER_SOURCE).fill(400));
    expect(over.status).toBe(429);
  });

  it('leaves every account exact in the audit', async () => {
    const audit = await auditAccounts(db.stores, { accountIds: ['acme', 'rival'] });
    expect(audit).toMatchObject({ ok: true });
  });
});
