import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

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
}
