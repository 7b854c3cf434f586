import { CODES_BY_CODE_ID_INDEX } from '../../lib/tables.ts';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from './sdk/lib-dynamodb.ts';
import type { TopUpCondition } from './wallets.ts';

export type CodeStatus = 'active' | 'redeemed' | 'revoked';

/** A redemption code as stored: its hash, never the code. */
export interface CodeRecord {
  /** SHA-256 (hex) of the normalised code. */
  codeHash: string;
  /** Its short public name, e.g. `code_3f9a0c12d4e5b6a7`. */
  codeId: string;
  /** The code's last four characters, so an operator can tell which one a customer holds. */
  last4: string;
  batchId: string;
  /** What it credits, nano-USD. */
  amount: number;
  createdAt: string;
  expiresAt?: string;
  note?: string;
  status: CodeStatus;
  redeemedBy?: string;
  redeemedAt?: string;
  revokedAt?: string;
}

/** A stored item as a {@link CodeRecord}; amounts are whole nano-USD within the top-up limit. */
export const codeRecord = (item: Record<string, unknown>): CodeRecord => {
  const amount = Number(item['amount']);
  if (!Number.isSafeInteger(amount)) throw new RangeError(`Code ${String(item['codeId'])} has a corrupt amount`);
  const optional = (name: keyof CodeRecord) =>
    typeof item[name] === 'string' ? { [name]: item[name] as string } : undefined;
  return {
    codeHash: String(item['codeHash']),
    codeId: String(item['codeId']),
    last4: String(item['last4']),
    batchId: String(item['batchId']),
    amount,
    createdAt: String(item['createdAt']),
    status: String(item['status']) as CodeStatus,
    ...optional('expiresAt'),
    ...optional('note'),
    ...optional('redeemedBy'),
    ...optional('redeemedAt'),
    ...optional('revokedAt'),
  };
};

/**
 * The codes table: one row per redemption code, keyed by the hash of the code. Codes are created
 * and revoked by the operator (CLI); the console redeems one as part of a wallet top-up
 * ({@link CodeStore.redeemItem}).
 */
export class CodeStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.client = client;
    this.table = table;
  }

  /** Stores a new code; false when its hash is already there (nothing written). */
  async create(code: CodeRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.table, Item: code, ConditionExpression: 'attribute_not_exists(codeHash)' }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async get(codeHash: string): Promise<CodeRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { codeHash }, ConsistentRead: true }),
    );
    return Item ? codeRecord(Item) : undefined;
  }

  async getById(codeId: string): Promise<CodeRecord | undefined> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: CODES_BY_CODE_ID_INDEX,
        KeyConditionExpression: 'codeId = :id',
        ExpressionAttributeValues: { ':id': codeId },
      }),
    );
    const [item] = Items ?? [];
    return item ? codeRecord(item) : undefined;
  }

  /** Every code (of one batch when given), oldest first. A scan: for the operator's CLI only. */
  async list(batchId?: string): Promise<CodeRecord[]> {
    const codes: CodeRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          ExclusiveStartKey: start,
          ...(batchId !== undefined && {
            FilterExpression: 'batchId = :b',
            ExpressionAttributeValues: { ':b': batchId },
          }),
        }),
      );
      codes.push(...(page.Items ?? []).map(codeRecord));
      start = page.LastEvaluatedKey;
    } while (start);
    return codes.sort((a, b) =>
      a.createdAt === b.createdAt ? (a.codeId < b.codeId ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1,
    );
  }

  /** Revokes an active code; false when it is not active (redeemed or revoked already). */
  async revoke(codeHash: string, at: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { codeHash },
          UpdateExpression: 'SET #status = :revoked, revokedAt = :at',
          ConditionExpression: '#status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':revoked': 'revoked', ':active': 'active', ':at': at.toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * The transaction item that redeems `code` for `accountId` at `at`: active → redeemed, only while
   * it is active, unexpired and for the amount credited. Given to `WalletStore.topUp`, so the code
   * is spent and the wallet credited together or not at all.
   */
  redeemItem(code: Pick<CodeRecord, 'codeHash' | 'amount'>, accountId: string, at: Date): TopUpCondition {
    return {
      Update: {
        TableName: this.table,
        Key: { codeHash: code.codeHash },
        UpdateExpression: 'SET #status = :redeemed, redeemedBy = :account, redeemedAt = :at',
        ConditionExpression:
          '#status = :active AND #amount = :amount AND (attribute_not_exists(expiresAt) OR expiresAt > :at)',
        ExpressionAttributeNames: { '#status': 'status', '#amount': 'amount' },
        ExpressionAttributeValues: {
          ':redeemed': 'redeemed',
          ':active': 'active',
          ':account': accountId,
          ':amount': code.amount,
          ':at': at.toISOString(),
        },
      },
    };
  }
}
