import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { startTestConsole, type TestConsole } from './console-client.ts';

describe('console: low-balance alert', () => {
  let db: TestDatabase;
  let console: TestConsole;
  let cookie: string;
  let csrf: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'acme' });
    await addMember(db.stores, { accountId: 'acme', email: 'ada@example.com' });
    console = await startTestConsole(db);
    cookie = await console.signIn('ada@example.com');
    csrf = await console.csrf(cookie);
  });
  afterAll(async () => {
    await console.close();
  });

  const save = (value: string, token = csrf) =>
    console.post('/console/wallet/alert', { cookie, form: { _csrf: token, alert_below: value } });

  it('shows a "Low-balance alert" form on the wallet page, with the CSRF field', async () => {
    const page = await console.get('/console/wallet', { cookie });

    expect(page.status).toBe(200);
    expect(page.body).toContain('<h2 id="alert-title">Low-balance alert</h2>');
    expect(page.body).toMatch(
      /<form method="post" action="\/console\/wallet\/alert"[^>]*><input type="hidden" name="_csrf"/,
    );
    expect(page.body).toContain('No alert is set.');
  });

  it('sets the threshold as exact USD, armed, and comes back to the wallet with a notice', async () => {
    const answer = await save('7.25');

    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/console/wallet?alert=set');
    expect(await db.stores.wallets.get('acme')).toMatchObject({ alertBelow: 7_250_000_000, alertArmed: true });
    const page = await console.get(answer.headers.location ?? '', { cookie });
    expect(page.body).toContain('Low-balance alert saved.');
    expect(page.body).toMatch(/value="7\.25"/);
  });

  it('refuses an amount that is not exact USD with 400 and its message, changing nothing', async () => {
    for (const bad of ['abc', '-1', '1.0000000001', '0']) {
      const answer = await save(bad);
      expect(answer.status, bad).toBe(400);
      expect(answer.body, bad).toContain('Invalid alert threshold');
    }
    expect(await db.stores.wallets.get('acme')).toMatchObject({ alertBelow: 7_250_000_000 });
  });

  it('refuses a post without the CSRF token', async () => {
    const answer = await save('1', 'wrong');

    expect(answer.status).toBe(403);
    expect(await db.stores.wallets.get('acme')).toMatchObject({ alertBelow: 7_250_000_000 });
  });

  it('removes the alert when the field is left empty', async () => {
    const answer = await save('');

    expect(answer.headers.location).toBe('/console/wallet?alert=removed');
    expect(await db.stores.wallets.get('acme')).not.toHaveProperty('alertBelow');
  });
});
