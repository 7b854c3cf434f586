import type { TableNames } from '../../lib/tables.ts';
import { CodeStore } from './codes.ts';
import { CounterStore } from './counters.ts';
import { KeyStore } from './keys.ts';
import { MemberStore } from './members.ts';
import { RollupStore } from './rollups.ts';
import { RouteStore } from './routes.ts';
import type { DynamoDBDocumentClient } from './sdk/lib-dynamodb.ts';
import { SessionStore } from './sessions.ts';
import { WalletAdminStore } from './wallet-admin.ts';

export interface Stores {
  codes: CodeStore;
  counters: CounterStore;
  keys: KeyStore;
  members: MemberStore;
  rollups: RollupStore;
  routes: RouteStore;
  sessions: SessionStore;
  wallets: WalletAdminStore;
}

export const createStores = (client: DynamoDBDocumentClient, tables: TableNames): Stores => ({
  codes: new CodeStore(client, tables.codes),
  counters: new CounterStore(client, tables.counters),
  keys: new KeyStore(client, tables.keys),
  members: new MemberStore(client, tables.members),
  rollups: new RollupStore(client, tables),
  routes: new RouteStore(client, tables.routes),
  sessions: new SessionStore(client, tables.sessions),
  wallets: new WalletAdminStore(client, tables),
});
