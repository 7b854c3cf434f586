import { KEYS_BY_ACCOUNT_INDEX, KEYS_BY_KEY_ID_INDEX } from '../../lib/tables.ts';
import type { KeyRecord } from '../vocabulary.ts';
import { parseKey } from './records.ts';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from './sdk/lib-dynamodb.ts';

/** The fields of a key an operator may change after minting it. */
export type KeyChangeField = 'name' | 'models' | 'expiresAt' | 'rpm' | 'tpm' | 'spendLimit' | 'limitReset';

/** New values for some of a key's fields; `null` removes the field (no limit, every model, no expiry). */
export type KeyChanges = { [Field in KeyChangeField]?: NonNullable<KeyRecord[Field]> | null };

/** The write's condition: the row exists and, when `accountId` is given, belongs to that account. */
const ownerCondition = (accountId: string | undefined): { condition: string; values: Record<string, string> } =>
  accountId === undefined
    ? { condition: 'attribute_exists(keyHash)', values: {} }
    : { condition: 'attribute_exists(keyHash) AND accountId = :owner', values: { ':owner': accountId } };

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
    return Item === undefined ? undefined : parseKey(Item);
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
      items.push(...(page.Items ?? []).map(parseKey));
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
    const [item] = Items ?? [];
    return item === undefined ? undefined : parseKey(item);
  }

  /**
   * Marks the key revoked; returns the updated record, or undefined if no key has that id (or, with
   * `accountId`, none of that account's: the condition is part of the write, so a key that is not
   * the account's is never touched, whatever happened since the lookup).
   */
  async revoke(keyId: string, at = new Date(), accountId?: string): Promise<KeyRecord | undefined> {
    const key = await this.findByKeyId(keyId);
    if (!key || (accountId !== undefined && key.accountId !== accountId)) return undefined;
    if (key.revokedAt) return key;
    const owner = ownerCondition(accountId);
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { keyHash: key.keyHash },
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :t)',
          ConditionExpression: owner.condition,
          ExpressionAttributeValues: { ':t': at.toISOString(), ...owner.values },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseKey(Attributes);
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  /**
   * Sets and removes fields of the key with this id in one conditional update; returns the updated
   * record, or undefined if no key has that id (or, with `accountId`, none of that account's; the
   * condition is part of the write).
   *
   * @example await keys.update('key_0123456789abcdef', { rpm: 60, tpm: null }) // 60 requests a minute, no token limit
   */
  async update(keyId: string, changes: KeyChanges, accountId?: string): Promise<KeyRecord | undefined> {
    const key = await this.findByKeyId(keyId);
    if (!key || (accountId !== undefined && key.accountId !== accountId)) return undefined;
    const fields = (Object.keys(changes) as KeyChangeField[]).filter((field) => changes[field] !== undefined);
    if (fields.length === 0) return key;
    const owner = ownerCondition(accountId);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ...owner.values };
    const set: string[] = [];
    const remove: string[] = [];
    for (const field of fields) {
      names[`#${field}`] = field;
      const value = changes[field];
      if (value === null) {
        remove.push(`#${field}`);
      } else {
        values[`:${field}`] = value;
        set.push(`#${field} = :${field}`);
      }
    }
    const expression = [
      set.length > 0 ? `SET ${set.join(', ')}` : '',
      remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { keyHash: key.keyHash },
          UpdateExpression: expression,
          // Without it an update would create a stray row for a key removed since the lookup.
          ConditionExpression: owner.condition,
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseKey(Attributes);
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }
}
