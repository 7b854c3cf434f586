import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { KEYS_BY_ACCOUNT_INDEX, KEYS_BY_KEY_ID_INDEX } from '../../lib/tables.ts';
import type { KeyRecord } from '../gateway/model.ts';

/** The keys table: one row per key, addressed by the SHA-256 of its secret. */
export class KeyStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.client = client;
    this.table = table;
  }

  async get(keyHash: string): Promise<KeyRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.table, Key: { keyHash } }));
    return Item as KeyRecord | undefined;
  }

  async put(key: KeyRecord): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: key, ConditionExpression: 'attribute_not_exists(keyHash)' }),
    );
  }

  async listByAccount(accountId: string): Promise<KeyRecord[]> {
    const items: KeyRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: KEYS_BY_ACCOUNT_INDEX,
          KeyConditionExpression: 'accountId = :a',
          ExpressionAttributeValues: { ':a': accountId },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((page.Items ?? []) as KeyRecord[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async findByKeyId(keyId: string): Promise<KeyRecord | undefined> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: KEYS_BY_KEY_ID_INDEX,
        KeyConditionExpression: 'keyId = :k',
        ExpressionAttributeValues: { ':k': keyId },
      }),
    );
    return Items?.[0] as KeyRecord | undefined;
  }

  /** Marks the key revoked; returns the updated record, or undefined if no key has that id. */
  async revoke(keyId: string, at = new Date()): Promise<KeyRecord | undefined> {
    const key = await this.findByKeyId(keyId);
    if (!key) return undefined;
    if (key.revokedAt) return key;
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { keyHash: key.keyHash },
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :t)',
        ExpressionAttributeValues: { ':t': at.toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes as KeyRecord;
  }
}
