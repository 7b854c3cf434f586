import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteCommand, type DynamoDBDocumentClient, PutCommand } from './sdk/lib-dynamodb.ts';

/** BatchWriteItem's limit. */
const MAX_BATCH = 25;
/**
 * Writes in flight at once. The second starts only when a whole batch waits: while one write is out,
 * the rows that come wait and go out together, so a busy process makes one call per many rows.
 */
const MAX_FLIGHTS = 2;
/** Attempts at items DynamoDB left unprocessed (throttled) before the write fails. */
const UNPROCESSED_ATTEMPTS = 8;

interface Pending {
  item: Record<string, unknown>;
  done: { resolve: () => void; reject: (error: unknown) => void };
}

const keyOf = (item: Record<string, unknown>): string => `${String(item['accountId'])}\u0000${String(item['sk'])}`;

/**
 * Unconditional PutItems of ledger rows into one table, group-committed: a put goes out at once when
 * no write is in flight; otherwise it waits, and the puts that waited go out together as one
 * BatchWriteItem (up to 25 rows) when the flight lands — or at once, in a second flight, when 25
 * are waiting. One request at a time (a Lambda instance) pays one PutItem per row, as before; many
 * at once (one process serving a busy account, `npm start`) pay one call per batch instead of one
 * per row.
 *
 * Only for rows that need no condition: a credit lease's request rows, which their instance alone
 * writes until the lease has expired for the sweeper (gateway/leases.ts).
 */
export class RowWriter {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly waiting: Pending[] = [];
  /** Keys of rows being written now: a later put of one waits, so that the last put is the last written. */
  private readonly writing = new Set<string>();
  private flights = 0;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.client = client;
    this.table = table;
  }

  /** Writes `item` (replacing any row with its key); resolves once DynamoDB has it. */
  put(item: Record<string, unknown>): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiting.push({ item, done: { resolve, reject } });
    this.drain();
    return promise;
  }

  private drain(): void {
    while (
      this.waiting.length > 0 &&
      (this.flights === 0 || (this.flights < MAX_FLIGHTS && this.waiting.length >= MAX_BATCH))
    ) {
      // A row is written by one put at a time, in the order of the puts (DynamoDB also refuses two
      // puts of one row in a batch): a later put of a row being written waits for the next batch.
      const batch: Pending[] = [];
      const keys: string[] = [];
      for (let index = 0; index < this.waiting.length && batch.length < MAX_BATCH; ) {
        const pending = this.waiting[index] as Pending;
        const key = keyOf(pending.item);
        if (this.writing.has(key)) {
          index += 1;
          continue;
        }
        this.writing.add(key);
        keys.push(key);
        batch.push(pending);
        this.waiting.splice(index, 1);
      }
      if (batch.length === 0) return; // every row waiting is being written: the flight's end drains again
      this.flights += 1;
      void this.send(batch).finally(() => {
        for (const key of keys) this.writing.delete(key);
        this.flights -= 1;
        this.drain();
      });
    }
  }

  private async send(batch: Pending[]): Promise<void> {
    try {
      if (batch.length === 1) {
        await this.client.send(new PutCommand({ TableName: this.table, Item: (batch[0] as Pending).item }));
      } else {
        let requests = batch.map((pending) => ({ PutRequest: { Item: pending.item } }));
        for (let attempt = 1; requests.length > 0; attempt += 1) {
          if (attempt > UNPROCESSED_ATTEMPTS) throw new Error(`DynamoDB left ${requests.length} rows unwritten`);
          const { UnprocessedItems } = await this.client.send(
            new BatchWriteCommand({ RequestItems: { [this.table]: requests } }),
          );
          requests = (UnprocessedItems?.[this.table] ?? []).flatMap((request) =>
            request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
          );
          if (requests.length > 0) await sleep(Math.random() * Math.min(1_000, 25 * 2 ** attempt));
        }
      }
      for (const pending of batch) pending.done.resolve();
    } catch (error) {
      for (const pending of batch) pending.done.reject(error);
    }
  }
}
