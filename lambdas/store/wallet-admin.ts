import { randomUUID } from 'node:crypto';
import { LEDGER_PENDING_INDEX } from '../../lib/tables.ts';
import {
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
import {
  type AttributeValue,
  GetItemCommand,
  QueryCommand,
  TransactionCanceledException,
  UpdateItemCommand,
} from './sdk/client-dynamodb.ts';
import { GetCommand, PutCommand } from './sdk/lib-dynamodb.ts';
import { marshall } from './sdk/util-dynamodb.ts';
import { CorruptRecordError, parseLedgerRow, parseUsageItem, usd } from './wallet-rows.ts';
import {
  AccountExistsError,
  BalanceCeilingError,
  CreditLimitTooLargeError,
  conditionFailed,
  KEY_SPEND_KIND,
  KEY_SPEND_NAMES,
  type KeySpend,
  LEASE_ROW_SKEW_MS,
  LEASE_SK_PREFIX,
  LEDGER_MAX_SK,
  LEDGER_MIN_SK,
  type LedgerRange,
  MoneyLimitError,
  PENDING,
  PENDING_ALERT,
  PENDING_LEASE,
  type PendingAlert,
  parseKeySpend,
  type TakeBack,
  type TakeBackResult,
  type TopUpCondition,
  TopUpConditionError,
  TopUpConflictError,
  type TopUpResult,
  TopUpTooLargeError,
  UnknownAccountError,
  WalletStore,
} from './wallets.ts';

/** Reads of a wallet that keeps moving under a top-up, before the top-up gives up. */
const TOP_UP_ATTEMPTS = 30;

/** A condition item that returns the item as it was when its condition fails. */
const withOldItem = (item: TopUpCondition): TopUpCondition =>
  item.Update ? { Update: { ReturnValuesOnConditionCheckFailure: 'ALL_OLD', ...item.Update } } : item;

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

/**
 * The wallet store of the operator's side — accounts, top-ups, refunds, limits, alerts, audits and
 * the sweeper — over {@link WalletStore}, which keeps only what a request needs (hold, settle,
 * leases, the ledger it reads). The proxy's bundle carries the smaller class.
 */
export class WalletAdminStore extends WalletStore {
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
  protected async earlierTopUp(accountId: string, topUpId: string, amount: number): Promise<TopUpResult | undefined> {
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
  protected async pendingSince(pending: string, before: string, limit: number): Promise<Record<string, unknown>[]> {
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
