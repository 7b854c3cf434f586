import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AttributeValue, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER_PENDING_INDEX, type TableNames } from '../../lib/tables.ts';
import type { LedgerRow, UsageRow, Wallet } from '../vocabulary.ts';

export class AccountExistsError extends Error {}
export class UnknownAccountError extends Error {}
export class TopUpConflictError extends Error {}

/** A hold the wallet cannot cover; carries the wallet as it was, for the 402 message. */
export class InsufficientFundsError extends Error {
  readonly wallet: Wallet;
  constructor(wallet: Wallet) {
    super(`Insufficient balance in account '${wallet.accountId}'`);
    this.wallet = wallet;
  }
}

export interface TopUpResult {
  topUpId: string;
  amount: number;
  /** False when this id had already been credited: nothing changed. */
  applied: boolean;
}

/** What a settle writes onto a pending usage row. */
export type Settlement = Required<Pick<UsageRow, 'cost' | 'outcome'>> &
  Pick<UsageRow, 'usage' | 'rawUsage' | 'estimated' | 'fallbackFrom'> &
  /** Set when a fallback route answered: the row records the route that was billed. */
  Partial<Pick<UsageRow, 'model' | 'provider' | 'upstreamModel' | 'prices'>>;

export interface LedgerPage {
  rows: LedgerRow[];
  /** Pass back as `cursor` for the next (older) page. */
  nextCursor?: string;
}

const PENDING = 'hold';
const TRANSACT_ATTEMPTS = 30;

/** Ledger sort keys of real rows start with the ISO time; guard rows (`idem#…`) sort after '9'. */
const LEDGER_MIN_SK = '0';
const LEDGER_MAX_SK = '9~';

const conditionFailed = (error: TransactionCanceledException, index: number): boolean =>
  error.CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed';

const isConflict = (error: unknown): boolean =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict');

/**
 * Wallets (one row per account) and the ledger rows that move them. Every change of a balance is
 * one DynamoDB transaction with its ledger row, so `tollgate audit` can always recompute it:
 * balance = Σ top-ups − Σ settled costs − Σ open holds.
 */
export class WalletStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tables: Pick<TableNames, 'wallets' | 'ledger'>;

  constructor(client: DynamoDBDocumentClient, tables: Pick<TableNames, 'wallets' | 'ledger'>) {
    this.client = client;
    this.tables = tables;
  }

  /**
   * Transactions on one hot wallet conflict under concurrency (DynamoDB cancels one of two
   * transactions touching an item at once); those are retried with jitter, never reported as
   * a business outcome.
   */
  private async transact(input: TransactWriteCommandInput): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new TransactWriteCommand(input));
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= TRANSACT_ATTEMPTS) throw error;
        await sleep(Math.random() * Math.min(250, 5 * 2 ** attempt));
      }
    }
  }

  async get(accountId: string): Promise<Wallet | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tables.wallets, Key: { accountId }, ConsistentRead: true }),
    );
    return Item as Wallet | undefined;
  }

  async create(accountId: string, at = new Date()): Promise<Wallet> {
    const wallet: Wallet = { accountId, balance: 0, creditLimit: 0, spendable: 0, createdAt: at.toISOString() };
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
      await this.transact({
        TransactItems: [
          {
            Update: {
              TableName: this.tables.wallets,
              Key: { accountId },
              UpdateExpression: 'SET balance = balance + :a, spendable = spendable + :a, updatedAt = :t',
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
      });
      return { topUpId, amount, applied: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      if (conditionFailed(error, 0)) throw new UnknownAccountError(`Unknown account '${accountId}'`);
      if (conditionFailed(error, 1)) {
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

  /** Sets how far below zero the account may go; `spendable` moves by the same difference. */
  async setCreditLimit(accountId: string, creditLimit: number, at = new Date()): Promise<Wallet> {
    if (!Number.isSafeInteger(creditLimit) || creditLimit < 0) throw new RangeError('A credit limit is ≥ 0');
    for (;;) {
      const wallet = await this.get(accountId);
      if (!wallet) throw new UnknownAccountError(`Unknown account '${accountId}'`);
      try {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tables.wallets,
            Key: { accountId },
            UpdateExpression: 'SET creditLimit = :new, spendable = spendable + :diff, updatedAt = :t',
            ConditionExpression: 'creditLimit = :old',
            ExpressionAttributeValues: {
              ':new': creditLimit,
              ':old': wallet.creditLimit,
              ':diff': creditLimit - wallet.creditLimit,
              ':t': at.toISOString(),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Attributes as Wallet;
      } catch (error) {
        // Another change of the limit won the race: read again and retry.
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
  }

  /** Sets the account's discount in parts per million of list price (1_000_000 = none). */
  async setDiscount(accountId: string, discountPpm: number, at = new Date()): Promise<Wallet> {
    if (!Number.isSafeInteger(discountPpm) || discountPpm < 0 || discountPpm > 1_000_000) {
      throw new RangeError('A discount is a fraction of list price between 0 and 1');
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tables.wallets,
          Key: { accountId },
          UpdateExpression: 'SET discountPpm = :d, updatedAt = :t',
          ConditionExpression: 'attribute_exists(accountId)',
          ExpressionAttributeValues: { ':d': discountPpm, ':t': at.toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as Wallet;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new UnknownAccountError(`Unknown account '${accountId}'`);
      }
      throw error;
    }
  }

  /**
   * Holds `row.hold` nano-USD for one request: the conditional wallet decrement
   * (`spendable >= hold`) and the pending ledger row commit together or not at all.
   * Throws {@link InsufficientFundsError} with the wallet as it was when it cannot cover it.
   */
  async hold(row: UsageRow): Promise<void> {
    const pendingRow: UsageRow = { ...row, status: 'pending', pending: PENDING, pendingSince: row.at };
    try {
      await this.transact({
        TransactItems: [
          {
            Update: {
              TableName: this.tables.wallets,
              Key: { accountId: row.accountId },
              UpdateExpression: 'SET balance = balance - :h, spendable = spendable - :h',
              ConditionExpression: 'attribute_exists(accountId) AND spendable >= :h',
              ExpressionAttributeValues: { ':h': row.hold },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Put: {
              TableName: this.tables.ledger,
              Item: pendingRow,
              ConditionExpression: 'attribute_not_exists(sk)',
            },
          },
        ],
      });
    } catch (error) {
      if (error instanceof TransactionCanceledException && conditionFailed(error, 0)) {
        const item = error.CancellationReasons?.[0]?.Item;
        if (!item) throw new UnknownAccountError(`Unknown account '${row.accountId}'`);
        throw new InsufficientFundsError(unmarshall(item as Record<string, AttributeValue>) as Wallet);
      }
      throw error;
    }
  }

  /**
   * Turns a pending row final and gives back `hold − cost` (negative when the usage cost more than
   * the estimate held). Idempotent: a row already final changes nothing and answers false.
   */
  async settle(
    row: Pick<UsageRow, 'accountId' | 'sk' | 'hold'>,
    settlement: Settlement,
    at = new Date(),
  ): Promise<boolean> {
    const refund = row.hold - settlement.cost;
    // Every name through a placeholder: several (usage, status…) are DynamoDB reserved words.
    const fields: Record<string, unknown> = {
      status: 'final',
      cost: settlement.cost,
      outcome: settlement.outcome,
      settledAt: at.toISOString(),
      usage: settlement.usage,
      rawUsage: settlement.rawUsage,
      estimated: settlement.estimated,
      fallbackFrom: settlement.fallbackFrom,
      model: settlement.model,
      provider: settlement.provider,
      upstreamModel: settlement.upstreamModel,
      prices: settlement.prices,
    };
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':pending': 'pending' };
    const sets: string[] = [];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    try {
      await this.transact({
        TransactItems: [
          {
            Update: {
              TableName: this.tables.ledger,
              Key: { accountId: row.accountId, sk: row.sk },
              UpdateExpression: `SET ${sets.join(', ')} REMOVE pending, pendingSince`,
              ConditionExpression: '#status = :pending',
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
            },
          },
          {
            Update: {
              TableName: this.tables.wallets,
              Key: { accountId: row.accountId },
              UpdateExpression: 'SET balance = balance + :r, spendable = spendable + :r, updatedAt = :at',
              ExpressionAttributeValues: { ':r': refund, ':at': at.toISOString() },
            },
          },
        ],
      });
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && conditionFailed(error, 0)) return false;
      throw error;
    }
  }

  /** The account's ledger, newest first, optionally only rows at or after `since` (ISO time). */
  async ledger(
    accountId: string,
    { limit = 50, cursor, since }: { limit?: number; cursor?: string; since?: string } = {},
  ): Promise<LedgerPage> {
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tables.ledger,
        KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':a': accountId, ':from': since ?? LEDGER_MIN_SK, ':to': LEDGER_MAX_SK },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
        ...(cursor ? { ExclusiveStartKey: { accountId, sk: cursor } } : {}),
      }),
    );
    const page: LedgerPage = { rows: (Items ?? []) as LedgerRow[] };
    const next = LastEvaluatedKey?.sk;
    if (typeof next === 'string') page.nextCursor = next;
    return page;
  }

  /** Every ledger row of the account, oldest first (for audits). */
  async allLedgerRows(accountId: string): Promise<LedgerRow[]> {
    const rows: LedgerRow[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tables.ledger,
          KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':a': accountId, ':from': LEDGER_MIN_SK, ':to': LEDGER_MAX_SK },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      rows.push(...((page.Items ?? []) as LedgerRow[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return rows;
  }

  /** Holds still pending since before `before` (ISO time), oldest first: what the sweeper releases. */
  async pendingHolds(before: string, limit = 100): Promise<UsageRow[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tables.ledger,
        IndexName: LEDGER_PENDING_INDEX,
        KeyConditionExpression: 'pending = :p AND pendingSince < :before',
        ExpressionAttributeValues: { ':p': PENDING, ':before': before },
        Limit: limit,
      }),
    );
    return (Items ?? []) as UsageRow[];
  }
}
