import { type DynamoDBDocumentClient, UpdateCommand } from './sdk/lib-dynamodb.ts';

export interface WindowCount {
  requests: number;
  tokens: number;
}

/** Rows outlive their minute by this much before DynamoDB's TTL deletes them. */
const KEEP_SECONDS = 300;

/**
 * Per-key, per-minute counters for rate limits: one atomic `ADD` per request, so every Lambda
 * instance shares one limit without coordination.
 */
export class CounterStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.client = client;
    this.table = table;
  }

  private async add(
    keyId: string,
    windowStart: number,
    field: 'requests' | 'tokens',
    amount: number,
  ): Promise<WindowCount> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { counter: `${keyId}#${windowStart}` },
        UpdateExpression: 'ADD #field :n SET expiresAt = if_not_exists(expiresAt, :expires)',
        ExpressionAttributeNames: { '#field': field },
        ExpressionAttributeValues: { ':n': amount, ':expires': Math.floor(windowStart / 1000) + KEEP_SECONDS },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { requests: Number(Attributes?.['requests'] ?? 0), tokens: Number(Attributes?.['tokens'] ?? 0) };
  }

  /** Counts one request in the window and returns the window's totals after it. */
  countRequest(keyId: string, windowStart: number): Promise<WindowCount> {
    return this.add(keyId, windowStart, 'requests', 1);
  }

  /** Adds a settled request's tokens to the window it started in. */
  async countTokens(keyId: string, windowStart: number, tokens: number): Promise<void> {
    if (tokens > 0) await this.add(keyId, windowStart, 'tokens', tokens);
  }

  /**
   * Counts one event against `name` in the fixed window of `windowMs` that `now` falls in, and
   * returns the window's count after it. The row outlives its window a little, then TTL removes it.
   *
   * @example await counters.countEvent('signin-ip#203.0.113.9', 15 * 60_000) // 3
   */
  async countEvent(name: string, windowMs: number, now = Date.now()): Promise<number> {
    const windowStart = now - (now % windowMs);
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { counter: `${name}#${windowStart}` },
        UpdateExpression: 'ADD requests :one SET expiresAt = if_not_exists(expiresAt, :expires)',
        ExpressionAttributeValues: {
          ':one': 1,
          ':expires': Math.floor((windowStart + windowMs) / 1000) + KEEP_SECONDS,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(Attributes?.['requests'] ?? 0);
  }
}
