/**
 * `npm start` serves the console and the proxy in one process: a key revoked on the API Keys page is
 * refused by the very next request, although the proxy caches keys for 30 s (the default TTLs here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { createKey } from '../../lambdas/services/keys.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { startTestConsole, type TestConsole } from './console-client.ts';

describe('console changes through npm start', () => {
  let db: TestDatabase;
  let console_: TestConsole;

  beforeAll(async () => {
    db = await createTestDatabase();
    console_ = await startTestConsole(db);
  });

  afterAll(async () => {
    await console_?.close();
  });

  const models = (secret: string) =>
    fetch(`${console_.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.status);

  it('a key revoked on the API Keys page is refused by the next request, within the key cache TTL', async () => {
    // Prepare: the key works, so the proxy has it cached
    await createAccount(db.stores, { accountId: 'cache-co' });
    const key = await createKey(db.stores, { accountId: 'cache-co', name: 'doomed' });
    const spare = await createKey(db.stores, { accountId: 'cache-co', name: 'spare' });
    await addMember(db.stores, { accountId: 'cache-co', email: 'ada@cache.example' });
    const cookie = await console_.signIn('ada@cache.example');
    const csrf = await console_.csrf(cookie);
    expect(await models(key.key)).toBe(200);
    expect(await models(spare.key)).toBe(200);

    // Act
    const revoked = await console_.post(`/console/keys/${key.keyId}/revoke`, {
      cookie,
      form: { _csrf: csrf },
      headers: { origin: console_.url },
    });
    const started = Date.now();
    const after = await models(key.key);

    // Assess: refused at once (not after 30 s); the other key still answers
    expect(revoked.status).toBe(303);
    expect(after).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await models(spare.key)).toBe(200);
  });
});
