import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_NAMES, type TableNames, tableEnvVar, tableNamesFromEnv } from '../../lib/tables.ts';
import { openLocalDatabase } from '../runtime/local-database.ts';
import { ensureTables } from '../store/bootstrap.ts';
import { createDocumentClient } from '../store/client.ts';
import { createStores, type Stores } from '../store/index.ts';
import { UsageError } from './errors.ts';

export type Target =
  | { kind: 'endpoint'; endpoint: string; tables: TableNames; region?: string }
  | { kind: 'aws'; region: string; tables: TableNames }
  | { kind: 'local'; dataDir: string };

export interface TargetFlags {
  aws?: boolean;
  region?: string;
}

/**
 * Where the CLI's data lives, from the environment and flags:
 * `TOLLGATE_DYNAMODB_ENDPOINT` → that DynamoDB (Local); else `--aws`, `TOLLGATE_TABLE_PREFIX` or any
 * `TOLLGATE_TABLE_<NAME>` → DynamoDB on AWS with the operator's credentials; else the local database
 * in `$TOLLGATE_DATA_DIR` (default `.tollgate`).
 */
export const chooseTarget = (env: NodeJS.ProcessEnv, flags: TargetFlags = {}): Target => {
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (env.TOLLGATE_DYNAMODB_ENDPOINT) {
    return {
      kind: 'endpoint',
      endpoint: env.TOLLGATE_DYNAMODB_ENDPOINT,
      tables: tableNamesFromEnv(env),
      ...(region ? { region } : {}),
    };
  }
  const tablesNamed = env.TOLLGATE_TABLE_PREFIX !== undefined || TABLE_NAMES.some((name) => env[tableEnvVar(name)]);
  if (flags.aws || tablesNamed) {
    if (!region) throw new UsageError('Which AWS region? Pass --region or set AWS_REGION');
    return { kind: 'aws', region, tables: tableNamesFromEnv(env) };
  }
  return { kind: 'local', dataDir: env.TOLLGATE_DATA_DIR ?? '.tollgate' };
};

export interface Connection {
  stores: Stores;
  target: Target;
  /** For the few operator reads the stores do not offer (a scan of every wallet). */
  client: DynamoDBDocumentClient;
  tables: TableNames;
  close(): Promise<void>;
}

/** Opens the target's stores; `close()` releases the client (and a DynamoDB Local it started). */
export const connect = async (target: Target): Promise<Connection> => {
  if (target.kind === 'local') {
    const db = await openLocalDatabase({ dataDir: target.dataDir });
    return { stores: db.stores, target, client: db.client, tables: db.tables, close: db.stop };
  }
  if (target.kind === 'endpoint') {
    // Any DynamoDB Local works: create the tables if this one has none yet.
    const raw = new DynamoDBClient({
      endpoint: target.endpoint,
      region: target.region ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await ensureTables(raw, target.tables);
    } finally {
      raw.destroy();
    }
  }
  const client = createDocumentClient(
    target.kind === 'endpoint'
      ? { endpoint: target.endpoint, ...(target.region ? { region: target.region } : {}) }
      : { region: target.region },
  );
  return {
    stores: createStores(client, target.tables),
    target,
    client,
    tables: target.tables,
    close: async () => client.destroy(),
  };
};
