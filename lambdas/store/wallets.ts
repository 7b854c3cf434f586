import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TableNames } from '../../lib/tables.ts';
import {
  type AdjustmentPayment,
  type LeaseRow,
  type LedgerRow,
  MAX_BALANCE_NANO,
  MAX_CREDIT_LIMIT_NANO,
  MAX_TOP_UP_NANO,
  type UsageRow,
  type Wallet,
} from '../vocabulary.ts';
import { safeInteger, unmarshallExact } from './client.ts';
import { RowWriter } from './row-writer.ts';
import {
  type AttributeValue,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactionCanceledException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from './sdk/client-dynamodb.ts';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from './sdk/lib-dynamodb.ts';
import { marshall } from './sdk/util-dynamodb.ts';
import { CorruptRecordError, parseLedgerRow, parseWalletItem, usd, type WalletItem } from './wallet-rows.ts';

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

/**
 * The upstream's own usage as a settled row stores it: JSON text in `rawUsageJson`, not a map. It is
 * free-form and only ever read back whole, and each nested number costs DynamoDB a parse and a size
 * computation on every write (DynamoDB Local: a row with the map took 10–25% more CPU to write).
 * Rows written before keep their `rawUsage` map; the ledger parser reads both.
 */
const rawUsageJson = (rawUsage: unknown): string | undefined =>
  rawUsage === undefined ? undefined : JSON.stringify(rawUsage);

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

export const PENDING = 'hold';
/** The pending index's partition of open leases, by `holdUntil`. */
export const PENDING_LEASE = 'lease';
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
export const KEY_SPEND_KIND = 'keyspend';

/** Placeholders of a key spend row's attributes (several are DynamoDB reserved words). */
export const KEY_SPEND_NAMES = {
  '#used': 'used',
  '#held': 'held',
  '#spent': 'spent',
  '#kind': 'kind',
  '#keyId': 'keyId',
  '#updatedAt': 'updatedAt',
};

export const parseKeySpend = (item: Record<string, unknown>, accountId: string): KeySpend => {
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
export const PENDING_ALERT = 'alert';
/** Alert rows sort after the ledger's real rows ('0'…'9~'): no ledger read, listing or audit sees them. */
const ALERT_SK_PREFIX = 'alert#';
const TRANSACT_ATTEMPTS = 30;

/** Ledger sort keys of real rows start with the ISO time; guard rows (`idem#…`) sort after '9'. */
export const LEDGER_MIN_SK = '0';
export const LEDGER_MAX_SK = '9~';

export const conditionFailed = (error: TransactionCanceledException, index: number): boolean =>
  error.CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed';

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
  protected readonly client: DynamoDBDocumentClient;
  protected readonly tables: Pick<TableNames, 'wallets' | 'ledger'>;

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
  protected async transact(input: TransactWriteCommandInput): Promise<void> {
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
  protected async read(accountId: string): Promise<WalletItem | undefined> {
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
  protected async update(
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
  protected async queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
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
      rawUsageJson: rawUsageJson(settlement.rawUsage),
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
    const { rawUsage, ...settled } = settlement;
    for (const [name, value] of Object.entries(settled)) if (value !== undefined) final[name] = value;
    if (rawUsage !== undefined) final['rawUsageJson'] = rawUsageJson(rawUsage);
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
  protected ledgerQuery(accountId: string, { since, until, keyId, model }: LedgerRange): QueryCommandInput {
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
}
