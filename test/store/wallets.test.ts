import { beforeAll, describe, expect, it } from 'vitest';
import { TopUpConflictError, UnknownAccountError } from '../../lambdas/store/wallets.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

describe('wallet store', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('credits a top-up once per id and refuses the same id with another amount', async () => {
    // Prepare
    await db.stores.wallets.create('acme');
    // Act
    const first = await db.stores.wallets.topUp('acme', 5_000_000_000, 'inv-1');
    const again = await db.stores.wallets.topUp('acme', 5_000_000_000, 'inv-1');
    // Assess
    expect(first.applied).toBe(true);
    expect(again.applied).toBe(false);
    expect((await db.stores.wallets.get('acme'))?.balance).toBe(5_000_000_000);
    await expect(db.stores.wallets.topUp('acme', 1, 'inv-1')).rejects.toBeInstanceOf(TopUpConflictError);
  });

  it('refuses a top-up of an account that does not exist', async () => {
    await expect(db.stores.wallets.topUp('nobody', 1)).rejects.toBeInstanceOf(UnknownAccountError);
  });
});
