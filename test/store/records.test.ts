import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { MalformedRecordError } from '../../lambdas/store/records.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };

describe('key and route reads are parsed', () => {
  let db: TestDatabase;
  /** Writes an item as is, past the stores' own checks (as a hand edit in the console would). */
  const putRaw = (table: string, item: Record<string, unknown>) =>
    db.client.send(new PutCommand({ TableName: table, Item: item }));

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('reads a route as it was written', async () => {
    const route = { model: 'gpt-ok', provider: 'openai', prices: PRICES, defaultMaxTokens: 512, fallbacks: ['b'] };
    await db.stores.routes.put(route);
    expect(await db.stores.routes.get('gpt-ok')).toEqual(route);
  });

  it('refuses a route whose prices are not whole nano-USD, naming the route and the field', async () => {
    await putRaw(db.tables.routes, { model: 'gpt-bad', provider: 'openai', prices: { input: '1', output: 2.5 } });
    const read = db.stores.routes.get('gpt-bad');
    await expect(read).rejects.toBeInstanceOf(MalformedRecordError);
    await expect(read).rejects.toThrow(/Route 'gpt-bad' is malformed: prices\.input: .*prices\.output/);
    await expect(db.stores.routes.list()).rejects.toThrow(/gpt-bad/);
  });

  it('refuses a key row with a malformed limit, naming the key id and never its hash', async () => {
    const item = {
      keyHash: 'h'.repeat(64),
      keyId: 'key_bad',
      accountId: 'acme',
      createdAt: '2026-01-01T00:00:00.000Z',
      prefix: 'tg_abc',
      rpm: -3,
    };
    await putRaw(db.tables.keys, item);
    const read = db.stores.keys.get(item.keyHash);
    await expect(read).rejects.toThrow(/Key 'key_bad' is malformed: rpm/);
    await expect(read).rejects.not.toThrow(item.keyHash);
  });
});
