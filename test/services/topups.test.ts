import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { ConflictError, InvalidInputError, LimitExceededError, NotFoundError } from '../../lambdas/services/errors.ts';
import { type TopUp, topUp } from '../../lambdas/services/topups.ts';
import { MAX_BALANCE_NANO, MAX_TOP_UP_NANO } from '../../lambdas/vocabulary.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

describe('top-ups service', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'acme' });
  });

  it('credits an exact decimal USD amount and reports the balance after', async () => {
    await createAccount(db.stores, { accountId: 'exact' });

    const small = await topUp(db.stores, { accountId: 'exact', amountUsd: '0.000000001', topUpId: 'inv-small' });
    const big = await topUp(db.stores, { accountId: 'exact', amountUsd: '12.50', topUpId: 'inv-9' });

    expect(small).toEqual({
      account: 'exact',
      topUpId: 'inv-small',
      applied: true,
      amount_usd: '0.000000001',
      amount_nano: 1,
      balance_usd: '0.000000001',
      balance_nano: 1,
    });
    expect(big).toMatchObject({ topUpId: 'inv-9', amount_usd: '12.50', balance_usd: '12.500000001' });
  });

  it('credits an amount given in nano-USD the same as in USD', async () => {
    const receipt = await topUp(db.stores, { accountId: 'acme', amountNano: 2_500_000_000, topUpId: 'nano-1' });

    expect(receipt).toMatchObject({ applied: true, amount_usd: '2.50', amount_nano: 2_500_000_000 });
  });

  it('credits a top-up id once: the same id and amount again changes nothing', async () => {
    await createAccount(db.stores, { accountId: 'retried' });

    const first = await topUp(db.stores, { accountId: 'retried', amountUsd: '5', topUpId: 'checkout-1' });
    const again = await topUp(db.stores, { accountId: 'retried', amountNano: 5_000_000_000, topUpId: 'checkout-1' });

    expect(first).toMatchObject({ applied: true, balance_usd: '5.00' });
    expect(again).toMatchObject({ applied: false, amount_usd: '5.00', balance_usd: '5.00' });
    expect((await db.stores.wallets.allLedgerRows('retried')).filter((row) => row.kind === 'topup')).toHaveLength(1);
  });

  it('refuses a top-up id reused with another amount', async () => {
    await createAccount(db.stores, { accountId: 'reused' });
    await topUp(db.stores, { accountId: 'reused', amountUsd: '5', topUpId: 'inv-1' });

    const reuse = topUp(db.stores, { accountId: 'reused', amountUsd: '7', topUpId: 'inv-1' });

    await expect(reuse).rejects.toThrow(ConflictError);
    await expect(topUp(db.stores, { accountId: 'reused', amountUsd: '7', topUpId: 'inv-1' })).rejects.toThrow(
      "Top-up id 'inv-1' was already used for a different amount",
    );
    expect((await db.stores.wallets.get('reused'))?.balance).toBe(5_000_000_000);
  });

  it('refuses a top-up of an unknown account', async () => {
    await expect(topUp(db.stores, { accountId: 'ghost', amountUsd: '1', topUpId: 'inv-1' })).rejects.toThrow(
      NotFoundError,
    );
  });

  it.each<[Partial<TopUp>, string]>([
    [{ amountUsd: '0' }, "Invalid amount '0'"],
    [{ amountUsd: '-1' }, 'Invalid amount'],
    [{ amountUsd: '1.0000000001' }, 'Invalid amount'],
    [{ amountUsd: '1e3' }, 'Invalid amount'],
    [{ amountUsd: 'ten' }, 'Invalid amount'],
    [{ amountUsd: '1,50' }, 'Invalid amount'],
    [{ amountNano: 0 }, 'Invalid amount'],
    [{ amountNano: 0.5 }, 'Invalid amount'],
    [{ topUpId: '' }, 'Invalid top-up id'],
    [{ topUpId: 'has space' }, 'Invalid top-up id'],
    [{ topUpId: 'x'.repeat(129) }, 'Invalid top-up id'],
    [{ accountId: 'a/b' }, 'Invalid account id'],
  ])('refuses %j as invalid input and credits nothing', async (change, message) => {
    const amount = 'amountNano' in change ? {} : { amountUsd: '1' };
    const input = { accountId: 'acme', topUpId: 'bad', ...amount, ...change } as TopUp;
    const before = (await db.stores.wallets.get('acme'))?.balance;

    await expect(topUp(db.stores, input)).rejects.toThrow(InvalidInputError);
    await expect(topUp(db.stores, input)).rejects.toThrow(message);
    expect((await db.stores.wallets.get('acme'))?.balance).toBe(before);
  });

  it('refuses an amount given both in USD and in nano-USD', async () => {
    const both = { accountId: 'acme', amountUsd: '1', amountNano: 1_000_000_000, topUpId: 'both' } as unknown as TopUp;

    await expect(topUp(db.stores, both)).rejects.toThrow('not both');
  });

  describe('money limits', () => {
    it('credits exactly the maximum of $1,000,000 in one top-up', async () => {
      await createAccount(db.stores, { accountId: 'max' });

      const receipt = await topUp(db.stores, { accountId: 'max', amountUsd: '1000000', topUpId: 'max-1' });

      expect(receipt).toMatchObject({ applied: true, amount_nano: MAX_TOP_UP_NANO, balance_usd: '1000000.00' });
    });

    it.each<[Partial<TopUp>, string]>([
      [
        { amountUsd: '1000000.000000001' },
        "Invalid amount: '1000000.000000001' is more than the maximum of $1000000.00",
      ],
      [{ amountUsd: '9000000' }, "Invalid amount: '9000000' is more than the maximum of $1000000.00"],
      [
        { amountNano: MAX_TOP_UP_NANO + 1 },
        'Invalid amount: 1000000000000001 nano-USD is more than the maximum of $1000000.00',
      ],
      [{ amountUsd: '99999999999' }, 'amounts are exact only up to $9007199.254740991'],
    ])('refuses %j as invalid input naming the maximum, before any read', async (amount, message) => {
      const input = { accountId: 'no-such-account', topUpId: 'too-big', ...amount } as TopUp;

      // The account does not exist: an amount refused first proves nothing was read.
      await expect(topUp(db.stores, input)).rejects.toThrow(InvalidInputError);
      await expect(topUp(db.stores, input)).rejects.toThrow(message);
    });

    it('refuses a top-up past the wallet ceiling as a limit, naming the ceiling and the balance', async () => {
      // Prepare: $4,999,999 in the wallet, $1 of room.
      await createAccount(db.stores, { accountId: 'full' });
      for (const id of ['f1', 'f2', 'f3', 'f4']) {
        await topUp(db.stores, { accountId: 'full', amountNano: MAX_TOP_UP_NANO, topUpId: id });
      }
      await topUp(db.stores, { accountId: 'full', amountUsd: '999999', topUpId: 'f5' });

      // Act
      const over = topUp(db.stores, { accountId: 'full', amountUsd: '1.000000001', topUpId: 'over' });

      // Assess
      const error = await over.then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(LimitExceededError);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as Error).message).toBe(
        "Top-up refused: account 'full' may hold at most $5000000.00, and its balance is $4999999.00; " +
          'at most $1.00 more can be added.',
      );
      expect((await db.stores.wallets.get('full'))?.balance).toBe(MAX_BALANCE_NANO - 1_000_000_000);
      expect(await topUp(db.stores, { accountId: 'full', amountUsd: '1', topUpId: 'last' })).toMatchObject({
        balance_usd: '5000000.00',
      });
    });
  });
});
