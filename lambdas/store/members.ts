import { MEMBERS_BY_ACCOUNT_INDEX } from '../../lib/tables.ts';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from './sdk/lib-dynamodb.ts';

/** Someone who may sign in to the console for an account. */
export interface Member {
  /** Normalized: trimmed, lower case. */
  email: string;
  accountId: string;
  addedAt: string;
}

const member = (item: Record<string, unknown>): Member => ({
  email: String(item['email']),
  accountId: String(item['accountId']),
  addedAt: String(item['addedAt']),
});

/**
 * The members table: one row per (e-mail, account). Read by e-mail at sign-in (which accounts may
 * this person open) and by account for `tollgate members list`.
 */
export class MemberStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.client = client;
    this.table = table;
  }

  /** Adds the member; false when they already were one (nothing changes). */
  async add(entry: Member): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.table, Item: entry, ConditionExpression: 'attribute_not_exists(email)' }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Removes the member; false when there was none. */
  async remove(accountId: string, email: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.table, Key: { email, accountId }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async get(email: string, accountId: string): Promise<Member | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { email, accountId }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : member(Item);
  }

  /** The accounts this e-mail may open, by account id. */
  async accountsOf(email: string): Promise<Member[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'email = :e',
        ExpressionAttributeValues: { ':e': email },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map(member);
  }

  /** The account's members, by e-mail. */
  async listByAccount(accountId: string): Promise<Member[]> {
    const items: Member[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: MEMBERS_BY_ACCOUNT_INDEX,
          KeyConditionExpression: 'accountId = :a',
          ExpressionAttributeValues: { ':a': accountId },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []).map(member));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
