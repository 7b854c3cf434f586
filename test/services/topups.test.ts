import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import { type TopUp, topUp } from '../../lambdas/services/topups.ts';
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
});
