import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount, getBalance, topUp } from '../../lambdas/cli/accounts.ts';
import { createKey, listKeys, revokeKey } from '../../lambdas/cli/keys.ts';
import { deleteRoute, listRoutes, setRoute } from '../../lambdas/cli/routes.ts';
import { CommandError, UsageError } from '../../lambdas/services/errors.ts';
import type { RouteSpec } from '../../lambdas/services/route-spec.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

describe('account commands', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('creates an account with a zero balance and refuses it twice', async () => {
    expect(await createAccount(db.stores, 'acme.eu_1-x')).toMatchObject({
      account: 'acme.eu_1-x',
      balance_usd: '0.00',
    });
    await expect(createAccount(db.stores, 'acme.eu_1-x')).rejects.toThrow(CommandError);
  });

  it.each(['', 'has space', 'a/b', 'x'.repeat(65)])('refuses the account id %j as a usage error', async (id) => {
    await expect(createAccount(db.stores, id)).rejects.toThrow(UsageError);
  });

  it('credits exact decimal amounts and reports the balance as a decimal string', async () => {
    await createAccount(db.stores, 'exact');
    const small = await topUp(db.stores, 'exact', '0.000000001');
    const big = await topUp(db.stores, 'exact', '12.50', { id: 'inv-9' });
    expect(small).toMatchObject({ applied: true, amount_usd: '0.000000001' });
    expect(big).toMatchObject({ topUpId: 'inv-9', amount_usd: '12.50', balance_usd: '12.500000001' });
    expect(await getBalance(db.stores, 'exact')).toMatchObject({
      account: 'exact',
      balance_usd: '12.500000001',
      credit_limit_usd: '0.00',
      balance_nano: 12_500_000_001,
    });
  });

  it.each(['0', '-1', '1.0000000001', '1e3', 'ten', '1,50'])('refuses the top-up amount %j', async (amount) => {
    await expect(topUp(db.stores, 'exact', amount)).rejects.toThrow(UsageError);
  });

  it('refuses a top-up or a balance of an unknown account', async () => {
    await expect(topUp(db.stores, 'ghost', '1')).rejects.toThrow(CommandError);
    await expect(getBalance(db.stores, 'ghost')).rejects.toThrow("Unknown account 'ghost'");
  });
});

describe('key commands', () => {
  let db: TestDatabase;
  const now = new Date('2026-11-01T00:00:00Z');
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, 'acme');
  });

  it('mints a key with a model allow-list and a normalized expiry', async () => {
    const created = await createKey(db.stores, 'acme', {
      name: 'ci',
      models: 'gpt-5.2, claude-haiku-4-5,,gpt-5.2',
      expires: '2027-01-31',
      now,
    });
    expect(created.key).toMatch(/^sk-[0-9a-f]{48}$/);
    expect(created).toMatchObject({
      account: 'acme',
      name: 'ci',
      models: ['gpt-5.2', 'claude-haiku-4-5'],
      expiresAt: '2027-01-31T00:00:00.000Z',
    });
  });

  it('refuses unknown accounts, past or malformed expiries and empty model lists', async () => {
    await expect(createKey(db.stores, 'ghost')).rejects.toThrow(CommandError);
    await expect(createKey(db.stores, 'acme', { expires: '2026-10-31', now })).rejects.toThrow('not in the future');
    await expect(createKey(db.stores, 'acme', { expires: 'next tuesday', now })).rejects.toThrow(UsageError);
    await expect(createKey(db.stores, 'acme', { models: ' , ', now })).rejects.toThrow(UsageError);
  });

  it('lists keys with their status and never their secret or hash', async () => {
    // Prepare
    await createAccount(db.stores, 'lister');
    const live = await createKey(db.stores, 'lister', { name: 'live', now });
    const expiring = await createKey(db.stores, 'lister', { name: 'short', expires: '2026-12-01', now });
    const revoked = await createKey(db.stores, 'lister', { name: 'gone', now });
    await revokeKey(db.stores, revoked.keyId, now);

    // Act
    const { keys } = await listKeys(db.stores, 'lister', new Date('2026-12-02T00:00:00Z'));

    // Assess
    const status = Object.fromEntries(keys.map((key) => [key.keyId, key.status]));
    expect(status).toEqual({ [live.keyId]: 'active', [expiring.keyId]: 'expired', [revoked.keyId]: 'revoked' });
    const text = JSON.stringify(keys);
    expect(text).not.toContain(live.key);
    expect(text).not.toMatch(/keyHash|[0-9a-f]{64}/);
  });

  it('refuses to revoke an unknown key id', async () => {
    await expect(revokeKey(db.stores, 'key_nope')).rejects.toThrow("Unknown key id 'key_nope'");
  });
});

describe('route commands', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('stores prices as exact nano-USD per million tokens ("0.075" is 75,000,000)', async () => {
    await setRoute(db.stores, {
      model: 'mini',
      provider: 'openai',
      prices: { input: '0.075', output: '0.3', cacheRead: '0.0075', cacheWrite: '0.09375' },
      defaultMaxTokens: '4096',
    });
    expect((await db.stores.routes.get('mini'))?.prices).toEqual({
      input: 75_000_000,
      output: 300_000_000,
      cacheRead: 7_500_000,
      cacheWrite: 93_750_000,
    });
    expect((await listRoutes(db.stores)).routes).toEqual([
      expect.objectContaining({
        model: 'mini',
        prices: { input: '0.075', output: '0.30', cacheRead: '0.0075', cacheWrite: '0.09375' },
        defaultMaxTokens: 4096,
      }),
    ]);
  });

  it('replaces a route whole and keeps when it was created', async () => {
    const first = await setRoute(db.stores, {
      model: 'llama',
      provider: 'openai-compatible',
      baseUrl: 'https://api.groq.com/openai/v1',
      credential: 'GROQ_API_KEY',
      prices: { input: '0.59', output: '0.79' },
    });
    const second = await setRoute(
      db.stores,
      { model: 'llama', provider: 'openai', prices: { input: '1', output: '2' } },
      new Date(Date.now() + 1_000),
    );
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    const stored = await db.stores.routes.get('llama');
    expect(stored).toMatchObject({ provider: 'openai', createdAt: first.route.createdAt });
    expect(stored?.baseUrl).toBeUndefined();
    expect(stored?.updatedAt).not.toBe(stored?.createdAt);
  });

  it.each<[Partial<RouteSpec>, string]>([
    [{ provider: 'azure' }, "Unknown provider 'azure'"],
    [{ provider: 'openai', baseUrl: 'not a url' }, 'Invalid base URL'],
    [{ provider: 'openai', baseUrl: 'ftp://example.com' }, 'only http and https'],
    [{ provider: 'openai', baseUrl: 'https://user:pw@example.com' }, 'not in the URL'],
    [{ provider: 'openai-compatible' }, 'needs a base URL'],
    [{ provider: 'echo', credential: 'X' }, 'built in'],
    [{ provider: 'openai', credential: 'sk live key' }, 'Invalid credential name'],
    [{ provider: 'openai', defaultMaxTokens: '0' }, 'default max tokens'],
    [{ provider: 'openai', prices: { input: '-1', output: '1' } }, 'input price'],
    [{ provider: 'openai', prices: { input: '1', output: '0.1234567891' } }, 'output price'],
  ])('refuses %j', async (change, message) => {
    const spec: RouteSpec = { model: 'bad', provider: 'openai', prices: { input: '1', output: '1' }, ...change };
    await expect(setRoute(db.stores, spec)).rejects.toThrow(UsageError);
    await expect(setRoute(db.stores, spec)).rejects.toThrow(message);
    expect(await db.stores.routes.get('bad')).toBeUndefined();
  });

  it('deletes a route, and refuses to delete one that does not exist', async () => {
    await setRoute(db.stores, { model: 'doomed', provider: 'echo', prices: { input: '1', output: '2' } });
    expect(await deleteRoute(db.stores, 'doomed')).toEqual({ model: 'doomed', deleted: true, warnings: [] });
    await expect(deleteRoute(db.stores, 'doomed')).rejects.toThrow(CommandError);
  });
});
