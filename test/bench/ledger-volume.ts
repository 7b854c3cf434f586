/**
 * A busy account's ledger, written straight into DynamoDB: N settled usage rows spread over the
 * last days (models, keys, tokens, costs as the proxy writes them) and a few top-ups, in parallel
 * BatchWrites. For benches of the console's wallet page (100,000 rows in 30 days) and for tests
 * that need volume. Rows are deterministic for a seed.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Prices, TopUpRow, UsageRow } from '../../lambdas/vocabulary.ts';

const DAY_MS = 86_400_000;
const BATCH = 25;

/** The routes the rows are billed to: name, provider, prices (nano-USD per million tokens). */
export const VOLUME_MODELS: readonly { model: string; provider: string; prices: Prices; maxOutput: number }[] = [
  {
    model: 'gpt-4o',
    provider: 'openai',
    prices: { input: 2_500_000_000, output: 10_000_000_000, cacheRead: 1_250_000_000 },
    maxOutput: 4_096,
  },
  {
    model: 'gpt-4o-mini',
    provider: 'openai',
    prices: { input: 150_000_000, output: 600_000_000, cacheRead: 75_000_000 },
    maxOutput: 4_096,
  },
  {
    model: 'claude-sonnet-4',
    provider: 'anthropic',
    prices: { input: 3_000_000_000, output: 15_000_000_000, cacheRead: 300_000_000, cacheWrite: 3_750_000_000 },
    maxOutput: 8_192,
  },
  {
    model: 'claude-haiku-3.5',
    provider: 'anthropic',
    prices: { input: 800_000_000, output: 4_000_000_000, cacheRead: 80_000_000, cacheWrite: 1_000_000_000 },
    maxOutput: 8_192,
  },
  {
    model: 'deepseek-chat',
    provider: 'openai-compatible',
    prices: { input: 270_000_000, output: 1_100_000_000 },
    maxOutput: 8_000,
  },
  {
    model: 'llama-3.3-70b',
    provider: 'openai-compatible',
    prices: { input: 590_000_000, output: 790_000_000 },
    maxOutput: 4_096,
  },
];

export interface LedgerVolumeOptions {
  accountId: string;
  /** Usage rows to write. */
  rows: number;
  /** Spread over the `days` × 24 h before `now` (default 30). */
  days?: number;
  now?: Date;
  /** Keys the requests come from (default 5), `key_volume_0…`. */
  keys?: number;
  /** Top-ups (default 4), together 10% more than every cost, so the balance stays positive. */
  topUps?: number;
  /** Same seed, same rows (default 1). */
  seed?: number;
  /** BatchWrites in flight at once (default 16). */
  concurrency?: number;
  /**
   * The wallets table: when given, the account's wallet (which must exist) moves by Σ top-ups − Σ
   * costs, so `tollgate audit` still balances.
   */
  walletsTable?: string;
}

/** What was written: the sums a test or a bench compares with. */
export interface LedgerVolume {
  usageRows: number;
  topUps: number;
  /** Σ costs, nano-USD. */
  cost: bigint;
  /** Σ top-ups, nano-USD. */
  topUpAmount: bigint;
  /** The first and the last row's time. */
  first: string;
  last: string;
}

/** mulberry32: a small seeded generator, so a volume can be written again the same. */
const random = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

/** Tokens × prices per million, rounded up once, as the gateway prices a request. */
const priced = (prices: Prices, input: number, output: number, cacheRead: number, cacheWrite: number): number => {
  const micro =
    BigInt(input) * BigInt(prices.input) +
    BigInt(output) * BigInt(prices.output) +
    BigInt(cacheRead) * BigInt(prices.cacheRead ?? prices.input) +
    BigInt(cacheWrite) * BigInt(prices.cacheWrite ?? prices.input);
  return Number((micro + 999_999n) / 1_000_000n);
};

const writeAll = async (client: DynamoDBDocumentClient, table: string, items: object[], concurrency: number) => {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const batch = items.slice(next, next + BATCH);
      next += BATCH;
      let request: BatchWriteCommandInput['RequestItems'] = {
        [table]: batch.map((Item) => ({ PutRequest: { Item } })),
      };
      for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
        if (attempt > 0) await new Promise((done) => setTimeout(done, Math.min(1_000, 20 * 2 ** attempt)));
        const answer: BatchWriteCommandOutput = await client.send(new BatchWriteCommand({ RequestItems: request }));
        request = answer.UnprocessedItems;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
};

/**
 * Writes a busy account's ledger: `rows` final usage rows at random times over the last `days`
 * (six models, `keys` keys, realistic tokens, costs priced from them, a few client disconnects) and
 * `topUps` top-ups, in parallel BatchWrites of 25.
 *
 * @example
 * const volume = await writeLedgerVolume(db.client, db.tables.ledger, { accountId: 'busy', rows: 100_000 });
 * volume.cost // Σ costs, nano-USD
 */
export const writeLedgerVolume = async (
  client: DynamoDBDocumentClient,
  ledgerTable: string,
  options: LedgerVolumeOptions,
): Promise<LedgerVolume> => {
  const { accountId, rows, days = 30, keys = 5, topUps = 4, seed = 1, concurrency = 16 } = options;
  const now = (options.now ?? new Date()).getTime();
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const keyIds = Array.from({ length: keys }, (_, index) => `key_volume_${index}`);
  const items: (UsageRow | TopUpRow)[] = [];
  let cost = 0n;
  let first = '';
  let last = '';
  for (let index = 0; index < rows; index++) {
    const route = pick(VOLUME_MODELS);
    const at = new Date(now - 1 - Math.floor(next() * days * DAY_MS)).toISOString();
    const requestId = `req_volume_${seed}_${index}`;
    const input = 200 + Math.floor(next() * 20_000);
    const output = Math.floor(next() * route.maxOutput * 0.5);
    const cacheRead = route.prices.cacheRead && next() < 0.4 ? Math.floor(next() * 50_000) : 0;
    const cacheWrite = route.prices.cacheWrite && next() < 0.1 ? Math.floor(next() * 5_000) : 0;
    const disconnected = next() < 0.02;
    const rowCost = priced(route.prices, input, output, cacheRead, cacheWrite);
    // The hold: cache reads at the input price, the whole output cap — never below the cost.
    const hold = priced(route.prices, input + cacheRead, route.maxOutput, 0, cacheWrite);
    cost += BigInt(rowCost);
    if (first === '' || at < first) first = at;
    if (at > last) last = at;
    items.push({
      accountId,
      sk: `${at}#${requestId}`,
      kind: 'usage',
      requestId,
      status: 'final',
      hold,
      cost: rowCost,
      model: route.model,
      provider: route.provider,
      upstreamModel: `${route.model}-2026`,
      keyId: pick(keyIds),
      at,
      prices: route.prices,
      discountPpm: 1_000_000,
      outcome: disconnected ? 'client_disconnected' : 'completed',
      usage: { inputTokens: input, outputTokens: output, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite },
      rawUsage: { prompt_tokens: input + cacheRead, completion_tokens: output },
      settledAt: new Date(Date.parse(at) + 2_000).toISOString(),
    });
  }
  let topUpAmount = 0n;
  const each = (cost + cost / 10n) / BigInt(Math.max(1, topUps)) + 1_000_000_000n;
  for (let index = 0; index < topUps; index++) {
    const at = new Date(now - 1 - Math.floor(((index + 0.5) / topUps) * days * DAY_MS)).toISOString();
    const topUpId = `volume-${seed}-${index}`;
    topUpAmount += each;
    items.push({ accountId, sk: `${at}#topup#${topUpId}`, kind: 'topup', topUpId, amount: Number(each), at });
  }
  await writeAll(client, ledgerTable, items, concurrency);
  if (options.walletsTable !== undefined) {
    const net = Number(topUpAmount - cost);
    await client.send(
      new UpdateCommand({
        TableName: options.walletsTable,
        Key: { accountId },
        UpdateExpression: 'SET balance = balance + :n, spendable = spendable + :n',
        ConditionExpression: 'attribute_exists(accountId)',
        ExpressionAttributeValues: { ':n': net },
      }),
    );
  }
  return { usageRows: rows, topUps, cost, topUpAmount, first, last };
};
