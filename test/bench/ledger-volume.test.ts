import { beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { VOLUME_MODELS, writeLedgerVolume } from './ledger-volume.ts';

describe('ledger volume (bench helper)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('writes settled usage rows and top-ups over the last days, and the audit still balances', async () => {
    // Prepare
    await db.stores.wallets.create('busy');
    const now = new Date('2026-12-03T12:00:00.000Z');

    // Act
    const volume = await writeLedgerVolume(db.client, db.tables.ledger, {
      accountId: 'busy',
      rows: 300,
      now,
      walletsTable: db.tables.wallets,
    });

    // Assess
    const rows = await db.stores.wallets.allLedgerRows('busy');
    const usage = rows.filter((row) => row.kind === 'usage');
    expect(usage).toHaveLength(300);
    expect(rows.filter((row) => row.kind === 'topup')).toHaveLength(4);
    expect(usage.every((row) => row.status === 'final' && row.usage !== undefined && (row.cost ?? 0) <= row.hold)).toBe(
      true,
    );
    expect(usage.reduce((sum, row) => sum + BigInt(row.cost ?? 0), 0n)).toBe(volume.cost);
    expect(new Set(usage.map((row) => row.model))).toEqual(new Set(VOLUME_MODELS.map((route) => route.model)));
    expect(new Set(usage.map((row) => row.keyId)).size).toBe(5);
    expect(volume.first >= '2026-11-03T12:00:00.000Z' && volume.last < now.toISOString()).toBe(true);
    expect((await audit(db, 'busy')).difference).toBe(0);
    expect(volume.topUpAmount).toBeGreaterThan(volume.cost);
  });

  it('writes the same rows for the same seed', async () => {
    const now = new Date('2026-12-03T12:00:00.000Z');
    const a = await writeLedgerVolume(db.client, db.tables.ledger, { accountId: 'seed-a', rows: 50, now, seed: 7 });
    const b = await writeLedgerVolume(db.client, db.tables.ledger, { accountId: 'seed-b', rows: 50, now, seed: 7 });

    expect(b).toEqual(a);
  });
});
