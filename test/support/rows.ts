import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Usage, UsageRow } from '../../lambdas/vocabulary.ts';
import type { TestDatabase } from './dynamo.ts';

/** A pending usage row as the proxy writes it: $3 / $15 per million tokens, full price. */
export const usageRow = (accountId: string, requestId: string, at: Date, hold: number): UsageRow => ({
  accountId,
  sk: `${at.toISOString()}#${requestId}`,
  kind: 'usage',
  requestId,
  status: 'pending',
  hold,
  model: 'gpt-test',
  provider: 'openai',
  upstreamModel: 'gpt-test-2026',
  keyId: 'key_test',
  at: at.toISOString(),
  prices: { input: 3_000_000_000, output: 15_000_000_000 },
  discountPpm: 1_000_000,
});

export const tokens = (
  inputTokens: number,
  outputTokens: number,
  cacheReadTokens = 0,
  cacheWriteTokens = 0,
): Usage => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheWriteTokens,
});

/** Moves a wallet's balance behind the ledger's back, as a bug or a hand edit would. */
export const corruptBalance = (db: TestDatabase, accountId: string, nano: number) =>
  db.client.send(
    new UpdateCommand({
      TableName: db.tables.wallets,
      Key: { accountId },
      UpdateExpression: 'SET balance = balance + :d',
      ExpressionAttributeValues: { ':d': nano },
    }),
  );
