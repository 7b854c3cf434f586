import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import { listUsage, type UsageRange } from '../../lambdas/services/usage.ts';
import {
  ExportTooLargeError,
  exportUsageCsv,
  textCell,
  USAGE_CSV_COLUMNS,
} from '../../lambdas/services/usage-export.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { writeLedgerVolume } from '../bench/ledger-volume.ts';
import { parseCsv } from '../support/csv.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { tokens, usageRow } from '../support/rows.ts';

const exported = async (db: TestDatabase, range: UsageRange, options: { maxRows?: number } = {}, now?: Date) => {
  let text = '';
  for await (const chunk of exportUsageCsv({ ...db.stores, ...(now ? { now: () => now } : {}) }, range, options)) {
    text += chunk;
  }
  return text;
};

/** The cells of each line by column name. */
const records = (text: string) => {
  const [header, ...lines] = parseCsv(text);
  expect(header).toEqual([...USAGE_CSV_COLUMNS]);
  return lines.map((cells) => Object.fromEntries(USAGE_CSV_COLUMNS.map((name, index) => [name, cells[index]])));
};

const t0 = Date.parse('2026-11-01T08:00:00.000Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);

describe('usage CSV export', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'csv' });
    await db.stores.wallets.topUp('csv', 5_000_000_000, 'inv-1', at(0));
    const done = { ...usageRow('csv', 'req-done', at(1), 50_000_000), keyId: 'key_a' };
    await db.stores.wallets.hold(done);
    await db.stores.wallets.settle(done, {
      cost: 10_500_000,
      outcome: 'completed',
      usage: tokens(1_000, 500, 200, 7),
      overrun: false,
      estimated: true,
      fallbackFrom: 'gpt-first',
    });
    await db.stores.wallets.hold({ ...usageRow('csv', 'req-open', at(2), 20_000_000), keyId: 'key_b' });
  });

  it('writes the header, then one CRLF line per row, newest first, amounts exact', async () => {
    const lines = records(await exported(db, { accountId: 'csv' }));

    expect(lines).toEqual([
      {
        time: '2026-11-01T08:02:00.000Z',
        type: 'usage',
        request_id: 'req-open',
        key_id: 'key_b',
        model: 'gpt-test',
        fallback_from: '',
        provider: 'openai',
        status: 'pending',
        outcome: '',
        input_tokens: '',
        output_tokens: '',
        cache_read_tokens: '',
        cache_write_tokens: '',
        cost_usd: '',
        hold_usd: '0.02',
        amount_usd: '-0.02',
        discount: '1',
        estimated: 'false',
        overrun: 'false',
      },
      {
        time: '2026-11-01T08:01:00.000Z',
        type: 'usage',
        request_id: 'req-done',
        key_id: 'key_a',
        model: 'gpt-test',
        fallback_from: 'gpt-first',
        provider: 'openai',
        status: 'final',
        outcome: 'completed',
        input_tokens: '1000',
        output_tokens: '500',
        cache_read_tokens: '200',
        cache_write_tokens: '7',
        cost_usd: '0.0105',
        hold_usd: '0.05',
        amount_usd: '-0.0105',
        discount: '1',
        estimated: 'true',
        overrun: 'false',
      },
      {
        ...Object.fromEntries(USAGE_CSV_COLUMNS.map((name) => [name, ''])),
        time: '2026-11-01T08:00:00.000Z',
        type: 'topup',
        request_id: 'inv-1',
        amount_usd: '5.00',
      },
    ]);
  });

  it('quotes commas, quotes and line breaks, and neutralises formulas in text cells but not in amounts', async () => {
    // Prepare: model names and key ids as a client or an operator could have them stored.
    await createAccount(db.stores, { accountId: 'hostile' });
    await db.stores.wallets.topUp('hostile', 5_000_000_000, 'inv-1', at(0));
    const names = [
      '=HYPERLINK("http://evil.example","click")',
      '+cmd|calc',
      '-2+3',
      '@SUM(A1:A9)',
      '\tx',
      '\rx',
      'a,b',
      'say "hi"',
      'two\nlines',
      'plain-model',
    ];
    for (const [index, name] of names.entries()) {
      const held: UsageRow = {
        ...usageRow('hostile', `req-${index}`, at(10 + index), 1_000),
        model: name,
        keyId: name,
      };
      await db.stores.wallets.hold(held);
      await db.stores.wallets.settle(held, { cost: 1_000, outcome: 'completed', usage: tokens(1, 1) });
    }

    // Act
    const text = await exported(db, { accountId: 'hostile', since: at(10).toISOString() });

    // Assess
    const lines = records(text).reverse();
    expect(lines.map((line) => line['model'])).toEqual([
      `'=HYPERLINK("http://evil.example","click")`,
      "'+cmd|calc",
      "'-2+3",
      "'@SUM(A1:A9)",
      "'\tx",
      "'\rx",
      'a,b',
      'say "hi"',
      'two\nlines',
      'plain-model',
    ]);
    expect(lines.map((line) => line['key_id'])).toEqual(lines.map((line) => line['model']));
    expect(lines.every((line) => line['amount_usd'] === '-0.000001' && line['cost_usd'] === '0.000001')).toBe(true);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(text).toContain(',-0.000001,');
  });

  it('neutralises one text cell as a spreadsheet needs it', () => {
    expect(textCell('=1+1')).toBe("'=1+1");
    expect(textCell('-x')).toBe("'-x");
    expect(textCell('key_0123')).toBe('key_0123');
    expect(textCell('=A1,B1')).toBe(`"'=A1,B1"`);
    expect(textCell('')).toBe('');
  });

  it('keeps amounts a JSON number could not sum exactly, to the nano-USD', async () => {
    await createAccount(db.stores, { accountId: 'huge' });
    for (const index of [1, 2]) {
      const row: UsageRow = {
        ...usageRow('huge', `req-${index}`, at(index), Number.MAX_SAFE_INTEGER),
        status: 'final',
        cost: Number.MAX_SAFE_INTEGER,
        outcome: 'completed',
      };
      await db.client.send(new PutCommand({ TableName: db.tables.ledger, Item: row }));
    }

    const lines = records(await exported(db, { accountId: 'huge' }));

    expect(lines.map((line) => [line['cost_usd'], line['amount_usd']])).toEqual([
      ['9007199.254740991', '-9007199.254740991'],
      ['9007199.254740991', '-9007199.254740991'],
    ]);
  });

  it('exports every row of a range across pages, with the filters listUsage takes', async () => {
    // Prepare
    await createAccount(db.stores, { accountId: 'many' });
    const now = new Date('2026-11-30T00:00:00.000Z');
    await writeLedgerVolume(db.client, db.tables.ledger, { accountId: 'many', rows: 2_600, now, days: 20 });
    const range = { accountId: 'many', since: '2026-11-12', until: '2026-11-28', keyId: 'key_volume_1' };
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await listUsage(db.stores, { ...range, limit: 1_000, cursor });
      listed.push(...page.ledger.data.map((entry) => entry.id));
      cursor = page.ledger.next_cursor;
    } while (cursor !== null);

    // Act
    const lines = records(await exported(db, range));

    // Assess
    expect(listed.length).toBeGreaterThan(300);
    expect(lines.map((line) => line['request_id'])).toEqual(listed);
    expect(lines.every((line) => line['key_id'] === 'key_volume_1')).toBe(true);
    expect(
      lines.every((line) => (line['time'] as string) >= '2026-11-12' && (line['time'] as string) < '2026-11-28'),
    ).toBe(true);
  });

  it('leaves out rows written after the export started', async () => {
    const text = await exported(db, { accountId: 'csv' }, {}, new Date(t0 + 90_000));

    expect(records(text).map((line) => line['request_id'])).toEqual(['req-done', 'inv-1']);
  });

  it('refuses a range over the maximum before the first line, naming the maximum', async () => {
    const chunks = exportUsageCsv(db.stores, { accountId: 'csv' }, { maxRows: 2 });

    await expect(chunks.next()).rejects.toThrow(ExportTooLargeError);
    await expect(exported(db, { accountId: 'csv' }, { maxRows: 2 })).rejects.toThrow(
      'The range holds more than 2 ledger rows, the most one export holds; export a shorter range',
    );
    expect(await exported(db, { accountId: 'csv' }, { maxRows: 3 })).toContain('inv-1');
  });

  it('refuses invalid input and an unknown account on the first chunk', async () => {
    await expect(exportUsageCsv(db.stores, { accountId: 'csv', until: 'soon' }).next()).rejects.toThrow(
      InvalidInputError,
    );
    await expect(exportUsageCsv(db.stores, { accountId: 'ghost' }).next()).rejects.toThrow(NotFoundError);
    await expect(exportUsageCsv(db.stores, { accountId: 'csv' }, { maxRows: 200_001 }).next()).rejects.toThrow(
      "Invalid maxRows '200001': at most 200000",
    );
  });
});
