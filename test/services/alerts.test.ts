import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredHolds } from '../../lambdas/gateway/sweep.ts';
import type { Mail, Mailer } from '../../lambdas/mail/mailer.ts';
import { createAccount, setAlertThreshold } from '../../lambdas/services/accounts.ts';
import { sendPendingAlerts } from '../../lambdas/services/alerts.ts';
import { auditAccount } from '../../lambdas/services/audit.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import { exportUsageCsv } from '../../lambdas/services/usage-export.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { usageRow } from '../support/rows.ts';

const USD = 1_000_000_000;

class RecordingMailer implements Mailer {
  readonly sent: Mail[] = [];
  async send(mail: Mail): Promise<void> {
    this.sent.push(mail);
  }
}

describe('low-balance alerts', () => {
  let db: TestDatabase;
  let next = 0;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  /** A new account with `balance` USD and an alert below `threshold` USD (none when undefined). */
  const account = async (balance: number, threshold?: string): Promise<string> => {
    next += 1;
    const accountId = `alerts-${next}`;
    await createAccount(db.stores, { accountId });
    if (balance > 0) await topUp(db.stores, { accountId, topUpId: `t-${next}`, amountUsd: String(balance) });
    if (threshold !== undefined) await setAlertThreshold(db.stores, { accountId, alertBelowUsd: threshold });
    return accountId;
  };

  /** One request: a hold and its settle at `cost` nano-USD. */
  const spend = async (accountId: string, cost: number, hold = cost): Promise<void> => {
    next += 1;
    const row = usageRow(accountId, `req-${next}`, new Date(), hold);
    await db.stores.wallets.hold(row);
    await db.stores.wallets.settle(row, { cost, outcome: 'completed' });
  };

  /** The account's alert rows (outside the ledger's range), oldest first. */
  const alertRows = async (accountId: string) => {
    const { Items } = await db.client.send(
      new QueryCommand({
        TableName: db.tables.ledger,
        KeyConditionExpression: 'accountId = :a AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':a': accountId, ':p': 'alert#' },
        ConsistentRead: true,
      }),
    );
    return Items ?? [];
  };

  const pendingOf = async (accountId: string) =>
    (await db.stores.wallets.pendingAlerts(1_000)).filter((alert) => alert.accountId === accountId);

  it('raises one alert when a settle crosses the threshold, none for further settles below it', async () => {
    // Prepare
    const accountId = await account(10, '5');

    // Act
    await spend(accountId, 4 * USD); // $6 left: above
    const above = await alertRows(accountId);
    await spend(accountId, 2 * USD); // $4 left: crosses
    await spend(accountId, 1 * USD); // $3 left: still below
    await spend(accountId, 1 * USD);

    // Assess
    expect(above).toEqual([]);
    const rows = await alertRows(accountId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'alert', pending: 'alert', balance: 4 * USD, alertBelow: 5 * USD });
    expect(await db.stores.wallets.get(accountId)).toMatchObject({ alertBelow: 5 * USD, alertArmed: false });
  });

  it('raises exactly one alert when 20 concurrent settles cross at once', async () => {
    const accountId = await account(10, '5');
    const rows = Array.from({ length: 20 }, (_, i) => usageRow(accountId, `burst-${i}`, new Date(), USD / 2));
    for (const row of rows) await db.stores.wallets.hold(row); // $0 left, nothing settled yet

    await Promise.all(rows.map((row) => db.stores.wallets.settle(row, { cost: USD / 2, outcome: 'completed' })));

    expect(await alertRows(accountId)).toHaveLength(1);
    expect((await auditAccount(db.stores, { accountId })).ok).toBe(true);
  });

  it('is re-armed by a top-up back above the threshold, and the next crossing alerts again', async () => {
    const accountId = await account(10, '5');
    await spend(accountId, 6 * USD); // $4: alert 1
    await topUp(db.stores, { accountId, topUpId: 'half', amountUsd: '0.5' }); // $4.50: still below, stays disarmed
    await spend(accountId, USD / 10);
    const disarmed = await db.stores.wallets.get(accountId);

    await topUp(db.stores, { accountId, topUpId: 'ten', amountUsd: '10' }); // $14.40: re-armed
    const rearmed = await db.stores.wallets.get(accountId);
    await spend(accountId, 10 * USD); // $4.40: alert 2

    expect(disarmed).toMatchObject({ alertArmed: false });
    expect(rearmed).toMatchObject({ alertArmed: true });
    expect(await alertRows(accountId)).toHaveLength(2);
  });

  it('raises nothing for a wallet without a threshold, or once the threshold is removed', async () => {
    const none = await account(10);
    const removed = await account(10, '5');
    await setAlertThreshold(db.stores, { accountId: removed, alertBelowUsd: 'none' });

    await spend(none, 9 * USD);
    await spend(removed, 9 * USD);

    expect(await alertRows(none)).toEqual([]);
    expect(await alertRows(removed)).toEqual([]);
  });

  it("raises an alert when the sweeper's charge of an expired hold crosses the threshold", async () => {
    const accountId = await account(10, '5');
    const row = usageRow(accountId, 'died', new Date(Date.now() - 60 * 60_000), 8 * USD);
    await db.stores.wallets.hold(row);
    await db.stores.wallets.checkpoint(row, 7 * USD);

    await sweepExpiredHolds(db.stores.wallets, { expiryMs: 30 * 60_000 });

    expect(await db.stores.wallets.get(accountId)).toMatchObject({ balance: 3 * USD, alertArmed: false });
    expect(await alertRows(accountId)).toHaveLength(1);
  });

  it('raises an alert when a refund or dispute takes money back across the threshold', async () => {
    const accountId = await account(10, '5');

    await db.stores.wallets.takeBack(accountId, { guardId: 'refund-ch_1', total: 6 * USD, reason: 'refund' });

    expect(await alertRows(accountId)).toHaveLength(1);
    expect((await auditAccount(db.stores, { accountId })).ok).toBe(true);
  });

  it('keeps alert rows out of the ledger listing, the CSV export and the audit, which stays exact', async () => {
    const accountId = await account(10, '5');
    await spend(accountId, 7 * USD);
    expect(await alertRows(accountId)).toHaveLength(1);

    const listing = await listUsage(db.stores, { accountId });
    let csv = '';
    for await (const chunk of exportUsageCsv(db.stores, { accountId })) csv += chunk;
    const audit = await auditAccount(db.stores, { accountId });

    expect(listing.ledger.data.map((entry) => entry.type).sort()).toEqual(['topup', 'usage']);
    expect(csv).not.toContain('alert');
    expect(csv.trimEnd().split('\r\n')).toHaveLength(3); // header, top-up, request
    expect(audit.ok).toBe(true);
    expect(await db.stores.wallets.pendingHolds(new Date(Date.now() + 60_000).toISOString(), 1_000)).not.toContainEqual(
      expect.objectContaining({ accountId }),
    );
  });

  it('sends one e-mail per member with the balance, the threshold and the wallet link, then clears the alert', async () => {
    // Prepare
    const accountId = await account(10, '5');
    const empty = await account(10, '5');
    for (const email of ['ana@example.com', 'bo@example.com']) {
      await db.stores.members.add({ email, accountId, addedAt: new Date().toISOString() });
    }
    await spend(accountId, 6.5 * USD);
    await spend(empty, 6 * USD);
    const mailer = new RecordingMailer();

    // Act
    const outcome = await sendPendingAlerts({ ...db.stores, mailer, consoleUrl: 'https://console.example/console' });
    const again = await sendPendingAlerts({ ...db.stores, mailer });

    // Assess
    expect(outcome.alerts).toBeGreaterThanOrEqual(2);
    const mine = mailer.sent.filter((mail) => mail.subject.includes(`${accountId} `));
    expect(mine.map((mail) => mail.to).sort()).toEqual(['ana@example.com', 'bo@example.com']);
    expect(mine[0]?.subject).toBe(`Tollgate: the balance of ${accountId} is below $5.00`);
    expect(mine[0]?.text).toContain('it was $3.50');
    expect(mine[0]?.text).toContain('https://console.example/console/wallet');
    expect(mailer.sent.filter((mail) => mail.subject.includes(`${empty} `))).toEqual([]);
    expect(again).toEqual({ alerts: 0, mails: 0, claimedElsewhere: 0 });
    expect(await pendingOf(accountId)).toEqual([]);
    expect(await pendingOf(empty)).toEqual([]);
    expect((await alertRows(accountId))[0]).toMatchObject({ recipients: 2 });
  });

  it('sends an alert once when two sweepers run at once', async () => {
    const accountId = await account(10, '5');
    await db.stores.members.add({ email: 'once@example.com', accountId, addedAt: new Date().toISOString() });
    await spend(accountId, 6 * USD);
    const mailer = new RecordingMailer();

    await Promise.all([sendPendingAlerts({ ...db.stores, mailer }), sendPendingAlerts({ ...db.stores, mailer })]);

    expect(mailer.sent.filter((mail) => mail.to === 'once@example.com')).toHaveLength(1);
    expect(await pendingOf(accountId)).toEqual([]);
  });

  it('keeps mail off the request path: nothing the proxy bundles imports a mailer', async () => {
    const root = join(import.meta.dirname, '../../lambdas');
    const files = [
      'proxy.ts',
      'app.ts',
      ...(await readdir(join(root, 'gateway'))).map((f) => `gateway/${f}`),
      ...(await readdir(join(root, 'middlewares'))).map((f) => `middlewares/${f}`),
      ...(await readdir(join(root, 'store'))).filter((f) => f.endsWith('.ts')).map((f) => `store/${f}`),
    ];
    for (const file of files) {
      expect(await readFile(join(root, file), 'utf8'), file).not.toMatch(/from '[./]*mail\//);
    }
  });
});
