import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { auditAccount, auditAccounts } from '../../lambdas/services/audit.ts';
import { InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { corruptBalance, tokens, usageRow } from '../support/rows.ts';

describe('audit service', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  /** An account with two top-ups, a settled request and an open hold. */
  const busyAccount = async (accountId: string): Promise<void> => {
    await createAccount(db.stores, { accountId });
    await topUp(db.stores, { accountId, amountUsd: '10', topUpId: 'inv-1' });
    await topUp(db.stores, { accountId, amountNano: 7, topUpId: 'inv-2' });
    const settled = usageRow(accountId, 'req-settled', new Date(), 40_000_000);
    await db.stores.wallets.hold(settled);
    await db.stores.wallets.settle(settled, { cost: 12_345_678, outcome: 'completed', usage: tokens(10, 20) });
    await db.stores.wallets.hold(usageRow(accountId, 'req-open', new Date(), 1_000_000_000));
  };

  it('passes an account whose balance equals top-ups − settled costs − open holds', async () => {
    await busyAccount('sound');

    expect(await auditAccount(db.stores, { accountId: 'sound' })).toEqual({
      account: 'sound',
      ok: true,
      top_ups_usd: '10.000000007',
      top_ups_nano: 10_000_000_007,
      adjustments_usd: '0.00',
      adjustments_nano: 0,
      settled_costs_usd: '0.012345678',
      settled_costs_nano: 12_345_678,
      open_holds: 1,
      open_holds_usd: '1.00',
      open_holds_nano: 1_000_000_000,
      expected_balance_usd: '8.987654329',
      expected_balance_nano: 8_987_654_329,
      balance_usd: '8.987654329',
      balance_nano: 8_987_654_329,
      difference_usd: '0.00',
      difference_nano: 0,
      ledger_rows: 4,
      open_leases: 0,
      lease_mismatches: [],
      stable: true,
    });
  });

  it('finds a balance changed behind the ledger, to the nano-USD', async () => {
    await busyAccount('tampered');
    await corruptBalance(db, 'tampered', 1);

    expect(await auditAccount(db.stores, { accountId: 'tampered' })).toMatchObject({
      ok: false,
      balance_usd: '8.98765433',
      expected_balance_usd: '8.987654329',
      difference_usd: '0.000000001',
      stable: true,
    });
  });

  it('audits many accounts sorted by id, skipping one deleted since the ids were listed', async () => {
    await busyAccount('sound-2');
    await busyAccount('tampered-2');
    await corruptBalance(db, 'tampered-2', -2_000_000_000);

    const all = await auditAccounts(db.stores, {
      accountIds: ['tampered-2', 'sound', 'sound-2', 'tampered', 'deleted-meanwhile'],
    });

    expect(all).toMatchObject({ ok: false, audited: 4, failed: 2, unreadable: [] });
    expect(all.accounts.map((audit) => [audit.account, audit.ok, audit.difference_usd])).toEqual([
      ['sound', true, '0.00'],
      ['sound-2', true, '0.00'],
      ['tampered', false, '0.000000001'],
      ['tampered-2', false, '-2.00'],
    ]);
  });

  it('passes an audit of no accounts', async () => {
    expect(await auditAccounts(db.stores, { accountIds: [] })).toEqual({
      ok: true,
      audited: 0,
      failed: 0,
      accounts: [],
      unreadable: [],
    });
  });

  it('refuses an unknown account and a malformed id', async () => {
    await expect(auditAccount(db.stores, { accountId: 'ghost' })).rejects.toThrow(NotFoundError);
    await expect(auditAccount(db.stores, { accountId: 'no such/id' })).rejects.toThrow(InvalidInputError);
    await expect(auditAccount(db.stores, { accountId: 'sound', attempts: 0 })).rejects.toThrow(InvalidInputError);
  });
});
