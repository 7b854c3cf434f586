/**
 * Wallet and ledger items as the wallet store reads them: parsed, never cast. Items come from
 * {@link unmarshallExact} (numbers as exact decimal text); every amount must be a whole number of
 * nano-USD a JS number holds exactly, or the read fails with an error naming the account, so a
 * corrupt or out-of-range amount is never rounded into a balance, a listing or an audit.
 */
import type {
  AdjustmentRow,
  LedgerRow,
  Outcome,
  Prices,
  TopUpPayment,
  TopUpRow,
  UsageRow,
  Wallet,
} from '../vocabulary.ts';
import { numberText, plainNumbers, safeInteger } from './client.ts';

/** A wallet or ledger item that does not have the shape the store writes. */
export class CorruptRecordError extends Error {
  readonly accountId: string;
  constructor(accountId: string, message: string) {
    super(`Account '${accountId}': ${message}`);
    this.accountId = accountId;
  }
}

/** A stored amount that is not a whole number of nano-USD within ±(2^53 − 1): refused, never rounded. */
export class UnsafeAmountError extends CorruptRecordError {
  readonly field: string;
  /** The number exactly as DynamoDB holds it. */
  readonly stored: string;
  constructor(accountId: string, subject: string, field: string, stored: string, table: string) {
    super(
      accountId,
      `${subject} stored as ${stored}, which is not a whole number of nano-USD within ` +
        `±${Number.MAX_SAFE_INTEGER} (±$${usd(Number.MAX_SAFE_INTEGER).slice(1)}); refusing to read it rounded. ` +
        `Fix the item in the ${table} table.`,
    );
    this.field = field;
    this.stored = stored;
  }
}

/**
 * nano-USD as "$12.50" / "-$0.000003", for the store's own messages. The same format as
 * `formatUsd` (gateway/money.ts), which the store may not import.
 */
export const usd = (nano: number): string => {
  const exact = BigInt(nano);
  const abs = exact < 0n ? -exact : exact;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${exact < 0n ? '-' : ''}$${abs / 1_000_000_000n}.${fraction}`;
};

type Item = Record<string, unknown>;

/** The entries of `record` whose value is not undefined (the records use exact optional properties). */
const defined = <T extends object>(record: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<{
    [K in keyof T]: Exclude<T[K], undefined>;
  }>;

/** Reads the fields of one item, naming the account, the item and the field in every refusal. */
class Fields {
  private readonly item: Item;
  private readonly accountId: string;
  /** The item in messages: undefined for the wallet, else the ledger row's sort key. */
  private readonly row: string | undefined;
  /** "the wallet has no" / "ledger row '…' has no" */
  private readonly missing: string;
  private readonly table: string;

  constructor(item: Item, accountId: string, row: string | undefined) {
    this.item = item;
    this.accountId = accountId;
    this.row = row;
    this.missing = row === undefined ? 'the wallet has no' : `ledger row '${row}' has no`;
    this.table = row === undefined ? 'wallets' : 'ledger';
  }

  private corrupt(what: string, value: unknown): CorruptRecordError {
    return new CorruptRecordError(
      this.accountId,
      `${this.missing} ${what} (found ${JSON.stringify(plainNumbers(value))})`,
    );
  }

  /**
   * A whole number a JS number holds exactly (an amount in nano-USD, a count, parts per million);
   * `path` names it in messages, nested fields too ("prices.input").
   */
  intAt(value: unknown, path: string): number {
    if (value === undefined) throw new CorruptRecordError(this.accountId, `${this.missing} ${path}`);
    const exact = safeInteger(value);
    if (exact !== undefined) return exact;
    const text = numberText(value);
    if (text === undefined) throw this.corrupt(`numeric ${path}`, value);
    const subject = this.row === undefined ? `the wallet's ${path} is` : `ledger row '${this.row}' has its ${path}`;
    throw new UnsafeAmountError(this.accountId, subject, path, text, this.table);
  }

  optionalIntAt(value: unknown, path: string): number | undefined {
    return value === undefined ? undefined : this.intAt(value, path);
  }

  int(field: string): number {
    return this.intAt(this.item[field], field);
  }

  optionalInt(field: string): number | undefined {
    return this.optionalIntAt(this.item[field], field);
  }

  string(field: string): string {
    const value = this.item[field];
    if (typeof value !== 'string') {
      if (value === undefined) throw new CorruptRecordError(this.accountId, `${this.missing} ${field}`);
      throw this.corrupt(`text ${field}`, value);
    }
    return value;
  }

  optionalString(field: string): string | undefined {
    return this.item[field] === undefined ? undefined : this.string(field);
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const value = this.string(field);
    if (!(allowed as readonly string[]).includes(value)) throw this.corrupt(`valid ${field}`, value);
    return value as T;
  }

  optionalOneOf<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    return this.item[field] === undefined ? undefined : this.oneOf(field, allowed);
  }

  optionalBoolean(field: string): boolean | undefined {
    const value = this.item[field];
    if (value === undefined || typeof value === 'boolean') return value;
    throw this.corrupt(`true/false ${field}`, value);
  }

  /** The account the item belongs to, for messages. */
  accountIdOf(): string {
    return this.accountId;
  }

  /** A field as it was read, unchecked (free-form data). */
  raw(field: string): unknown {
    return this.item[field];
  }

  /** A field that holds JSON text (free-form data stored whole), parsed. */
  optionalJson(field: string): unknown {
    const text = this.optionalString(field);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw this.corrupt(`JSON ${field}`, text);
    }
  }

  map(field: string): Item {
    const value = this.item[field];
    if (value === undefined) throw new CorruptRecordError(this.accountId, `${this.missing} ${field}`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.corrupt(`map ${field}`, value);
    return value as Item;
  }

  optionalMap(field: string): Item | undefined {
    return this.item[field] === undefined ? undefined : this.map(field);
  }
}

/** The wallet as stored, with the store's own bookkeeping the {@link Wallet} record leaves out. */
export interface WalletItem {
  wallet: Wallet;
  /**
   * nano-USD held by requests in flight (Σ open holds), absent on wallets from before it was kept.
   * balance + held = Σ top-ups − Σ settled costs: what the balance returns to once every hold settles.
   */
  held: number | undefined;
}

/** Parses a wallet item read with {@link unmarshallExact}. */
export const parseWalletItem = (item: Item, accountId: string): WalletItem => {
  const fields = new Fields(item, accountId, undefined);
  const wallet: Wallet = {
    accountId: fields.string('accountId'),
    balance: fields.int('balance'),
    creditLimit: fields.int('creditLimit'),
    spendable: fields.int('spendable'),
    createdAt: fields.string('createdAt'),
    ...defined({
      discountPpm: fields.optionalInt('discountPpm'),
      alertBelow: fields.optionalInt('alertBelow'),
      alertArmed: fields.optionalBoolean('alertArmed'),
      updatedAt: fields.optionalString('updatedAt'),
    }),
  };
  return { wallet, held: fields.optionalInt('held') };
};

const OUTCOMES: readonly Outcome[] = ['completed', 'client_disconnected', 'upstream_error', 'rejected', 'expired_hold'];

const parsePrices = (fields: Fields, prices: Item): Prices => ({
  input: fields.intAt(prices['input'], 'prices.input'),
  output: fields.intAt(prices['output'], 'prices.output'),
  ...defined({
    cacheRead: fields.optionalIntAt(prices['cacheRead'], 'prices.cacheRead'),
    cacheWrite: fields.optionalIntAt(prices['cacheWrite'], 'prices.cacheWrite'),
  }),
});

const parseUsageRow = (fields: Fields, accountId: string, sk: string): UsageRow => {
  const row: UsageRow = {
    accountId,
    sk,
    kind: 'usage',
    requestId: fields.string('requestId'),
    status: fields.oneOf('status', ['pending', 'final'] as const),
    hold: fields.int('hold'),
    model: fields.string('model'),
    provider: fields.string('provider'),
    upstreamModel: fields.string('upstreamModel'),
    keyId: fields.string('keyId'),
    at: fields.string('at'),
    prices: parsePrices(fields, fields.map('prices')),
    discountPpm: fields.int('discountPpm'),
  };
  const usage = fields.optionalMap('usage');
  return Object.assign(
    row,
    defined({
      cost: fields.optionalInt('cost'),
      outcome: fields.optionalOneOf('outcome', OUTCOMES),
      usage: usage && {
        inputTokens: fields.intAt(usage['inputTokens'], 'usage.inputTokens'),
        outputTokens: fields.intAt(usage['outputTokens'], 'usage.outputTokens'),
        cacheReadTokens: fields.intAt(usage['cacheReadTokens'], 'usage.cacheReadTokens'),
        cacheWriteTokens: fields.intAt(usage['cacheWriteTokens'], 'usage.cacheWriteTokens'),
      },
      // The upstream's own usage, kept as it came: free-form, no amount of ours.
      rawUsage: fields.optionalJson('rawUsageJson') ?? plainNumbers(fields.raw('rawUsage')),
      estimated: fields.optionalBoolean('estimated'),
      overrun: fields.optionalBoolean('overrun'),
      checkpoint: fields.optionalInt('checkpoint'),
      fallbackFrom: fields.optionalString('fallbackFrom'),
      keyBudget: fields.optionalString('keyBudget'),
      lease: fields.optionalString('lease'),
      settledAt: fields.optionalString('settledAt'),
      pending: fields.optionalString('pending'),
      pendingSince: fields.optionalString('pendingSince'),
    }),
  );
};

const parseTopUpPayment = (fields: Fields, payment: Item | undefined): TopUpPayment | undefined => {
  if (payment === undefined) return undefined;
  const text = (field: string): string | undefined => {
    const value = payment[field];
    if (value === undefined || typeof value === 'string') return value;
    throw new CorruptRecordError(fields.accountIdOf(), `a top-up has a non-text payment.${field}`);
  };
  return {
    provider: 'stripe',
    sessionId: text('sessionId') ?? '?',
    ...defined({ paymentIntentId: text('paymentIntentId'), receiptUrl: text('receiptUrl') }),
  };
};

const parseAdjustmentRow = (fields: Fields, accountId: string, sk: string): AdjustmentRow => {
  const payment = fields.optionalMap('payment');
  const text = (field: string): string | undefined => {
    const value = payment?.[field];
    if (value === undefined || typeof value === 'string') return value;
    throw new CorruptRecordError(accountId, `ledger row '${sk}' has a non-text payment.${field}`);
  };
  return {
    accountId,
    sk,
    kind: 'adjustment',
    adjustmentId: fields.string('adjustmentId'),
    amount: fields.int('amount'),
    reason: fields.string('reason'),
    at: fields.string('at'),
    ...(payment && {
      payment: {
        provider: 'stripe',
        ...defined({
          chargeId: text('chargeId'),
          paymentIntentId: text('paymentIntentId'),
          disputeId: text('disputeId'),
        }),
      },
    }),
  };
};

const parseTopUpRow = (fields: Fields, accountId: string, sk: string): TopUpRow => {
  const payment = parseTopUpPayment(fields, fields.optionalMap('payment'));
  return {
    accountId,
    sk,
    kind: 'topup',
    topUpId: fields.string('topUpId'),
    amount: fields.int('amount'),
    at: fields.string('at'),
    ...(payment && { payment }),
  };
};

/** Parses a ledger item (a top-up or a usage row) read with {@link unmarshallExact}. */
export const parseLedgerRow = (item: Item): LedgerRow => {
  const accountId = typeof item['accountId'] === 'string' ? item['accountId'] : '?';
  const sk = typeof item['sk'] === 'string' ? item['sk'] : '?';
  const fields = new Fields(item, accountId, sk);
  fields.string('accountId'); // refused when missing: the '?' above only names the row in that message
  fields.string('sk');
  const kind = fields.oneOf('kind', ['usage', 'topup', 'adjustment'] as const);
  if (kind === 'adjustment') return parseAdjustmentRow(fields, accountId, sk);
  return kind === 'topup' ? parseTopUpRow(fields, accountId, sk) : parseUsageRow(fields, accountId, sk);
};

/** A usage row (a pending hold, for the sweeper); anything else in its place is corrupt. */
export const parseUsageItem = (item: Item): UsageRow => {
  const row = parseLedgerRow(item);
  if (row.kind !== 'usage') throw new CorruptRecordError(row.accountId, `ledger row '${row.sk}' is no usage row`);
  return row;
};
