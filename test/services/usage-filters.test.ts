import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_CURSOR, type LedgerEntry, walletPageParams } from '../../lambdas/gateway/wallet-view.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { InvalidInputError } from '../../lambdas/services/errors.ts';
import { listUsage, USAGE_EVALUATION_BUDGET, type UsageQuery } from '../../lambdas/services/usage.ts';
import { WalletStore } from '../../lambdas/store/wallets.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { writeLedgerVolume } from '../bench/ledger-volume.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { tokens, usageRow } from '../support/rows.ts';

/** A settled row of `key` billed to `model`, `minutes` after 2026-11-01T08:00Z. */
const row = (accountId: string, id: string, minutes: number, keyId: string, model: string): UsageRow => ({
  ...usageRow(accountId, id, new Date(Date.parse('2026-11-01T08:00:00.000Z') + minutes * 60_000), 1_000_000),
  keyId,
  model,
});

/** Every page of a listing, following its cursors. */
const allPages = async (db: TestDatabase, query: UsageQuery) => {
  const pages: { data: LedgerEntry[]; next: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const listing = await listUsage(db.stores, { ...query, cursor });
    cursor = listing.ledger.next_cursor;
    pages.push({ data: listing.ledger.data, next: cursor });
  } while (cursor !== null && pages.length < 100);
  return pages;
};

/** A wallet store whose queries record how many items DynamoDB evaluated for each. */
const countingStore = (db: TestDatabase) => {
  const scanned: number[] = [];
  const client = {
    send: async (command: unknown) => {
      const output = await db.client.send(command as QueryCommand);
      if (command instanceof QueryCommand) scanned.push(output.ScannedCount ?? 0);
      return output;
    },
  } as unknown as DynamoDBDocumentClient;
  return { wallets: new WalletStore(client, db.tables), scanned };
};

describe('usage filters', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'mixed' });
    await db.stores.wallets.topUp('mixed', 5_000_000_000, 'inv-1', new Date('2026-11-01T07:59:00.000Z'));
    // Minutes 0…11 of 2026-11-01T08:00Z: keys a/b and models m1/m2 in turn; one still pending.
    for (let minute = 0; minute < 12; minute++) {
      const held = row('mixed', `req-${minute}`, minute, minute % 2 ? 'key_b' : 'key_a', minute % 3 ? 'm2' : 'm1');
      await db.stores.wallets.hold(held);
      if (minute !== 11) {
        await db.stores.wallets.settle(held, { cost: 1_000 * (minute + 1), outcome: 'completed', usage: tokens(1, 1) });
      }
    }
  });

  it('keeps only rows before until, a date or a time: until is exclusive', async () => {
    const before = await listUsage(db.stores, { accountId: 'mixed', until: '2026-11-01T08:03:00Z' });
    const window = await listUsage(db.stores, {
      accountId: 'mixed',
      since: '2026-11-01T08:03:00Z',
      until: '2026-11-01T08:05:00Z',
    });
    const dayBefore = await listUsage(db.stores, { accountId: 'mixed', until: '2026-11-01' });

    expect(before.until).toBe('2026-11-01T08:03:00.000Z');
    expect(before.ledger.data.map((entry) => entry.id)).toEqual(['req-2', 'req-1', 'req-0', 'inv-1']);
    expect(window.ledger.data.map((entry) => entry.id)).toEqual(['req-4', 'req-3']);
    expect(dayBefore.ledger.data).toEqual([]);
  });

  it('filters by key, by model, or both, leaving top-ups out', async () => {
    const ids = async (query: Partial<UsageQuery>) =>
      (await listUsage(db.stores, { accountId: 'mixed', ...query })).ledger.data.map((entry) => entry.id);

    expect(await ids({ keyId: 'key_b' })).toEqual(['req-11', 'req-9', 'req-7', 'req-5', 'req-3', 'req-1']);
    expect(await ids({ model: 'm1' })).toEqual(['req-9', 'req-6', 'req-3', 'req-0']);
    expect(await ids({ keyId: 'key_a', model: 'm1' })).toEqual(['req-6', 'req-0']);
    expect(await ids({ keyId: 'key_a', model: 'm1', since: '2026-11-01T08:01:00Z' })).toEqual(['req-6']);
    expect(await ids({ keyId: 'key_nobody' })).toEqual([]);
    const listing = await listUsage(db.stores, { accountId: 'mixed', keyId: 'key_b' });
    expect(listing).toMatchObject({ key_id: 'key_b', model: null, totals: { requests: 6, pending: 1, top_ups: 0 } });
  });

  it('pages a filtered listing through exactly the rows that match, with cursors /v1/wallet accepts', async () => {
    const everything = (await listUsage(db.stores, { accountId: 'mixed', limit: 1_000 })).ledger.data;
    const expected = everything.filter((entry) => entry.type === 'usage' && entry.model === 'm2');

    const pages = await allPages(db, { accountId: 'mixed', model: 'm2', limit: 3 });

    expect(pages.flatMap((page) => page.data)).toEqual(expected);
    expect(pages.every((page) => page.data.length <= 3)).toBe(true);
    for (const { next } of pages) {
      if (next === null) continue;
      expect(next).toMatch(LEDGER_CURSOR);
      expect(walletPageParams({ cursor: next })).toEqual({ limit: 20, cursor: next });
    }
  });

  it('gives back rows found beyond the limit on the next page, never skipping one', async () => {
    // A budget this small makes the store read in growing pages that overshoot the limit.
    const { wallets } = countingStore(db);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await wallets.ledger('mixed', {
        keyId: 'key_a',
        limit: 2,
        budget: 7,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.rows.map((found) => found.sk.split('#')[1] as string));
      cursor = page.nextCursor;
    } while (cursor !== undefined);

    expect(seen).toEqual(['req-10', 'req-8', 'req-6', 'req-4', 'req-2', 'req-0']);
  });

  it.each<[Partial<UsageQuery>, string]>([
    [{ until: 'tomorrow' }, "Invalid until 'tomorrow'"],
    [{ since: '2026-11-02', until: '2026-11-01' }, 'until (2026-11-01T00:00:00.000Z) must come after since'],
    [{ since: '2026-11-01', until: '2026-11-01' }, 'must come after since'],
    [{ keyId: 'key a' }, "Invalid key id 'key a'"],
    [{ keyId: '' }, "Invalid key id ''"],
    [{ model: 'gpt 4o' }, "Invalid model 'gpt 4o'"],
    [{ until: '2026-11-01T08:03:00Z', cursor: '2026-11-01T08:05:00.000Z#req-5' }, 'lies outside since/until'],
    [{ since: '2026-11-01T08:03:00Z', cursor: '2026-11-01T08:01:00.000Z#req-1' }, 'lies outside since/until'],
  ])('refuses %j as invalid input', async (query, message) => {
    const listing = listUsage(db.stores, { accountId: 'mixed', ...query });

    await expect(listing).rejects.toThrow(InvalidInputError);
    await expect(listUsage(db.stores, { accountId: 'mixed', ...query })).rejects.toThrow(message);
  });
});

describe('usage filters across the evaluation budget', () => {
  let db: TestDatabase;
  const now = new Date('2026-12-03T12:00:00.000Z');
  const rare = (id: string, daysAgo: number) => ({
    ...row('sparse', id, 0, 'key_rare', 'gpt-4o'),
    sk: `${new Date(now.getTime() - daysAgo * 86_400_000).toISOString()}#${id}`,
    at: new Date(now.getTime() - daysAgo * 86_400_000).toISOString(),
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'sparse' });
    await db.stores.wallets.topUp('sparse', 5_000_000_000, 'inv-1', new Date('2026-10-01T00:00:00.000Z'));
    // 11,000 rows of other keys over 30 days; the rare key's three rows lie at the newest end, in
    // the middle (about 5,500 rows down) and past the oldest.
    await writeLedgerVolume(db.client, db.tables.ledger, { accountId: 'sparse', rows: 11_000, now, topUps: 0 });
    for (const held of [rare('rare-new', 0.001), rare('rare-mid', 15), rare('rare-old', 31)]) {
      await db.stores.wallets.hold(held);
    }
  }, 120_000);

  it('answers after the budget with what it found and a cursor, and the cursors lead to every match', async () => {
    const pages = await allPages(db, { accountId: 'sparse', keyId: 'key_rare', limit: 10 });

    expect(pages.flatMap((page) => page.data.map((entry) => entry.id))).toEqual(['rare-new', 'rare-mid', 'rare-old']);
    expect(pages.map((page) => page.data.length)).toEqual([1, 1, 1]);
    expect(pages.map((page) => page.next === null)).toEqual([false, false, true]);
  });

  it(`evaluates at most ${USAGE_EVALUATION_BUDGET} rows for one page`, async () => {
    const { wallets, scanned } = countingStore(db);

    const page = await wallets.ledger('sparse', { keyId: 'key_rare', limit: 10, budget: USAGE_EVALUATION_BUDGET });

    expect(page.rows.map((found) => found.kind === 'usage' && found.requestId)).toEqual(['rare-new']);
    expect(page.nextCursor).toMatch(LEDGER_CURSOR);
    expect(scanned.reduce((sum, count) => sum + count, 0)).toBe(USAGE_EVALUATION_BUDGET);
    expect(scanned.length).toBeGreaterThan(1);
  });

  it('an unfiltered page still reads just limit rows in one query', async () => {
    const { wallets, scanned } = countingStore(db);

    const page = await wallets.ledger('sparse', { limit: 25 });

    expect(page.rows).toHaveLength(25);
    expect(scanned).toEqual([25]);
  });
});
