import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import { createKey, type KeyUpdate, listKeys, type NewKey, revokeKey, updateKey } from '../../lambdas/services/keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

describe('keys service', () => {
  let db: TestDatabase;
  const now = new Date('2026-11-01T00:00:00Z');
  /** The stores with the clock fixed at `at`. */
  const at = (time: Date) => ({ ...db.stores, now: () => time });

  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'acme' });
  });

  describe('createKey', () => {
    it('mints a key shown once, with a model allow-list and a normalized expiry', async () => {
      const created = await createKey(at(now), {
        accountId: 'acme',
        name: 'ci',
        models: ['gpt-5.2', ' claude-haiku-4-5', '', 'gpt-5.2'],
        expiresAt: '2027-01-31',
      });

      expect(created.key).toMatch(/^sk-[0-9a-f]{48}$/);
      expect(created).toMatchObject({
        account: 'acme',
        name: 'ci',
        prefix: created.key.slice(0, 9),
        models: ['gpt-5.2', 'claude-haiku-4-5'],
        expiresAt: '2027-01-31T00:00:00.000Z',
        createdAt: now.toISOString(),
      });
      const stored = await db.stores.keys.findByKeyId(created.keyId);
      expect(JSON.stringify(stored)).not.toContain(created.key);
    });

    it('mints a key with requests and tokens per minute, stored as numbers the proxy enforces', async () => {
      const created = await createKey(at(now), { accountId: 'acme', name: 'batch', rpm: 60, tpm: 200_000 });

      expect(created).toMatchObject({ rpm: 60, tpm: 200_000 });
      expect(await db.stores.keys.findByKeyId(created.keyId)).toMatchObject({ rpm: 60, tpm: 200_000 });
    });

    it('mints a key without limits unless asked', async () => {
      const created = await createKey(at(now), { accountId: 'acme' });

      expect(created).not.toHaveProperty('rpm');
      const stored = await db.stores.keys.findByKeyId(created.keyId);
      expect(stored).not.toHaveProperty('rpm');
      expect(stored).not.toHaveProperty('tpm');
    });

    it('refuses a key for an unknown account', async () => {
      await expect(createKey(at(now), { accountId: 'ghost' })).rejects.toThrow(NotFoundError);
      await expect(createKey(at(now), { accountId: 'ghost' })).rejects.toThrow("Unknown account 'ghost'");
    });

    it.each<[Partial<NewKey>, string]>([
      [{ expiresAt: '2026-10-31' }, 'not in the future'],
      [{ expiresAt: 'next tuesday' }, 'Invalid expiry'],
      [{ models: [' ', ''] }, 'Invalid model list'],
      [{ name: ' ' }, 'Invalid key name'],
      [{ rpm: 0 }, 'requests per minute'],
      [{ rpm: 1.5 }, 'requests per minute'],
      [{ tpm: -10 }, 'tokens per minute'],
      [{ tpm: 2 ** 53 }, 'tokens per minute'],
      [{ accountId: 'a/b' }, 'Invalid account id'],
    ])('refuses %j as invalid input and mints nothing', async (change, message) => {
      const before = (await db.stores.keys.listByAccount('acme')).length;

      await expect(createKey(at(now), { accountId: 'acme', ...change })).rejects.toThrow(InvalidInputError);
      await expect(createKey(at(now), { accountId: 'acme', ...change })).rejects.toThrow(message);
      expect(await db.stores.keys.listByAccount('acme')).toHaveLength(before);
    });
  });

  describe('listKeys', () => {
    it('lists keys with their limits and status, never their secret or hash', async () => {
      // Prepare
      await createAccount(db.stores, { accountId: 'lister' });
      const live = await createKey(at(now), { accountId: 'lister', name: 'live', rpm: 10 });
      const expiring = await createKey(at(now), { accountId: 'lister', name: 'short', expiresAt: '2026-12-01' });
      const revoked = await createKey(at(now), { accountId: 'lister', name: 'gone' });
      await revokeKey(at(now), { keyId: revoked.keyId });

      // Act
      const { account, keys } = await listKeys(at(new Date('2026-12-02T00:00:00Z')), { accountId: 'lister' });

      // Assess
      expect(account).toBe('lister');
      const status = Object.fromEntries(keys.map((key) => [key.keyId, key.status]));
      expect(status).toEqual({ [live.keyId]: 'active', [expiring.keyId]: 'expired', [revoked.keyId]: 'revoked' });
      expect(keys.find((key) => key.keyId === live.keyId)).toMatchObject({ rpm: 10 });
      expect(keys.find((key) => key.keyId === live.keyId)).not.toHaveProperty('tpm');
      const text = JSON.stringify(keys);
      expect(text).not.toContain(live.key);
      expect(text).not.toMatch(/keyHash|[0-9a-f]{64}/);
    });

    it('refuses the keys of an unknown account', async () => {
      await expect(listKeys(db.stores, { accountId: 'ghost' })).rejects.toThrow(NotFoundError);
    });
  });

  describe('revokeKey', () => {
    it('revokes a key once: revoking it again keeps the first time', async () => {
      const created = await createKey(at(now), { accountId: 'acme' });
      const later = new Date('2026-11-02T00:00:00Z');

      const first = await revokeKey(at(now), { keyId: created.keyId });
      const again = await revokeKey(at(later), { keyId: created.keyId });

      expect(first).toMatchObject({ keyId: created.keyId, status: 'revoked', revokedAt: now.toISOString() });
      expect(again.revokedAt).toBe(now.toISOString());
    });

    it('refuses an unknown or empty key id', async () => {
      await expect(revokeKey(db.stores, { keyId: 'key_nope' })).rejects.toThrow(NotFoundError);
      await expect(revokeKey(db.stores, { keyId: 'key_nope' })).rejects.toThrow("Unknown key id 'key_nope'");
      await expect(revokeKey(db.stores, { keyId: ' ' })).rejects.toThrow(InvalidInputError);
    });
  });

  describe('updateKey', () => {
    it('sets, changes and removes limits, allow-list, expiry and name in place, keeping the rest', async () => {
      // Prepare
      const created = await createKey(at(now), {
        accountId: 'acme',
        name: 'ci',
        models: ['gpt-5.2'],
        expiresAt: '2027-01-31',
        tpm: 1000,
      });

      // Act
      const limited = await updateKey(at(now), { keyId: created.keyId, rpm: 30, tpm: null });
      const opened = await updateKey(at(now), {
        keyId: created.keyId,
        models: null,
        expiresAt: null,
        name: 'ci-2',
        rpm: 45,
      });

      // Assess
      expect(limited).toMatchObject({ keyId: created.keyId, rpm: 30, models: ['gpt-5.2'], name: 'ci' });
      expect(limited).not.toHaveProperty('tpm');
      expect(opened).toMatchObject({ rpm: 45, name: 'ci-2', status: 'active' });
      expect(opened).not.toHaveProperty('models');
      expect(opened).not.toHaveProperty('expiresAt');
      const stored = await db.stores.keys.findByKeyId(created.keyId);
      expect(stored).toMatchObject({ accountId: 'acme', prefix: created.prefix, rpm: 45 });
      expect(stored).not.toHaveProperty('tpm');
      expect(stored).not.toHaveProperty('models');
      expect(stored).not.toHaveProperty('expiresAt');
    });

    it('narrows a key to models and an expiry', async () => {
      const created = await createKey(at(now), { accountId: 'acme' });

      const narrowed = await updateKey(at(now), {
        keyId: created.keyId,
        models: ['a', ' b', 'a'],
        expiresAt: '2027-02-01',
      });

      expect(narrowed).toMatchObject({ models: ['a', 'b'], expiresAt: '2027-02-01T00:00:00.000Z' });
    });

    it('updates a revoked key without reviving it', async () => {
      const created = await createKey(at(now), { accountId: 'acme' });
      await revokeKey(at(now), { keyId: created.keyId });

      expect(await updateKey(at(now), { keyId: created.keyId, rpm: 1 })).toMatchObject({ rpm: 1, status: 'revoked' });
    });

    it('refuses an unknown key id, and writes no stray row for it', async () => {
      await expect(updateKey(at(now), { keyId: 'key_nope', rpm: 5 })).rejects.toThrow(NotFoundError);
      expect(await db.stores.keys.findByKeyId('key_nope')).toBeUndefined();
    });

    it.each<[Omit<KeyUpdate, 'keyId'>, string]>([
      [{}, 'Nothing to change'],
      [{ tpm: 0 }, 'tokens per minute'],
      [{ rpm: 2.5 }, 'requests per minute'],
      [{ expiresAt: '2026-10-01' }, 'not in the future'],
      [{ expiresAt: 'someday' }, 'Invalid expiry'],
      [{ models: [] }, 'Invalid model list'],
      [{ name: '' }, 'Invalid key name'],
    ])('refuses the changes %j as invalid input', async (changes, message) => {
      const created = await createKey(at(now), { accountId: 'acme', rpm: 7 });

      await expect(updateKey(at(now), { keyId: created.keyId, ...changes })).rejects.toThrow(InvalidInputError);
      await expect(updateKey(at(now), { keyId: created.keyId, ...changes })).rejects.toThrow(message);
      expect(await db.stores.keys.findByKeyId(created.keyId)).toMatchObject({ rpm: 7 });
    });
  });
  describe('account isolation', () => {
    it('neither revokes nor changes a key when the accountId given is not its account', async () => {
      // Prepare
      await createAccount(db.stores, { accountId: 'rival' });
      const victim = await createKey(at(now), { accountId: 'acme', name: 'victim', rpm: 5 });
      const before = await db.stores.keys.findByKeyId(victim.keyId);

      // Act + Assess
      await expect(revokeKey(at(now), { keyId: victim.keyId, accountId: 'rival' })).rejects.toThrow(
        `Unknown key id '${victim.keyId}'`,
      );
      await expect(updateKey(at(now), { keyId: victim.keyId, accountId: 'rival', rpm: 1 })).rejects.toThrow(
        NotFoundError,
      );
      expect(await db.stores.keys.findByKeyId(victim.keyId)).toEqual(before);
    });

    it("the key store refuses it too, so no other caller of the store can touch another account's key", async () => {
      const victim = await createKey(at(now), { accountId: 'acme', name: 'victim-2' });

      expect(await db.stores.keys.revoke(victim.keyId, now, 'rival')).toBeUndefined();
      expect(await db.stores.keys.update(victim.keyId, { name: 'taken' }, 'rival')).toBeUndefined();
      expect(await db.stores.keys.findByKeyId(victim.keyId)).toMatchObject({ name: 'victim-2' });
      expect(await db.stores.keys.findByKeyId(victim.keyId)).not.toHaveProperty('revokedAt');
    });

    it('revokes and changes a key of the accountId given', async () => {
      const own = await createKey(at(now), { accountId: 'acme', name: 'own' });

      await expect(updateKey(at(now), { keyId: own.keyId, accountId: 'acme', rpm: 9 })).resolves.toMatchObject({
        rpm: 9,
      });
      await expect(revokeKey(at(now), { keyId: own.keyId, accountId: 'acme' })).resolves.toMatchObject({
        status: 'revoked',
      });
    });
  });
});
