import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ensureTables } from '../../lambdas/store/bootstrap.ts';
import { createDocumentClient } from '../../lambdas/store/client.ts';
import { createStores, type Stores } from '../../lambdas/store/index.ts';
import { type TableNames, tableNamesFromEnv } from '../../lib/tables.ts';

export interface TestDatabase {
  endpoint: string;
  prefix: string;
  tables: TableNames;
  client: DynamoDBDocumentClient;
  stores: Stores;
}

/** Fresh tables under a random prefix on the suite's DynamoDB Local. */
export const createTestDatabase = async (): Promise<TestDatabase> => {
  const endpoint = inject('dynamoEndpoint');
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const tables = tableNamesFromEnv({}, prefix);
  const raw = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTables(raw, tables);
  raw.destroy();
  const client = createDocumentClient({ endpoint });
  return { endpoint, prefix, tables, client, stores: createStores(client, tables) };
};
