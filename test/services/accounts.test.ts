import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount, getAccount, updateAccount } from '../../lambdas/services/accounts.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { MAX_CREDIT_LIMIT_NANO } from '../../lambdas/vocabulary.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { usageRow } from '../support/rows.ts';

describe('accounts service', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  describe('createAccount', () => {
    it('creates an account with a zero balance, no credit and no discount', async () => {
      const now = new Date('2026-11-01T08:00:00.000Z');

      const created = await createAccount({ ...db.stores, now: () => now }, { accountId: 'acme.eu_1-x' });

      expect(created).toEqual({
        account: 'acme.eu_1-x',
        balance_usd: '0.00',
        balance_nano: 0,
        credit_limit_usd: '0.00',
        credit_limit_nano: 0,
        available_usd: '0.00',
        available_nano: 0,
        discount: '1',
        discount_ppm: 1_000_000,
        alert_below_usd: null,
        alert_below_nano: null,
        created_at: '2026-11-01T08:00:00.000Z',
      });
    });

    it('refuses an account that already exists', async () => {
      await createAccount(db.stores, { accountId: 'twice' });

      await expect(createAccount(db.stores, { accountId: 'twice' })).rejects.toThrow(ConflictError);
      await expect(createAccount(db.stores, { accountId: 'twice' })).rejects.toThrow("Account 'twice' already exists");
    });

    it.each(['', 'has space', 'a/b', 'x'.repeat(65)])('refuses the account id %j as invalid input', async (id) => {
      await expect(createAccount(db.stores, { accountId: id })).rejects.toThrow(InvalidInputError);
      expect(await db.stores.wallets.get(id || 'empty')).toBeUndefined();
    });
  });

  describe('getAccount', () => {
    it('shows balance, credit limit, what may still be held, and the discount', async () => {
      await createAccount(db.stores, { accountId: 'fresh' });
      await topUp(db.stores, { accountId: 'fresh', amountUsd: '2.50', topUpId: 'inv-1' });

      expect(await getAccount(db.stores, { accountId: 'fresh' })).toEqual({
        account: 'fresh',
        balance_usd: '2.50',
        balance_nano: 2_500_000_000,
        credit_limit_usd: '0.00',
        credit_limit_nano: 0,
        available_usd: '2.50',
        available_nano: 2_500_000_000,
        discount: '1',
        discount_ppm: 1_000_000,
        alert_below_usd: null,
        alert_below_nano: null,
      });
    });

    it('refuses an unknown account', async () => {
      await expect(getAccount(db.stores, { accountId: 'ghost' })).rejects.toThrow(NotFoundError);
      await expect(getAccount(db.stores, { accountId: 'ghost' })).rejects.toThrow("Unknown account 'ghost'");
    });
  });

  describe('updateAccount', () => {
    it('raises what the account may hold by exactly the credit limit, and lowers it back', async () => {
      // Prepare
      await createAccount(db.stores, { accountId: 'credit' });
      await topUp(db.stores, { accountId: 'credit', amountUsd: '1.000000001', topUpId: 'inv-1' });
      const before = await db.stores.wallets.get('credit');

      // Act
      const raised = await updateAccount(db.stores, { accountId: 'credit', creditLimitUsd: '12.345678901' });
      const after = await db.stores.wallets.get('credit');

      // Assess
      expect(raised).toMatchObject({
        balance_usd: '1.000000001',
        credit_limit_usd: '12.345678901',
        available_usd: '13.345678902',
        available_nano: 13_345_678_902,
      });
      expect((after?.spendable ?? 0) - (before?.spendable ?? 0)).toBe(12_345_678_901);
      expect(after?.balance).toBe(before?.balance);
      // A hold beyond the balance but within balance + credit now commits.
      await db.stores.wallets.hold(usageRow('credit', 'req-credit', new Date(), 5_000_000_000));
      expect(await getAccount(db.stores, { accountId: 'credit' })).toMatchObject({
        balance_usd: '-3.999999999',
        available_usd: '8.345678902',
      });
      expect(await updateAccount(db.stores, { accountId: 'credit', creditLimitNano: 5_000_000_000 })).toMatchObject({
        available_usd: '1.000000001',
      });
    });

    it('stores a discount as parts per million, given either as a fraction or in ppm', async () => {
      await createAccount(db.stores, { accountId: 'discounted' });

      const byFraction = await updateAccount(db.stores, {
        accountId: 'discounted',
        discount: '0.333333',
        creditLimitUsd: '0',
      });
      const stored = (await db.stores.wallets.get('discounted'))?.discountPpm;
      const byPpm = await updateAccount(db.stores, { accountId: 'discounted', discountPpm: 800_000 });

      expect(byFraction).toMatchObject({ discount: '0.333333', discount_ppm: 333_333, credit_limit_usd: '0.00' });
      expect(stored).toBe(333_333);
      expect(byPpm).toMatchObject({ discount: '0.8', discount_ppm: 800_000 });
    });

    it.each([
      [{}, 'Nothing to change'],
      [{ creditLimitUsd: '-1' }, 'Invalid credit limit'],
      [{ creditLimitNano: 1.5 }, 'Invalid credit limit'],
      [{ creditLimitUsd: '1', creditLimitNano: 1 }, 'not both'],
      [{ creditLimitUsd: '10', discount: '1.5' }, 'Invalid discount'],
      [{ discountPpm: 0 }, 'Invalid discount'],
      [{ discount: '0.5', discountPpm: 500_000 }, 'not both'],
    ])('refuses the changes %j and writes nothing', async (changes, message) => {
      await createAccount(db.stores, { accountId: 'careful' }).catch(() => undefined);

      await expect(updateAccount(db.stores, { accountId: 'careful', ...changes })).rejects.toThrow(InvalidInputError);
      await expect(updateAccount(db.stores, { accountId: 'careful', ...changes })).rejects.toThrow(message);
      expect(await db.stores.wallets.get('careful')).toMatchObject({ creditLimit: 0 });
      expect((await db.stores.wallets.get('careful'))?.discountPpm).toBeUndefined();
    });

    it('sets a credit limit of up to $1,000,000 and refuses more, naming the maximum, before any write', async () => {
      await createAccount(db.stores, { accountId: 'lender' });

      const atMax = await updateAccount(db.stores, { accountId: 'lender', creditLimitUsd: '1000000' });
      const overUsd = updateAccount(db.stores, { accountId: 'lender', creditLimitUsd: '1000000.000000001' });
      const overNano = updateAccount(db.stores, { accountId: 'lender', creditLimitNano: MAX_CREDIT_LIMIT_NANO + 1 });

      expect(atMax).toMatchObject({ credit_limit_usd: '1000000.00', credit_limit_nano: MAX_CREDIT_LIMIT_NANO });
      await expect(overUsd).rejects.toThrow(InvalidInputError);
      await expect(updateAccount(db.stores, { accountId: 'lender', creditLimitUsd: '5000000' })).rejects.toThrow(
        "Invalid credit limit: '5000000' is more than the maximum of $1000000.00",
      );
      await expect(overNano).rejects.toThrow('1000000000000001 nano-USD is more than the maximum of $1000000.00');
      // Refused before reading: an unknown account gets the same answer.
      await expect(updateAccount(db.stores, { accountId: 'ghost', creditLimitUsd: '5000000' })).rejects.toThrow(
        InvalidInputError,
      );
      expect((await db.stores.wallets.get('lender'))?.creditLimit).toBe(MAX_CREDIT_LIMIT_NANO);
    });

    it('refuses an unknown account', async () => {
      await expect(updateAccount(db.stores, { accountId: 'ghost', discount: '0.5' })).rejects.toThrow(NotFoundError);
      await expect(updateAccount(db.stores, { accountId: 'ghost', creditLimitUsd: '1' })).rejects.toThrow(
        "Unknown account 'ghost'",
      );
    });
  });
});
