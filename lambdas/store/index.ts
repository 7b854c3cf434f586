import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import { CounterStore } from './counters.ts';
import { KeyStore } from './keys.ts';
import { RouteStore } from './routes.ts';
import { WalletStore } from './wallets.ts';

export interface Stores {
  counters: CounterStore;
  keys: KeyStore;
  routes: RouteStore;
  wallets: WalletStore;
}

export const createStores = (client: DynamoDBDocumentClient, tables: TableNames): Stores => ({
  counters: new CounterStore(client, tables.counters),
  keys: new KeyStore(client, tables.keys),
  routes: new RouteStore(client, tables.routes),
  wallets: new WalletStore(client, tables),
});
