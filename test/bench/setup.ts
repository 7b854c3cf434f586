/** The bench's database: tables from the shared schemas, one well-funded account, its key and the routes. */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mintKey } from '../../lambdas/gateway/keys.ts';
import { ensureTables } from '../../lambdas/store/bootstrap.ts';
import { createDocumentClient } from '../../lambdas/store/client.ts';
import { createStores } from '../../lambdas/store/index.ts';
import type { Route } from '../../lambdas/vocabulary.ts';
import { tableNamesFromEnv } from '../../lib/tables.ts';
import { writeLedgerVolume } from './ledger-volume.ts';

export const BENCH_TABLE_PREFIX = 'bench';
export const BENCH_ACCOUNT = 'bench';
/** $100,000: the hold of a request is a tiny fraction of it, so holds overlap the upstream call. */
const CREDIT_NANO = 100_000 * 1_000_000_000;
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };

export interface BenchRoutes {
  openai: string;
  anthropic: string;
  bulk: string;
  /** Anthropic upstream, answering at once with many tokens: OpenAI chat clients' streams through it are translated. */
  translated: string;
}

export const BENCH_ROUTES: BenchRoutes = {
  openai: 'bench-openai',
  anthropic: 'bench-anthropic',
  bulk: 'bench-bulk',
  translated: 'bench-translated',
};

/**
 * Creates the tables, the account (credited once), its key and the routes to the fake upstream;
 * returns the key's secret.
 *
 * @example
 * const secret = await seedBench(dynamo.endpoint, upstream.url);
 */
export const seedBench = async (endpoint: string, upstreamUrl: string): Promise<string> => {
  const tables = tableNamesFromEnv({}, BENCH_TABLE_PREFIX);
  const raw = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await ensureTables(raw, tables);
  } finally {
    raw.destroy();
  }
  const client = createDocumentClient({ endpoint });
  try {
    const stores = createStores(client, tables);
    await stores.wallets.create(BENCH_ACCOUNT);
    await stores.wallets.topUp(BENCH_ACCOUNT, CREDIT_NANO, 'bench-credit');
    const key = mintKey(BENCH_ACCOUNT, { name: 'bench' });
    await stores.keys.put(key.record);
    const routes: Route[] = [
      { model: BENCH_ROUTES.openai, provider: 'openai', baseUrl: `${upstreamUrl}/v1`, prices: PRICES },
      { model: BENCH_ROUTES.anthropic, provider: 'anthropic', baseUrl: upstreamUrl, prices: PRICES },
      { model: BENCH_ROUTES.bulk, provider: 'openai', baseUrl: `${upstreamUrl}/v1`, prices: PRICES },
      { model: BENCH_ROUTES.translated, provider: 'anthropic', baseUrl: upstreamUrl, prices: PRICES },
    ];
    for (const route of routes) await stores.routes.put(route);
    return key.secret;
  } finally {
    client.destroy();
  }
};

/**
 * Writes `rows` final usage rows of an account nobody else uses (`bench-warmup`) into the bench's
 * ledger, four BatchWrites at a time: DynamoDB Local's JIT compiles its write path with these, not
 * with the measured requests.
 */
export const warmDynamo = async (endpoint: string, rows: number): Promise<void> => {
  const client = createDocumentClient({ endpoint });
  try {
    const { ledger } = tableNamesFromEnv({}, BENCH_TABLE_PREFIX);
    await writeLedgerVolume(client, ledger, { accountId: 'bench-warmup', rows, topUps: 0, concurrency: 4 });
  } finally {
    client.destroy();
  }
};
