import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { RowWriter } from '../../lambdas/store/row-writer.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

/** The calls the document client makes, by operation, with how many rows each wrote. */
const recordCalls = (db: TestDatabase) => {
  const calls: { op: string; rows: number }[] = [];
  db.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = (args as { input?: { RequestItems?: Record<string, unknown[]> } }).input;
      const rows = input?.RequestItems ? Object.values(input.RequestItems).flat().length : 1;
      calls.push({ op: context.commandName?.replace(/Command$/, '') ?? 'unknown', rows });
      return next(args);
    },
    { step: 'initialize', name: 'rowWriterTestCounter' },
  );
  return calls;
};

const row = (accountId: string, index: number, cost = index) => ({
  accountId,
  sk: `2026-12-03T10:00:00.${String(index).padStart(6, '0')}Z#req-${index}`,
  kind: 'usage',
  cost,
});

const stored = async (db: TestDatabase, accountId: string) => {
  const { Items = [] } = await db.client.send(
    new QueryCommand({
      TableName: db.tables.ledger,
      KeyConditionExpression: 'accountId = :a',
      ExpressionAttributeValues: { ':a': accountId },
    }),
  );
  return Items;
};

describe('RowWriter', () => {
  let db: TestDatabase;
  let calls: { op: string; rows: number }[];
  beforeAll(async () => {
    db = await createTestDatabase();
    calls = recordCalls(db);
  });

  it('writes a lone row with one PutItem', async () => {
    calls.length = 0;
    const writer = new RowWriter(db.client, db.tables.ledger);

    await writer.put(row('lone', 1));

    expect(calls).toEqual([{ op: 'PutItem', rows: 1 }]);
    expect(await stored(db, 'lone')).toEqual([row('lone', 1)]);
  });

  it('sends the rows that came while a write was out as one batch, and a second flight only for a full batch', async () => {
    calls.length = 0;
    const writer = new RowWriter(db.client, db.tables.ledger);

    // 1 goes out alone; the next 60 wait: two full batches may fly beside it, the rest after it
    const puts = Array.from({ length: 61 }, (_, index) => writer.put(row('busy', index)));
    await Promise.all(puts);

    expect(calls[0]).toEqual({ op: 'PutItem', rows: 1 });
    expect(calls.slice(1).every((call) => call.op === 'BatchWriteItem')).toBe(true);
    expect(calls.reduce((sum, call) => sum + call.rows, 0)).toBe(61);
    expect(calls.length).toBeLessThanOrEqual(4); // 1 + 25 + 25 + 10: never a call per row
    expect((await stored(db, 'busy')).map((item) => item['cost'])).toEqual(Array.from({ length: 61 }, (_, i) => i));
  });

  it('writes two puts of one row in their order: the later one is what stays', async () => {
    calls.length = 0;
    const writer = new RowWriter(db.client, db.tables.ledger);

    const first = writer.put(row('twice', 1, 100)); // out at once
    const others = [writer.put(row('twice', 2)), writer.put(row('twice', 1, 200))]; // wait: row 1 is being written
    await Promise.all([first, ...others]);
    const ops = calls.map((call) => call.op);

    const { Item } = await db.client.send(
      new GetCommand({ TableName: db.tables.ledger, Key: { accountId: 'twice', sk: row('twice', 1).sk } }),
    );
    expect(Item?.['cost']).toBe(200);
    expect(ops).toEqual(['PutItem', 'BatchWriteItem']);
  });

  it('rejects the puts of a batch DynamoDB refuses, and goes on writing the next', async () => {
    const writer = new RowWriter(db.client, db.tables.ledger);
    const bad = { accountId: 'refused', sk: 42 }; // the sort key is a string: DynamoDB refuses the item

    const outcomes = await Promise.allSettled([writer.put(row('refused', 1)), writer.put(bad), writer.put(bad)]);
    await writer.put(row('refused', 3));

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((await stored(db, 'refused')).map((item) => item['sk'])).toEqual([
      row('refused', 1).sk,
      row('refused', 3).sk,
    ]);
  });
});
