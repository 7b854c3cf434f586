/**
 * Daily spend roll-ups. A closed day's sums are kept once, in the ledger table under the account's
 * partition at sort key `rollup#YYYY-MM-DD`: after every real row ('0'…'9~') and after the guard rows
 * (`idem#…`), so no read of the ledger (`ledger`, `allLedgerRows`, the audit) ever meets one, and
 * without the `pending` attribute, so the sweeper's index never holds one.
 *
 * Sums of nano-USD are stored as decimal strings (a day's costs may pass 2^53 − 1, where a number
 * rounds); counts and tokens are numbers. Everything read back is checked with zod: a malformed
 * roll-up is a {@link CorruptRecordError} naming the account and the row, never half-read.
 */

import { array, int, literal, looseObject, minimum, number, regex, safeParse, string } from 'zod/mini';
import type { TableNames } from '../../lib/tables.ts';
import type { Usage } from '../vocabulary.ts';
import { numberText, safeInteger, unmarshallExact } from './client.ts';
import { type AttributeValue, QueryCommand as RawQueryCommand } from './sdk/client-dynamodb.ts';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from './sdk/lib-dynamodb.ts';
import { CorruptRecordError } from './wallet-rows.ts';

/** One model's requests of a day: every usage row, pending or final; cost is Σ settled costs. */
export interface ModelRollup {
  model: string;
  requests: number;
  /** nano-USD, decimal. */
  cost: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** One key's requests of a day. */
export interface KeyRollup {
  keyId: string;
  requests: number;
  /** nano-USD, decimal. */
  cost: string;
  /** The time of the key's latest row that day. */
  lastAt: string;
}

/** One UTC day of an account's ledger summed up. */
export interface DayRollup {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  /**
   * Usage rows still pending (always 0 in a stored roll-up). Not named `pending`: that attribute is
   * the key of the ledger's pending index (a string), which a roll-up must never enter.
   */
  pendingRows: number;
  /** nano-USD held by them, decimal. */
  held: string;
  topUps: number;
  /** nano-USD, decimal. */
  topUpAmount: string;
  /** Sorted by model. */
  models: ModelRollup[];
  /** Sorted by key id. */
  keys: KeyRollup[];
}

/** A ledger row as a roll-up needs it: only these attributes are read. Amounts exact, as bigints. */
export type SpendRow =
  | {
      kind: 'usage';
      sk: string;
      status: 'pending' | 'final';
      /** Σ that counts: 0 while pending. */
      cost: bigint;
      hold: bigint;
      model: string;
      keyId: string;
      at: string;
      usage: Usage | undefined;
    }
  | { kind: 'topup'; sk: string; amount: bigint }
  /** A refund or dispute: moves the balance, not the spend; roll-ups leave it out. */
  | { kind: 'adjustment'; sk: string; amount: bigint };

/** The sort key of a day's roll-up. */
export const rollupSk = (day: string): string => `rollup#${day}`;

const ROLLUP_VERSION = 1;
const count = () => number().check(int(), minimum(0));
const nano = () => string().check(regex(/^\d+$/));
const DAY = /^\d{4}-\d{2}-\d{2}$/;

const ROLLUP = looseObject({
  accountId: string(),
  sk: string(),
  kind: literal('rollup'),
  version: literal(ROLLUP_VERSION),
  day: string().check(regex(DAY)),
  pendingRows: count(),
  held: nano(),
  topUps: count(),
  topUpAmount: nano(),
  models: array(
    looseObject({
      model: string(),
      requests: count(),
      cost: nano(),
      inputTokens: count(),
      outputTokens: count(),
      cacheReadTokens: count(),
      cacheWriteTokens: count(),
    }),
  ),
  keys: array(looseObject({ keyId: string(), requests: count(), cost: nano(), lastAt: string() })),
});

const problems = (issues: readonly { path: readonly PropertyKey[]; message: string }[]): string =>
  issues.map((issue) => `${issue.path.map(String).join('.') || '(item)'}: ${issue.message}`).join('; ');

/** A stored roll-up read back, checked field by field; the error names the account and the row. */
export const parseRollup = (item: Record<string, unknown>, accountId: string): DayRollup => {
  const sk = typeof item['sk'] === 'string' ? item['sk'] : '?';
  const parsed = safeParse(ROLLUP, item);
  if (!parsed.success) {
    throw new CorruptRecordError(accountId, `roll-up row '${sk}' is malformed: ${problems(parsed.error.issues)}`);
  }
  const { day, pendingRows, held, topUps, topUpAmount, models, keys } = parsed.data;
  if (sk !== rollupSk(day)) {
    throw new CorruptRecordError(accountId, `roll-up row '${sk}' is malformed: it holds the day ${day}`);
  }
  return {
    day,
    pendingRows,
    held,
    topUps,
    topUpAmount,
    models: models.map(({ model, requests, cost, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens }) => ({
      model,
      requests,
      cost,
      inputTokens,
      outputTokens,
      cacheReadTokens,
      cacheWriteTokens,
    })),
    keys: keys.map(({ keyId, requests, cost, lastAt }) => ({ keyId, requests, cost, lastAt })),
  };
};

/** Reads a projected ledger item exactly, naming the account, the row and the field in every refusal. */
const spendRow = (item: Record<string, unknown>, accountId: string): SpendRow => {
  const sk = String(item['sk']);
  const corrupt = (what: string) => new CorruptRecordError(accountId, `ledger row '${sk}' has no ${what}`);
  const amount = (field: string, fallback?: bigint): bigint => {
    const text = numberText(item[field]);
    if (text === undefined && item[field] === undefined && fallback !== undefined) return fallback;
    if (text === undefined || !/^-?\d+$/.test(text)) throw corrupt(`whole number of nano-USD in ${field}`);
    return BigInt(text);
  };
  const text = (field: string): string => {
    const value = item[field];
    if (typeof value !== 'string') throw corrupt(`text ${field}`);
    return value;
  };
  if (item['kind'] === 'topup') return { kind: 'topup', sk, amount: amount('amount') };
  if (item['kind'] === 'adjustment') return { kind: 'adjustment', sk, amount: amount('amount') };
  if (item['kind'] !== 'usage') throw corrupt('valid kind');
  const status = text('status');
  if (status !== 'pending' && status !== 'final') throw corrupt('valid status');
  const tokens = item['usage'] as Record<string, unknown> | undefined;
  const tokenCount = (field: keyof Usage): number => {
    const value = safeInteger(tokens?.[field]);
    if (value === undefined || value < 0) throw corrupt(`token count usage.${field}`);
    return value;
  };
  return {
    kind: 'usage',
    sk,
    status,
    // A final row without a cost charged nothing, as the public ledger row shows it.
    cost: status === 'final' ? amount('cost', 0n) : 0n,
    hold: amount('hold'),
    model: text('model'),
    keyId: text('keyId'),
    at: text('at'),
    usage:
      tokens === undefined
        ? undefined
        : {
            inputTokens: tokenCount('inputTokens'),
            outputTokens: tokenCount('outputTokens'),
            cacheReadTokens: tokenCount('cacheReadTokens'),
            cacheWriteTokens: tokenCount('cacheWriteTokens'),
          },
  };
};

/** A day's rows are read in this many time slices at once (4 × 6 h). */
const DAY_SEGMENTS = 4;

/** The attributes a roll-up reads of a ledger row (a placeholder each: several are reserved words). */
const SPEND_ATTRIBUTES = ['sk', 'kind', 'status', 'cost', 'hold', 'model', 'keyId', 'at', 'usage', 'amount'];

/**
 * Roll-ups of an account's ledger by UTC day: the rows of a day (only the attributes a roll-up
 * needs), and the roll-ups of closed days, written once and read back in one query.
 */
export class RollupStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, tables: Pick<TableNames, 'ledger'>) {
    this.client = client;
    this.table = tables.ledger;
  }

  /**
   * The ledger rows of one UTC day (`YYYY-MM-DD`), read with only the attributes a roll-up needs,
   * in {@link DAY_SEGMENTS} queries at once (a busy day is several pages; one after the other they
   * would add up). Eventually consistent: only a pending row changes once written, and a read that
   * lags shows it still pending, which keeps its day open, never a day closed too soon.
   */
  async dayRows(accountId: string, day: string): Promise<SpendRow[]> {
    const start = Date.parse(`${day}T00:00:00.000Z`);
    const bounds = Array.from({ length: DAY_SEGMENTS + 1 }, (_, index) =>
      new Date(start + (index * 86_400_000) / DAY_SEGMENTS).toISOString(),
    );
    const segments = await Promise.all(
      bounds.slice(1).map((to, index) => this.rowsBetween(accountId, bounds[index] as string, to)),
    );
    return segments.flat();
  }

  /**
   * The rows from the time `from` to the time `to`, exclusive: a row's sort key is `<time>#…`, so
   * it sorts after the bare time equal to its own and before any later one.
   */
  private async rowsBetween(accountId: string, from: string, to: string): Promise<SpendRow[]> {
    const names = Object.fromEntries(SPEND_ATTRIBUTES.map((name) => [`#${name}`, name]));
    const rows: SpendRow[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new RawQueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':a': { S: accountId }, ':from': { S: from }, ':to': { S: to } },
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) rows.push(spendRow(unmarshallExact(item), accountId));
      start = page.LastEvaluatedKey;
    } while (start);
    return rows;
  }

  /** The stored roll-ups of the days from `from` to `to` (inclusive, `YYYY-MM-DD`): one query. */
  async storedDays(accountId: string, from: string, to: string): Promise<DayRollup[]> {
    const days: DayRollup[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'accountId = :a AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':a': accountId, ':from': rollupSk(from), ':to': rollupSk(to) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) days.push(parseRollup(item, accountId));
      start = page.LastEvaluatedKey;
    } while (start);
    return days;
  }

  /**
   * Stores a closed day's roll-up, once: answers false when the day was already stored (by a
   * concurrent reader, from the same closed rows), or when it is too large for one item (an
   * account with thousands of keys in a day), which then stays computed on each read.
   */
  async storeDay(accountId: string, rollup: DayRollup, at = new Date()): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            accountId,
            sk: rollupSk(rollup.day),
            kind: 'rollup',
            version: ROLLUP_VERSION,
            storedAt: at.toISOString(),
            ...rollup,
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return true;
    } catch (error) {
      const { name, message } = error as Error;
      if (name === 'ConditionalCheckFailedException') return false;
      if (name === 'ValidationException' && /size/i.test(message)) return false;
      throw error;
    }
  }
}
