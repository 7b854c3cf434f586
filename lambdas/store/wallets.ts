import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import type { Wallet } from '../gateway/model.ts';

export class AccountExistsError extends Error {}
export class UnknownAccountError extends Error {}
export class TopUpConflictError extends Error {}

export interface TopUpResult {
  topUpId: string;
  amount: number;
  /** False when this id had already been credited: nothing changed. */
  applied: boolean;
}

/** Wallets (one row per account) and the ledger rows that move them. */
export class WalletStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tables: Pick<TableNames, 'wallets' | 'ledger'>;

  constructor(client: DynamoDBDocumentClient, tables: Pick<TableNames, 'wallets' | 'ledger'>) {
    this.client = client;
    this.tables = tables;
  }

  async get(accountId: string): Promise<Wallet | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tables.wallets, Key: { accountId }, ConsistentRead: true }),
    );
    return Item as Wallet | undefined;
  }

  async create(accountId: string, at = new Date()): Promise<Wallet> {
    const wallet: Wallet = { accountId, balance: 0, creditLimit: 0, createdAt: at.toISOString() };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tables.wallets,
          Item: wallet,
          ConditionExpression: 'attribute_not_exists(accountId)',
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new AccountExistsError(`Account '${accountId}' already exists`);
      }
      throw error;
    }
    return wallet;
  }

  /**
   * Credits `amount` nano-USD once per `topUpId`: the wallet increment, a guard row for the id and
   * the ledger row commit in one transaction. The same id again changes nothing; the same id with
   * another amount is refused.
   */
  async topUp(
    accountId: string,
    amount: number,
    topUpId: string = randomUUID(),
    at = new Date(),
  ): Promise<TopUpResult> {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError('A top-up must be a positive amount');
    const time = at.toISOString();
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.wallets,
                Key: { accountId },
                UpdateExpression: 'SET balance = balance + :a, updatedAt = :t',
                ConditionExpression: 'attribute_exists(accountId)',
                ExpressionAttributeValues: { ':a': amount, ':t': time },
              },
            },
            {
              Put: {
                TableName: this.tables.ledger,
                Item: { accountId, sk: `idem#topup#${topUpId}`, kind: 'topup_guard', amount, at: time },
                ConditionExpression: 'attribute_not_exists(sk)',
              },
            },
            {
              Put: {
                TableName: this.tables.ledger,
                Item: { accountId, sk: `${time}#topup#${topUpId}`, kind: 'topup', topUpId, amount, at: time },
              },
            },
          ],
        }),
      );
      return { topUpId, amount, applied: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [walletReason, guardReason] = error.CancellationReasons ?? [];
      if (walletReason?.Code === 'ConditionalCheckFailed') {
        throw new UnknownAccountError(`Unknown account '${accountId}'`);
      }
      if (guardReason?.Code === 'ConditionalCheckFailed') {
        const { Item } = await this.client.send(
          new GetCommand({
            TableName: this.tables.ledger,
            Key: { accountId, sk: `idem#topup#${topUpId}` },
            ConsistentRead: true,
          }),
        );
        if (Item?.amount !== amount) {
          throw new TopUpConflictError(
            `Top-up id '${topUpId}' was already used for a different amount; use a new --id`,
          );
        }
        return { topUpId, amount, applied: false };
      }
      throw error;
    }
  }
}
