import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttributeValue,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactionCanceledException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LEDGER_PENDING_INDEX, type TableNames } from '../../lib/tables.ts';
import {
  type AdjustmentPayment,
  type LeaseRow,
  type LedgerRow,
  MAX_BALANCE_NANO,
  MAX_CREDIT_LIMIT_NANO,
  MAX_TOP_UP_NANO,
  type TopUpPayment,
  type UsageRow,
  type Wallet,
} from '../vocabulary.ts';
import { safeInteger, unmarshallExact } from './client.ts';
import { RowWriter } from './row-writer.ts';
import {
  CorruptRecordError,
  parseLedgerRow,
  parseUsageItem,
  parseWalletItem,
  usd,
  type WalletItem,
} from './wallet-rows.ts';

export { CorruptRecordError, UnsafeAmountError } from './wallet-rows.ts';

export class AccountExistsError extends Error {}
export class UnknownAccountError extends Error {}
export class TopUpConflictError extends Error {}

/**
 * The extra item given to {@link WalletStore.topUp} failed its condition: nothing was credited.
 * `item` is that item as it was (DynamoDB's `ALL_OLD`), undefined when it did not exist.
 */
export class TopUpConditionError extends Error {
  readonly item: Record<string, unknown> | undefined;
  constructor(item: Record<string, unknown> | undefined) {
    super("The top-up's condition failed; nothing was credited");
    this.item = item;
  }
}

/** One more item of a top-up's transaction: an Update or ConditionCheck whose condition must hold. */
export type TopUpCondition = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** An amount the money limits (`MAX_*_NANO` in vocabulary.ts) refuse; nothing was written. */
export class MoneyLimitError extends RangeError {}

/** One top-up above {@link MAX_TOP_UP_NANO}. */
export class TopUpTooLargeError extends MoneyLimitError {
  constructor(amount: number) {
    super(
      `A top-up of ${usd(amount)} is more than the maximum of ${usd(MAX_TOP_UP_NANO)} for one top-up; ` +
        `split it into several (a wallet may hold at most ${usd(MAX_BALANCE_NANO)})`,
    );
  }
}

/** A top-up that would carry the wallet past {@link MAX_BALANCE_NANO} (counting money held by requests in flight). */
export class BalanceCeilingError extends MoneyLimitError {
  readonly accountId: string;
  readonly balance: number;
  readonly held: number;
  readonly amount: number;
  constructor(accountId: string, balance: number, held: number, amount: number) {
    const inFlight = held > 0 ? ` with ${usd(held)} held by requests in flight` : '';
    super(
      `Top-up refused: account '${accountId}' may hold at most ${usd(MAX_BALANCE_NANO)}, and its balance is ` +
        `${usd(balance)}${inFlight}; at most ${usd(Math.max(0, MAX_BALANCE_NANO - balance - held))} more can be added.`,
    );
    this.accountId = accountId;
    this.balance = balance;
    this.held = held;
    this.amount = amount;
  }
}

/** A credit limit above {@link MAX_CREDIT_LIMIT_NANO}. */
export class CreditLimitTooLargeError extends MoneyLimitError {
  constructor(accountId: string, creditLimit: number) {
    super(
      `A credit limit of ${usd(creditLimit)} for account '${accountId}' is more than the maximum of ` +
        `${usd(MAX_CREDIT_LIMIT_NANO)}`,
    );
  }
}

/** A hold the wallet cannot cover; carries the wallet as it was, for the 402 message. */
export class InsufficientFundsError extends Error {
  readonly wallet: Wallet;
  constructor(wallet: Wallet) {
    super(`Insufficient balance in account '${wallet.accountId}'`);
    this.wallet = wallet;
  }
}

/** A key's spend in one period of its limit: `used = spent + held`, in nano-USD. */
export interface KeySpend {
  /** Settled costs of requests held in the period (those from before the limit counted included). */
  spent: number;
  /** Holds of the period's requests still open. */
  held: number;
  used: number;
}

/** What a hold of a key with a spend limit must fit in (see {@link WalletStore.hold}). */
export interface KeyBudgetHold {
  /** The most `used` may be before this hold: the limit less the hold; negative when the hold alone is over. */
  room: number;
}

/** A hold the key's spend limit cannot cover; carries the key's spend row as it was (undefined: the hold alone is over). */
export class KeyLimitError extends Error {
  readonly spend: KeySpend | undefined;
  constructor(spend: KeySpend | undefined) {
    super('The hold would take the key past its spend limit');
    this.spend = spend;
  }
}

/** What {@link WalletStore.takeBack} takes back. */
export interface TakeBack {
  /** Names what is taken back, once: e.g. `stripe-refund-ch_…`. */
  guardId: string;
  /** nano-USD taken back under this guard in all, so far (Stripe's `amount_refunded` is cumulative). */
  total: number;
  reason: string;
  payment?: AdjustmentPayment;
  at?: Date;
}

export interface TakeBackResult {
  adjustmentId: string;
  /** nano-USD moved (negative), 0 when nothing was applied. */
  amount: number;
  /** False when this total (or more) had already been taken back. */
  applied: boolean;
}

export interface TopUpResult {
  topUpId: string;
  amount: number;
  /** False when this id had already been credited: nothing changed. */
  applied: boolean;
}

/** What a settle writes onto a pending usage row. */
export type Settlement = Required<Pick<UsageRow, 'cost' | 'outcome'>> &
  Pick<UsageRow, 'usage' | 'rawUsage' | 'estimated' | 'overrun' | 'fallbackFrom'> &
  /** Set when a fallback route answered: the row records the route that was billed. */
  Partial<Pick<UsageRow, 'model' | 'provider' | 'upstreamModel' | 'prices'>>;

/** Options of {@link WalletStore.settle}. */
export interface SettleOptions {
  /** Whether to look for a low-balance crossing after the settle (default true). */
  checkAlert?: boolean;
}

/** A low-balance alert raised by a settle, waiting for the sweeper to e-mail the account's members. */
export interface PendingAlert {
  accountId: string;
  /** `alert#<raisedAt>#…` in the ledger table. */
  sk: string;
  /** nano-USD, just after the settle that crossed. */
  balance: number;
  /** nano-USD: the threshold crossed. */
  alertBelow: number;
  raisedAt: string;
  /** Set while a sweeper sends it. */
  claimedAt?: string;
}

export interface LedgerPage {
  rows: LedgerRow[];
  /** Pass back as `cursor` for the next (older) page. */
  nextCursor?: string;
}

/** Which of an account's ledger rows a read covers; every part optional. */
export interface LedgerRange {
  /** ISO time as `toISOString()` writes it: rows at or after it. */
  since?: string;
  /** ISO time as `toISOString()` writes it: rows before it. */
  until?: string;
  /** Only usage rows of this key (top-ups have none). */
  keyId?: string;
  /** Only usage rows billed to this model (the route that answered). */
  model?: string;
}

export interface LedgerPageOptions extends LedgerRange {
  /** Rows wanted (default 50). */
  limit?: number;
  /** The `nextCursor` of the previous page, read with the same range. */
  cursor?: string;
  /** Rows DynamoDB may evaluate for one call (default {@link LEDGER_EVALUATION_BUDGET}). */
  budget?: number;
}

/**
 * At most this many rows are evaluated for one page of a filtered ledger: a key or model that
 * matches few rows costs one bounded read per page, never a scan of the whole ledger.
 */
export const LEDGER_EVALUATION_BUDGET = 5_000;

const PENDING = 'hold';
/** The pending index's partition of open leases, by `holdUntil`. */
const PENDING_LEASE = 'lease';
/** Sort-key prefix of lease rows: after the ledger's real rows ('0'…'9~'), so no ledger read sees them. */
export const LEASE_SK_PREFIX = 'lease#';
/** A request stamped this long before its lease opened may still be held in it (routing before the hold). */
export const LEASE_ROW_SKEW_MS = 5 * 60_000;
/**
 * The sweeper takes a lease this long after its holds may have expired: a settle retries for about a
 * minute when DynamoDB fails (config.ts), and a lease's rows are written unconditionally by its
 * instance until then.
 */
export const LEASE_SWEEP_MARGIN_MS = 3 * 60_000;
/** `kind` of a key's spend row for a period of its limit (`keyspend#…`, outside every ledger read). */
const KEY_SPEND_KIND = 'keyspend';

const parseLeaseRow = (item: Record<string, unknown>, accountId: string): LeaseRow => {
  const sk = String(item['sk']);
  const amount = (field: string): number | undefined => {
    if (item[field] === undefined) return undefined;
    const value = safeInteger(item[field]);
    if (value === undefined) throw new CorruptRecordError(accountId, `lease '${sk}' has no exact ${field}`);
    return value;
  };
  const status = item['status'];
  if (status !== 'open' && status !== 'closed') throw new CorruptRecordError(accountId, `lease '${sk}' has no status`);
  const lease: LeaseRow = {
    accountId,
    sk,
    kind: 'lease',
    amount: amount('amount') ?? 0,
    status,
    openedAt: String(item['openedAt']),
    holdUntil: String(item['holdUntil']),
  };
  const cost = amount('cost');
  if (cost !== undefined) lease.cost = cost;
  if (typeof item['closedAt'] === 'string') lease.closedAt = item['closedAt'];
  return lease;
};

/** Placeholders of a key spend row's attributes (several are DynamoDB reserved words). */
const KEY_SPEND_NAMES = {
  '#used': 'used',
  '#held': 'held',
  '#spent': 'spent',
  '#kind': 'kind',
  '#keyId': 'keyId',
  '#updatedAt': 'updatedAt',
};

const parseKeySpend = (item: Record<string, unknown>, accountId: string): KeySpend => {
  const amount = (field: string): number => {
    const value = safeInteger(item[field] ?? 0);
    if (value === undefined) {
      throw new CorruptRecordError(accountId, `key spend row '${String(item['sk'])}' has no exact ${field}`);
    }
    return value;
  };
  // `baseline` is what the key spent in the period before its limit counted it (restartKeySpend).
  return { spent: amount('baseline') + amount('spent'), held: amount('held'), used: amount('used') };
};
/** The pending index's partition of low-balance alerts waiting for the sweeper. */
const PENDING_ALERT = 'alert';
/** Alert rows sort after the ledger's real rows ('0'…'9~'): no ledger read, listing or audit sees them. */
const ALERT_SK_PREFIX = 'alert#';
const TRANSACT_ATTEMPTS = 30;
/** Reads of a wallet that keeps moving under a top-up, before the top-up gives up. */
const TOP_UP_ATTEMPTS = 30;

/** Ledger sort keys of real rows start with the ISO time; guard rows (`idem#…`) sort after '9'. */
const LEDGER_MIN_SK = '0';
const LEDGER_MAX_SK = '9~';

const conditionFailed = (error: TransactionCanceledException, index: number): boolean =>
  error.CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed';

/** A condition item that returns the item as it was when its condition fails. */
const withOldItem = (item: TopUpCondition): TopUpCondition =>
  item.Update ? { Update: { ReturnValuesOnConditionCheckFailure: 'ALL_OLD', ...item.Update } } : item;

const isConflict = (error: unknown): boolean =>
  error instanceof TransactionCanceledException &&
  (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict');

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * The wallet item of a transaction that takes `amount` for requests in flight (a hold, a lease):
 * the conditional decrement (`spendable >= amount`) that returns the wallet as it was when it fails.
 */
const takeFromWallet = (table: string, accountId: string, amount: number): TransactItem => ({
  Update: {
    TableName: table,
    Key: { accountId },
    UpdateExpression: 'SET balance = balance - :h, spendable = spendable - :h, held = if_not_exists(held, :zero) + :h',
    ConditionExpression: 'attribute_exists(accountId) AND spendable >= :h',
    ExpressionAttributeValues: { ':h': amount, ':zero': 0 },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  },
});

/** The wallet item that ends what {@link takeFromWallet} took: `held` back to the balance, less `cost`. */
const returnToWallet = (table: string, accountId: string, held: number, cost: number, at: Date): TransactItem => ({
  Update: {
    TableName: table,
    Key: { accountId },
    UpdateExpression:
      'SET balance = balance + :r, spendable = spendable + :r, held = if_not_exists(held, :zero) - :h, updatedAt = :at',
    ExpressionAttributeValues: { ':r': held - cost, ':h': held, ':zero': 0, ':at': at.toISOString() },
  },
});

/** {@link InsufficientFundsError} for a transaction whose first item, {@link takeFromWallet}, failed its condition. */
const insufficientFunds = (error: TransactionCanceledException, accountId: string): Error => {
  const item = error.CancellationReasons?.[0]?.Item;
  if (!item) return new UnknownAccountError(`Unknown account '${accountId}'`);
  return new InsufficientFundsError(
    parseWalletItem(unmarshallExact(item as Record<string, AttributeValue>), accountId).wallet,
  );
};

/**
 * Wallets (one row per account) and the ledger rows that move them. Every change of a balance is
 * one DynamoDB transaction with its ledger row, so `tollgate audit` can always recompute it:
 * balance = Σ top-ups − Σ settled costs − Σ open holds.
 *
 * Money stays exact at any size: top-ups and credit limits are bounded by the limits in
 * vocabulary.ts inside the writes themselves, and every read of a wallet or a ledger row goes
 * through a plain DynamoDB command whose numbers are parsed from their exact text (wallet-rows.ts):
 * an amount a JS number cannot hold is an error naming the account, never a rounded number.
 *
 * Besides the {@link Wallet} fields the row keeps `held`, the nano-USD held by requests in flight
 * (Σ open holds): a hold adds to it, a settle takes the hold back off. `balance + held` is what the
 * balance returns to once every hold settles, and that is what the top-up ceiling bounds.
 */
export class WalletStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tables: Pick<TableNames, 'wallets' | 'ledger'>;

  /** Group-commits the rows of requests held in credit leases (row-writer.ts). */
  private readonly leasedRows: RowWriter;

  constructor(client: DynamoDBDocumentClient, tables: Pick<TableNames, 'wallets' | 'ledger'>) {
    this.client = client;
    this.tables = tables;
    this.leasedRows = new RowWriter(client, tables.ledger);
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

  /** The wallet row, parsed from its exact numbers; undefined when the account has none. */
  private async read(accountId: string): Promise<WalletItem | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tables.wallets,
        Key: { accountId: { S: accountId } },
        ConsistentRead: true,
      }),
    );
    return Item ? parseWalletItem(unmarshallExact(Item), accountId) : undefined;
  }

  /**
   * A conditional update of the wallet returning the row as it is then, read from its exact
   * numbers. Throws DynamoDB's ConditionalCheckFailedException when the condition fails.
   */
  private async update(
    accountId: string,
    input: Omit<UpdateItemCommandInput, 'TableName' | 'Key' | 'ExpressionAttributeValues' | 'ReturnValues'>,
    values: Record<string, unknown>,
  ): Promise<Wallet> {
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        ...input,
        TableName: this.tables.wallets,
        Key: { accountId: { S: accountId } },
        ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (!Attributes) throw new UnknownAccountError(`Unknown account '${accountId}'`);
    return parseWalletItem(unmarshallExact(Attributes), accountId).wallet;
  }

  /** Every item a query finds, page after page, unmarshalled exactly. */
  private async queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []).map(unmarshallExact));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * The account's wallet. Throws {@link UnsafeAmountError} (a {@link CorruptRecordError}) when a
   * stored amount is not a whole number of nano-USD a JS number holds exactly.
   */
  async get(accountId: string): Promise<Wallet | undefined> {
    return (await this.read(accountId))?.wallet;
  }

  async create(accountId: string, at = new Date()): Promise<Wallet> {
    const wallet: Wallet = { accountId, balance: 0, creditLimit: 0, spendable: 0, createdAt: at.toISOString() };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tables.wallets,
          Item: { ...wallet, held: 0 },
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
   *
   * Refuses more than {@link MAX_TOP_UP_NANO} at once ({@link TopUpTooLargeError}), and a top-up
   * that would carry `balance + held` past {@link MAX_BALANCE_NANO} ({@link BalanceCeilingError}).
   * The ceiling is a condition of the transaction itself, so top-ups racing each other cannot
   * together pass it: the wallet is read, and the update commits only while `balance` and `held`
   * are still at most what leaves room for this amount (half the spare room each, so ordinary
   * traffic moving them does not force a retry); when they moved further, it reads again.
   *
   * `condition`, when given, is one more item of the same transaction (e.g. a redemption code turned
   * from active to redeemed): the credit commits only with it. When its condition fails, nothing is
   * credited and {@link TopUpConditionError} carries the item as it was (an Update item is given
   * `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'` unless it says otherwise).
   */
  async topUp(
    accountId: string,
    amount: number,
    topUpId: string = randomUUID(),
    at = new Date(),
    payment?: TopUpPayment,
    condition?: TopUpCondition,
  ): Promise<TopUpResult> {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError('A top-up must be a positive amount');
    if (amount > MAX_TOP_UP_NANO) throw new TopUpTooLargeError(amount);
    const time = at.toISOString();
    for (let attempt = 1; ; attempt += 1) {
      const row = await this.read(accountId);
      if (!row) throw new UnknownAccountError(`Unknown account '${accountId}'`);
      const { balance } = row.wallet;
      // Wallets from before `held` was kept count their (brief, small) holds then open as zero.
      const held = Math.max(0, row.held ?? 0);
      const room = MAX_BALANCE_NANO - amount - balance - held;
      if (room < 0) {
        // A retry of a top-up that already landed answers as such, even at the ceiling.
        const earlier = await this.earlierTopUp(accountId, topUpId, amount);
        if (earlier) return earlier;
        throw new BalanceCeilingError(accountId, balance, held, amount);
      }
      const balanceRoom = Math.floor(room / 2);
      try {
        await this.transact({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.wallets,
                Key: { accountId },
                UpdateExpression: 'SET balance = balance + :a, spendable = spendable + :a, updatedAt = :t',
                // balance + held + amount ≤ MAX_BALANCE_NANO, as two bounds a condition can state.
                ConditionExpression:
                  'attribute_exists(accountId) AND balance <= :maxBalance AND ' +
                  '(attribute_not_exists(held) OR held <= :maxHeld)',
                ExpressionAttributeValues: {
                  ':a': amount,
                  ':t': time,
                  ':maxBalance': balance + balanceRoom,
                  ':maxHeld': held + (room - balanceRoom),
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
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
                Item: {
                  accountId,
                  sk: `${time}#topup#${topUpId}`,
                  kind: 'topup',
                  topUpId,
                  amount,
                  at: time,
                  ...(payment && { payment }),
                },
              },
            },
            ...(condition ? [withOldItem(condition)] : []),
          ],
        });
        if (row.wallet.alertBelow !== undefined) await this.rearmAlert(accountId);
        return { topUpId, amount, applied: true };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        // The condition first: a code redeemed twice by one account also trips the guard row.
        if (condition && conditionFailed(error, 3)) {
          const old = error.CancellationReasons?.[3]?.Item;
          throw new TopUpConditionError(old ? unmarshallExact(old as Record<string, AttributeValue>) : undefined);
        }
        if (conditionFailed(error, 1)) {
          const earlier = await this.earlierTopUp(accountId, topUpId, amount);
          if (earlier) return earlier;
        }
        if (conditionFailed(error, 0)) {
          if (!error.CancellationReasons?.[0]?.Item) throw new UnknownAccountError(`Unknown account '${accountId}'`);
          if (attempt < TOP_UP_ATTEMPTS) continue; // the wallet moved since it was read: read it again
          throw new Error(
            `The wallet of account '${accountId}' kept changing during the top-up; nothing was credited. ` +
              'Retry with the same --id.',
          );
        }
        throw error;
      }
    }
  }

  /**
   * The result of a top-up id already credited: `applied: false` for the same amount,
   * {@link TopUpConflictError} for another; undefined when the id is new.
   */
  private async earlierTopUp(accountId: string, topUpId: string, amount: number): Promise<TopUpResult | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tables.ledger,
        Key: { accountId, sk: `idem#topup#${topUpId}` },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    if (Item['amount'] !== amount) {
      throw new TopUpConflictError(`Top-up id '${topUpId}' was already used for a different amount; use a new --id`);
    }
    return { topUpId, amount, applied: false };
  }

  /**
   * Takes money back from a wallet: brings what was taken under `guardId` (a refunded charge, a
   * dispute) up to `total` nano-USD. The wallet decrement by the difference, the guard's new total
   * and the adjustment row (amount negative) commit in one transaction, and may take the balance
   * below zero (the account then gets 402 as usual). A delivery of the same or a smaller total
   * changes nothing (`applied: false`), so retries and out-of-order events take back once; two
   * racing deliveries cannot both move the same guard (its total is a condition).
   */
  async takeBack(
    accountId: string,
    { guardId, total, reason, payment, at = new Date() }: TakeBack,
  ): Promise<TakeBackResult> {
    if (!Number.isSafeInteger(total) || total <= 0) throw new RangeError('A take-back total must be a positive amount');
    const guardKey = { accountId, sk: `idem#adjust#${guardId}` };
    for (let attempt = 1; ; attempt += 1) {
      const { Item: guard } = await this.client.send(
        new GetCommand({ TableName: this.tables.ledger, Key: guardKey, ConsistentRead: true }),
      );
      const before = typeof guard?.['total'] === 'number' ? guard['total'] : 0;
      const adjustmentId = `${guardId}-${total}`;
      if (total <= before) return { adjustmentId, amount: 0, applied: false };
      const debit = total - before;
      if (debit > MAX_TOP_UP_NANO) throw new TopUpTooLargeError(debit);
      const time = at.toISOString();
      try {
        await this.transact({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.wallets,
                Key: { accountId },
                UpdateExpression: 'SET balance = balance - :d, spendable = spendable - :d, updatedAt = :t',
                ConditionExpression: 'attribute_exists(accountId)',
                ExpressionAttributeValues: { ':d': debit, ':t': time },
              },
            },
            {
              Put: {
                TableName: this.tables.ledger,
                Item: { ...guardKey, kind: 'adjustment_guard', total, at: time },
                ConditionExpression: guard ? '#total = :before' : 'attribute_not_exists(sk)',
                ...(guard && {
                  ExpressionAttributeNames: { '#total': 'total' },
                  ExpressionAttributeValues: { ':before': before },
                }),
              },
            },
            {
              Put: {
                TableName: this.tables.ledger,
                Item: {
                  accountId,
                  sk: `${time}#adjust#${adjustmentId}`,
                  kind: 'adjustment',
                  adjustmentId,
                  amount: -debit,
                  reason,
                  at: time,
                  ...(payment && { payment }),
                },
                ConditionExpression: 'attribute_not_exists(sk)',
              },
            },
          ],
        });
        // A debit like a settle's: it may cross the low-balance threshold (the webhook, not a request, waits).
        await this.raiseAlert(accountId, at).catch(() => false);
        return { adjustmentId, amount: -debit, applied: true };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        if (conditionFailed(error, 0)) throw new UnknownAccountError(`Unknown account '${accountId}'`);
        // Another delivery moved the guard first: read it again.
        if ((conditionFailed(error, 1) || conditionFailed(error, 2)) && attempt < TOP_UP_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /**
   * Sets how far below zero the account may go; `spendable` moves by the same difference. Refuses
   * more than {@link MAX_CREDIT_LIMIT_NANO} ({@link CreditLimitTooLargeError}), writing nothing.
   */
  async setCreditLimit(accountId: string, creditLimit: number, at = new Date()): Promise<Wallet> {
    if (!Number.isSafeInteger(creditLimit) || creditLimit < 0) throw new RangeError('A credit limit is ≥ 0');
    if (creditLimit > MAX_CREDIT_LIMIT_NANO) throw new CreditLimitTooLargeError(accountId, creditLimit);
    for (;;) {
      const wallet = await this.get(accountId);
      if (!wallet) throw new UnknownAccountError(`Unknown account '${accountId}'`);
      try {
        return await this.update(
          accountId,
          {
            UpdateExpression: 'SET creditLimit = :new, spendable = spendable + :diff, updatedAt = :t',
            ConditionExpression: 'creditLimit = :old',
          },
          {
            ':new': creditLimit,
            ':old': wallet.creditLimit,
            ':diff': creditLimit - wallet.creditLimit,
            ':t': at.toISOString(),
          },
        );
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
      return await this.update(
        accountId,
        {
          UpdateExpression: 'SET discountPpm = :d, updatedAt = :t',
          ConditionExpression: 'attribute_exists(accountId)',
        },
        { ':d': discountPpm, ':t': at.toISOString() },
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new UnknownAccountError(`Unknown account '${accountId}'`);
      }
      throw error;
    }
  }

  /**
   * Sets the low-balance alert threshold (nano-USD, armed), or removes it (`undefined`).
   * A threshold above the balance alerts at the next settle.
   */
  async setAlertBelow(accountId: string, alertBelow: number | undefined, at = new Date()): Promise<Wallet> {
    if (alertBelow !== undefined && (!Number.isSafeInteger(alertBelow) || alertBelow < 0)) {
      throw new RangeError('An alert threshold is ≥ 0');
    }
    if (alertBelow !== undefined && alertBelow > MAX_BALANCE_NANO)
      throw new MoneyLimitError(
        `An alert threshold of ${usd(alertBelow)} is more than a wallet may hold (${usd(MAX_BALANCE_NANO)})`,
      );
    try {
      return await this.update(
        accountId,
        alertBelow === undefined
          ? {
              UpdateExpression: 'SET updatedAt = :t REMOVE alertBelow, alertArmed',
              ConditionExpression: 'attribute_exists(accountId)',
            }
          : {
              UpdateExpression: 'SET alertBelow = :b, alertArmed = :true, updatedAt = :t',
              ConditionExpression: 'attribute_exists(accountId)',
            },
        { ':t': at.toISOString(), ...(alertBelow !== undefined && { ':b': alertBelow, ':true': true }) },
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        throw new UnknownAccountError(`Unknown account '${accountId}'`);
      }
      throw error;
    }
  }

  /**
   * Records a low-balance alert when the wallet's balance is below its threshold while the alert is
   * armed: one conditional write disarms it (the only one of concurrent callers that wins), then a
   * pending alert row (`alert#…`, outside the ledger's range, on the pending index under
   * `pending = 'alert'`) waits for the sweeper to e-mail the members. Answers whether it raised one.
   * Costs one write that usually fails its condition; nothing is sent from here.
   */
  async raiseAlert(accountId: string, at = new Date()): Promise<boolean> {
    const time = at.toISOString();
    let wallet: Wallet;
    try {
      wallet = await this.update(
        accountId,
        {
          UpdateExpression: 'SET alertArmed = :false, alertRaisedAt = :t',
          ConditionExpression: 'alertArmed = :true AND balance < alertBelow',
        },
        { ':false': false, ':true': true, ':t': time },
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
    const alert: PendingAlert = {
      accountId,
      sk: `${ALERT_SK_PREFIX}${time}#${randomUUID().slice(0, 8)}`,
      balance: wallet.balance,
      alertBelow: wallet.alertBelow ?? 0,
      raisedAt: time,
    };
    const item = { ...alert, kind: 'alert', pending: PENDING_ALERT, pendingSince: time };
    // The wallet is disarmed already: a lost row would be a lost alert, so the put is retried.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new PutCommand({ TableName: this.tables.ledger, Item: item }));
        return true;
      } catch (error) {
        if (attempt >= 3) throw error;
        await sleep(50 * attempt);
      }
    }
  }

  /** Re-arms the low-balance alert when the balance is back at or above its threshold; answers whether it did. */
  async rearmAlert(accountId: string): Promise<boolean> {
    try {
      await this.update(
        accountId,
        {
          UpdateExpression: 'SET alertArmed = :true',
          ConditionExpression: 'alertArmed = :false AND balance >= alertBelow',
        },
        { ':false': false, ':true': true },
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Low-balance alerts not yet sent, oldest first (the pending index, `pending = 'alert'`). */
  async pendingAlerts(limit = 100): Promise<PendingAlert[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tables.ledger,
        IndexName: LEDGER_PENDING_INDEX,
        KeyConditionExpression: 'pending = :p',
        ExpressionAttributeValues: { ':p': { S: PENDING_ALERT } },
        Limit: limit,
      }),
    );
    return (Items ?? []).map((raw) => {
      const item = unmarshallExact(raw);
      const accountId = String(item['accountId']);
      const amount = (field: string): number => {
        const value = safeInteger(item[field]);
        if (value === undefined)
          throw new CorruptRecordError(accountId, `alert row '${String(item['sk'])}' has no ${field}`);
        return value;
      };
      const claimedAt = item['claimedAt'];
      return {
        accountId,
        sk: String(item['sk']),
        balance: amount('balance'),
        alertBelow: amount('alertBelow'),
        raisedAt: String(item['raisedAt']),
        ...(typeof claimedAt === 'string' && { claimedAt }),
      };
    });
  }

  /**
   * Claims a pending alert for sending: succeeds for one sweeper only, unless the last claim is older
   * than `staleBefore` (a sweeper that died mid-send). Answers the claim's time, undefined when lost.
   */
  async claimAlert(
    alert: Pick<PendingAlert, 'accountId' | 'sk'>,
    staleBefore: string,
    at = new Date(),
  ): Promise<string | undefined> {
    const claim = at.toISOString();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.ledger,
          Key: { accountId: { S: alert.accountId }, sk: { S: alert.sk } },
          UpdateExpression: 'SET claimedAt = :c',
          ConditionExpression: 'pending = :p AND (attribute_not_exists(claimedAt) OR claimedAt < :stale)',
          ExpressionAttributeValues: { ':p': { S: PENDING_ALERT }, ':c': { S: claim }, ':stale': { S: staleBefore } },
        }),
      );
      return claim;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  /** Marks a claimed alert sent to `recipients` members: it leaves the pending index. */
  async finishAlert(
    alert: Pick<PendingAlert, 'accountId' | 'sk'>,
    claim: string,
    recipients: number,
    at = new Date(),
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.ledger,
          Key: { accountId: { S: alert.accountId }, sk: { S: alert.sk } },
          UpdateExpression: 'SET sentAt = :t, recipients = :n REMOVE pending, pendingSince',
          ConditionExpression: 'pending = :p AND claimedAt = :c',
          ExpressionAttributeValues: {
            ':p': { S: PENDING_ALERT },
            ':c': { S: claim },
            ':t': { S: at.toISOString() },
            ':n': { N: String(recipients) },
          },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * Holds `row.hold` nano-USD for one request: the conditional wallet decrement
   * (`spendable >= hold`) and the pending ledger row commit together or not at all — and, for a key
   * with a spend limit, the key's spend row for the period (`row.keyBudget`) too, on the condition
   * that its `used` (spent + held) is at most `budget.room` (the limit less this hold).
   * Throws {@link InsufficientFundsError} with the wallet as it was when it cannot cover it, and
   * {@link KeyLimitError} with the spend row as it was when the key's limit cannot.
   */
  async hold(row: UsageRow, budget?: KeyBudgetHold): Promise<void> {
    const pendingRow: UsageRow = { ...row, status: 'pending', pending: PENDING, pendingSince: row.at };
    if (budget !== undefined && row.keyBudget === undefined) throw new Error('a key budget needs row.keyBudget');
    if (budget !== undefined && budget.room < 0) throw new KeyLimitError(undefined);
    const items: TransactItem[] = [
      takeFromWallet(this.tables.wallets, row.accountId, row.hold),
      {
        Put: {
          TableName: this.tables.ledger,
          Item: pendingRow,
          ConditionExpression: 'attribute_not_exists(sk)',
        },
      },
    ];
    if (budget !== undefined) {
      items.push({
        Update: {
          TableName: this.tables.ledger,
          Key: { accountId: row.accountId, sk: row.keyBudget },
          UpdateExpression:
            'SET #used = if_not_exists(#used, :zero) + :h, #held = if_not_exists(#held, :zero) + :h, ' +
            '#spent = if_not_exists(#spent, :zero), #kind = :kind, #keyId = :keyId, #updatedAt = :at',
          ConditionExpression: 'attribute_not_exists(#used) OR #used <= :room',
          ExpressionAttributeNames: KEY_SPEND_NAMES,
          ExpressionAttributeValues: {
            ':h': row.hold,
            ':zero': 0,
            ':room': budget.room,
            ':kind': KEY_SPEND_KIND,
            ':keyId': row.keyId,
            ':at': row.at,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      });
    }
    try {
      await this.transact({ TransactItems: items });
    } catch (error) {
      if (error instanceof TransactionCanceledException && conditionFailed(error, 0)) {
        throw insufficientFunds(error, row.accountId);
      }
      if (error instanceof TransactionCanceledException && conditionFailed(error, 2)) {
        const item = error.CancellationReasons?.[2]?.Item;
        throw new KeyLimitError(
          item && parseKeySpend(unmarshallExact(item as Record<string, AttributeValue>), row.accountId),
        );
      }
      throw error;
    }
  }

  /** A key's spend row for one period (`keyBudget` sort key), or undefined when nothing was held in it yet. */
  async keySpend(accountId: string, sk: string): Promise<KeySpend | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tables.ledger,
        Key: { accountId: { S: accountId }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    return Item ? parseKeySpend(unmarshallExact(Item), accountId) : undefined;
  }

  /**
   * Sets the part of a key's period spend that was settled before its limit counted it (`baseline`,
   * from the roll-ups), for a limit just set or given a new reset: `used` moves by the difference.
   * The settles of the period's requests keep their own attributes (`spent`, `held`), so one that
   * lands meanwhile is never overwritten; the baseline is replaced only as it was read (a conditional
   * write, read again on a race).
   */
  async restartKeySpend(
    accountId: string,
    sk: string,
    keyId: string,
    baseline: number,
    at = new Date(),
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tables.ledger,
          Key: { accountId: { S: accountId }, sk: { S: sk } },
          ConsistentRead: true,
        }),
      );
      const stored = Item === undefined ? undefined : unmarshallExact(Item)['baseline'];
      const old = stored === undefined ? 0 : safeInteger(stored);
      if (old === undefined) throw new CorruptRecordError(accountId, `key spend row '${sk}' has no exact baseline`);
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tables.ledger,
            Key: { accountId: { S: accountId }, sk: { S: sk } },
            UpdateExpression:
              'SET #baseline = :new, #used = if_not_exists(#used, :zero) + :delta, ' +
              '#held = if_not_exists(#held, :zero), #spent = if_not_exists(#spent, :zero), ' +
              '#kind = :kind, #keyId = :keyId, #updatedAt = :at',
            ConditionExpression: stored === undefined ? 'attribute_not_exists(#baseline)' : '#baseline = :old',
            ExpressionAttributeNames: { ...KEY_SPEND_NAMES, '#baseline': 'baseline' },
            ExpressionAttributeValues: marshall({
              ':new': baseline,
              ...(stored === undefined ? {} : { ':old': old }),
              ':delta': baseline - old,
              ':zero': 0,
              ':kind': KEY_SPEND_KIND,
              ':keyId': keyId,
              ':at': at.toISOString(),
            }),
          }),
        );
        return;
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException' || attempt >= 5) throw error;
      }
    }
  }

  /**
   * What a key's settled requests since `since` (ISO time) cost that its spend row `sk` does not count
   * already: final usage rows of the key held without that row (before its limit, under another
   * reset, or while a gateway still had the key without a limit cached). Exact at any size; reads
   * every ledger row of the account since then (costs only are sent back).
   */
  async untrackedKeySpend(accountId: string, keyId: string, since: string, sk: string): Promise<bigint> {
    const items = await this.queryAll({
      TableName: this.tables.ledger,
      KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
      FilterExpression:
        '#keyId = :keyId AND #status = :final AND (attribute_not_exists(#keyBudget) OR #keyBudget <> :sk)',
      ProjectionExpression: '#cost',
      ExpressionAttributeNames: {
        '#keyId': 'keyId',
        '#status': 'status',
        '#keyBudget': 'keyBudget',
        '#cost': 'cost',
      },
      ExpressionAttributeValues: {
        ':a': { S: accountId },
        ':from': { S: since },
        ':to': { S: LEDGER_MAX_SK },
        ':keyId': { S: keyId },
        ':final': { S: 'final' },
        ':sk': { S: sk },
      },
      ConsistentRead: true,
    });
    let sum = 0n;
    for (const item of items) {
      const cost = safeInteger(item['cost'] ?? 0);
      if (cost === undefined) throw new CorruptRecordError(accountId, 'a usage row has no exact cost');
      sum += BigInt(cost);
    }
    return sum;
  }

  /** Every spend row of a key (each period it held money in), by sort-key prefix: for audits. */
  async keySpends(accountId: string, prefix: string): Promise<(KeySpend & { sk: string })[]> {
    const items = await this.queryAll({
      TableName: this.tables.ledger,
      KeyConditionExpression: 'accountId = :a AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':a': { S: accountId }, ':p': { S: prefix } },
      ConsistentRead: true,
    });
    return items.map((item) => ({ sk: String(item['sk']), ...parseKeySpend(item, accountId) }));
  }

  /**
   * Turns a pending row final and gives back `hold − cost` (negative when the usage cost more than
   * the estimate held). Idempotent: a row already final changes nothing and answers false.
   * Then, unless `checkAlert` is false, {@link raiseAlert}: one conditional write that records a
   * low-balance alert when this settle left the balance below the wallet's threshold.
   */
  async settle(
    row: Pick<UsageRow, 'accountId' | 'sk' | 'hold' | 'keyBudget' | 'lease'>,
    settlement: Settlement,
    at = new Date(),
    { checkAlert = true }: SettleOptions = {},
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
      overrun: settlement.overrun,
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
    // The row turns final, on the condition that it is still pending (what makes a settle idempotent).
    const finalRow = {
      TableName: this.tables.ledger,
      Key: { accountId: row.accountId, sk: row.sk },
      UpdateExpression: `SET ${sets.join(', ')} REMOVE pending, pendingSince`,
      ConditionExpression: '#status = :pending',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    if (row.lease !== undefined) {
      // Held in a lease: the row alone turns final; the lease's close charges the wallet the sum.
      try {
        await this.client.send(new UpdateCommand(finalRow));
        return true;
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    }
    try {
      await this.transact({
        TransactItems: [
          { Update: finalRow },
          returnToWallet(this.tables.wallets, row.accountId, row.hold, settlement.cost, at),
          // The key's period moves this hold to its cost (the period it was held in, whatever the time now).
          ...(row.keyBudget === undefined
            ? []
            : [
                {
                  Update: {
                    TableName: this.tables.ledger,
                    Key: { accountId: row.accountId, sk: row.keyBudget },
                    UpdateExpression:
                      'SET #used = if_not_exists(#used, :zero) - :r, #held = if_not_exists(#held, :zero) - :h, ' +
                      '#spent = if_not_exists(#spent, :zero) + :c, #updatedAt = :at',
                    ExpressionAttributeNames: {
                      '#used': 'used',
                      '#held': 'held',
                      '#spent': 'spent',
                      '#updatedAt': 'updatedAt',
                    },
                    ExpressionAttributeValues: {
                      ':r': refund,
                      ':h': row.hold,
                      ':c': settlement.cost,
                      ':zero': 0,
                      ':at': at.toISOString(),
                    },
                  },
                },
              ]),
        ],
      });
    } catch (error) {
      if (error instanceof TransactionCanceledException && conditionFailed(error, 0)) return false;
      throw error;
    }
    // The settle stands whatever happens here: a failed check leaves the alert armed for the next settle.
    if (checkAlert) await this.raiseAlert(row.accountId, at).catch(() => false);
    return true;
  }

  // ─── credit leases ───────────────────────────────────────────────────────────────────────────

  /**
   * Opens a credit lease: reserves `lease.amount` from the wallet (the conditional decrement a hold
   * makes: `spendable >= amount`) and writes the open lease row, in one transaction. Throws
   * {@link InsufficientFundsError} with the wallet as it was when it cannot cover it.
   */
  async openLease(lease: Pick<LeaseRow, 'accountId' | 'sk' | 'amount' | 'openedAt' | 'holdUntil'>): Promise<void> {
    const item: LeaseRow & { pending: string; pendingSince: string } = {
      ...lease,
      kind: 'lease',
      status: 'open',
      pending: PENDING_LEASE,
      pendingSince: lease.holdUntil,
    };
    try {
      await this.transact({
        TransactItems: [
          takeFromWallet(this.tables.wallets, lease.accountId, lease.amount),
          { Put: { TableName: this.tables.ledger, Item: item, ConditionExpression: 'attribute_not_exists(sk)' } },
        ],
      });
    } catch (error) {
      if (error instanceof TransactionCanceledException && conditionFailed(error, 0)) {
        throw insufficientFunds(error, lease.accountId);
      }
      throw error;
    }
  }

  /**
   * Writes the pending row of a request held in an open lease (`row.lease`) with its running cost:
   * what the sweeper charges if the instance dies before the settle. A short request needs none (its
   * settle writes its row final); a long stream writes one at each checkpoint. Conditional on the row
   * not being final yet, so a checkpoint that lands late (a retry after a timeout) can never turn a
   * settled row back to pending. No wallet write: the lease reserved the money.
   */
  async checkpointLeased(row: UsageRow, checkpoint: number): Promise<boolean> {
    if (row.lease === undefined) throw new Error('a leased checkpoint needs row.lease');
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tables.ledger,
          Item: { ...row, status: 'pending', checkpoint },
          ConditionExpression: 'attribute_not_exists(sk) OR (#status = :pending AND #checkpoint < :checkpoint)',
          ExpressionAttributeNames: { '#status': 'status', '#checkpoint': 'checkpoint' },
          ExpressionAttributeValues: { ':pending': 'pending', ':checkpoint': checkpoint },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * Writes the final row of a request held in a lease (over its checkpoint row, if it wrote one): the
   * whole final row is written, unconditionally and so idempotently — the lease's instance alone
   * writes its rows until the sweeper may take the lease ({@link LEASE_SWEEP_MARGIN_MS} after its
   * holds expire), and every settle ends before that. The sweeper settles with {@link settle}.
   */
  async settleLeased(row: UsageRow, settlement: Settlement, at = new Date()): Promise<void> {
    if (row.lease === undefined) throw new Error('a leased settle needs row.lease');
    const { pending: _pending, pendingSince: _since, checkpoint: _checkpoint, ...held } = row;
    const final: Record<string, unknown> = { ...held, status: 'final', settledAt: at.toISOString() };
    for (const [name, value] of Object.entries(settlement)) if (value !== undefined) final[name] = value;
    await this.leasedRows.put(final);
  }

  /**
   * Closes an open lease: the lease row turns closed with `cost` (Σ costs of its requests), and the
   * wallet gets back `amount − cost`, in one transaction. Answers false when it was closed already.
   * Then, like a settle, looks for a low-balance crossing.
   */
  async closeLease(
    lease: Pick<LeaseRow, 'accountId' | 'sk' | 'amount'>,
    cost: number,
    at = new Date(),
  ): Promise<boolean> {
    try {
      await this.transact({
        TransactItems: [
          {
            Update: {
              TableName: this.tables.ledger,
              Key: { accountId: lease.accountId, sk: lease.sk },
              UpdateExpression: 'SET #status = :closed, cost = :c, closedAt = :at REMOVE pending, pendingSince',
              ConditionExpression: '#status = :open AND amount = :a',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':closed': 'closed',
                ':open': 'open',
                ':c': cost,
                ':a': lease.amount,
                ':at': at.toISOString(),
              },
            },
          },
          returnToWallet(this.tables.wallets, lease.accountId, lease.amount, cost, at),
        ],
      });
    } catch (error) {
      if (error instanceof TransactionCanceledException && conditionFailed(error, 0)) return false;
      throw error;
    }
    await this.raiseAlert(lease.accountId, at).catch(() => false);
    return true;
  }

  /** The account's leases, oldest first (for audits). */
  async leases(accountId: string): Promise<LeaseRow[]> {
    const items = await this.queryAll({
      TableName: this.tables.ledger,
      KeyConditionExpression: 'accountId = :a AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':a': { S: accountId }, ':p': { S: LEASE_SK_PREFIX } },
      ConsistentRead: true,
    });
    return items.map((item) => parseLeaseRow(item, accountId));
  }

  /** Open leases whose last hold was before `before` (ISO time), oldest first: what the sweeper closes. */
  async expiredLeases(before: string, limit = 100): Promise<LeaseRow[]> {
    const items = await this.pendingSince(PENDING_LEASE, before, limit);
    return items.map((item) => parseLeaseRow(item, String(item['accountId'])));
  }

  /** A page of the pending index's partition `pending`, pending since before `before`, oldest first. */
  private async pendingSince(pending: string, before: string, limit: number): Promise<Record<string, unknown>[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tables.ledger,
        IndexName: LEDGER_PENDING_INDEX,
        KeyConditionExpression: 'pending = :p AND pendingSince < :before',
        ExpressionAttributeValues: { ':p': { S: pending }, ':before': { S: before } },
        Limit: limit,
      }),
    );
    return (Items ?? []).map(unmarshallExact);
  }

  /**
   * The usage rows held in a lease: its requests were stamped from a little before it opened
   * ({@link LEASE_ROW_SKEW_MS}) until its `holdUntil`.
   */
  async leaseRows(lease: Pick<LeaseRow, 'accountId' | 'sk' | 'openedAt' | 'holdUntil'>): Promise<UsageRow[]> {
    const from = new Date(Date.parse(lease.openedAt) - LEASE_ROW_SKEW_MS).toISOString();
    const items = await this.queryAll({
      TableName: this.tables.ledger,
      KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
      FilterExpression: '#lease = :lease',
      ExpressionAttributeNames: { '#lease': 'lease' },
      ExpressionAttributeValues: {
        ':a': { S: lease.accountId },
        ':from': { S: from },
        ':to': { S: `${lease.holdUntil}~` },
        ':lease': { S: lease.sk },
      },
      ConsistentRead: true,
    });
    return items.map(parseUsageItem);
  }

  /**
   * Writes a pending row's running cost (a long stream's checkpoint): what the sweeper charges if
   * the request dies before its settle. Only raises it, and only while the row is pending; answers
   * false when the row is final or already has as much. Moves no money.
   */
  async checkpoint(row: Pick<UsageRow, 'accountId' | 'sk'>, cost: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.ledger,
          Key: { accountId: { S: row.accountId }, sk: { S: row.sk } },
          UpdateExpression: 'SET #checkpoint = :cost',
          ConditionExpression: '#status = :pending AND (attribute_not_exists(#checkpoint) OR #checkpoint < :cost)',
          ExpressionAttributeNames: { '#status': 'status', '#checkpoint': 'checkpoint' },
          ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':cost': { N: String(cost) } },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * The query of the account's ledger rows in `range`: the time bounds as a sort-key range, the
   * key and model as a filter. `until` works as the upper bound of BETWEEN as it is: a row's sort
   * key is its time followed by '#…', so it sorts after a bare time equal to its own and before any
   * later one — BETWEEN since AND until is exactly [since, until).
   */
  private ledgerQuery(accountId: string, { since, until, keyId, model }: LedgerRange): QueryCommandInput {
    const values: Record<string, AttributeValue> = {
      ':a': { S: accountId },
      ':from': { S: since ?? LEDGER_MIN_SK },
      ':to': { S: until ?? LEDGER_MAX_SK },
    };
    const names: Record<string, string> = {};
    const filters: string[] = [];
    if (keyId !== undefined) {
      names['#keyId'] = 'keyId';
      values[':keyId'] = { S: keyId };
      filters.push('#keyId = :keyId');
    }
    if (model !== undefined) {
      names['#model'] = 'model';
      values[':model'] = { S: model };
      filters.push('#model = :model');
    }
    return {
      TableName: this.tables.ledger,
      KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: values,
      ...(filters.length > 0 ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names } : {}),
    };
  }

  /**
   * A page of the account's ledger, newest first: rows in `range` (all rows when it is empty),
   * starting after `cursor`. With a key or model filter DynamoDB evaluates rows that do not match,
   * so the read goes on, page after page (each asking for twice as many as the last), until `limit`
   * rows are found or `budget` rows were evaluated; then it answers with what it found (maybe none)
   * and a cursor to go on from. A cursor is always the sort key of a ledger row (`LEDGER_CURSOR`).
   */
  async ledger(
    accountId: string,
    { limit = 50, cursor, budget = LEDGER_EVALUATION_BUDGET, ...range }: LedgerPageOptions = {},
  ): Promise<LedgerPage> {
    const rows: LedgerRow[] = [];
    if ((range.since ?? LEDGER_MIN_SK) > (range.until ?? LEDGER_MAX_SK)) return { rows };
    const input = this.ledgerQuery(accountId, range);
    const filtered = input.FilterExpression !== undefined;
    let start = cursor;
    let evaluated = 0;
    let ask = limit;
    for (;;) {
      const wanted = limit - rows.length;
      const page = await this.client.send(
        new QueryCommand({
          ...input,
          ScanIndexForward: false,
          Limit: Math.max(1, Math.min(filtered ? Math.max(ask, wanted) : wanted, budget - evaluated)),
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: { accountId: { S: accountId }, sk: { S: start } } }),
        }),
      );
      evaluated += page.ScannedCount ?? 0;
      const items = page.Items ?? [];
      const kept = items.slice(0, wanted);
      rows.push(...kept.map((item) => parseLedgerRow(unmarshallExact(item))));
      const last = page.LastEvaluatedKey?.['sk']?.S;
      // Rows found beyond the limit are read again by the next page, which starts after the last one kept.
      if (kept.length < items.length) return { rows, nextCursor: rows.at(-1)?.sk as string };
      if (last === undefined) return { rows };
      if (rows.length >= limit || evaluated >= budget) return { rows, nextCursor: last };
      start = last;
      ask *= 2;
    }
  }

  /**
   * How many ledger rows of the account lie in `range`, counted by DynamoDB (no row is sent back),
   * stopping as soon as the count passes `stopAbove`. Costs the same reads as reading the rows.
   */
  async countLedger(accountId: string, range: LedgerRange, stopAbove = Number.POSITIVE_INFINITY): Promise<number> {
    if ((range.since ?? LEDGER_MIN_SK) > (range.until ?? LEDGER_MAX_SK)) return 0;
    const input = this.ledgerQuery(accountId, range);
    let count = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, Select: 'COUNT', ConsistentRead: true, ExclusiveStartKey: start }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start && count <= stopAbove);
    return count;
  }

  /** One ledger row of the account by its sort key; undefined when the account has none there. */
  async ledgerRow(accountId: string, sk: string): Promise<LedgerRow | undefined> {
    // Only real rows: spend rows, roll-ups and alerts share the partition but are no ledger rows.
    if (sk < LEDGER_MIN_SK || sk > LEDGER_MAX_SK) return undefined;
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tables.ledger,
        Key: { accountId: { S: accountId }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    return Item ? parseLedgerRow(unmarshallExact(Item)) : undefined;
  }

  /** Every ledger row of the account, oldest first (for audits). */
  async allLedgerRows(accountId: string): Promise<LedgerRow[]> {
    const items = await this.queryAll({
      TableName: this.tables.ledger,
      KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':a': { S: accountId }, ':from': { S: LEDGER_MIN_SK }, ':to': { S: LEDGER_MAX_SK } },
      ConsistentRead: true,
    });
    return items.map(parseLedgerRow);
  }

  /** Holds still pending since before `before` (ISO time), oldest first: what the sweeper releases. */
  async pendingHolds(before: string, limit = 100): Promise<UsageRow[]> {
    return (await this.pendingSince(PENDING, before, limit)).map(parseUsageItem);
  }
}
