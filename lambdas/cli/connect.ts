import { TABLE_NAMES, type TableNames, tableEnvVar, tableNamesFromEnv } from '../../lib/tables.ts';
import { ensureTables } from '../store/bootstrap.ts';
import { createDocumentClient, type DynamoOptions, dynamoClientConfig, dynamoOptionsFromEnv } from '../store/client.ts';
import { describeProgress } from '../store/dynamodb-local.ts';
import { createStores, type Stores } from '../store/index.ts';
import { openLocalDatabase } from '../store/local-database.ts';
import { DynamoDBClient } from '../store/sdk/client-dynamodb.ts';
import type { DynamoDBDocumentClient } from '../store/sdk/lib-dynamodb.ts';
import { UsageError } from './errors.ts';
import type { StackLookup } from './stack.ts';

/** Table names given up front, or read from a deployed stack's outputs when connecting. */
export type TableSource = { tables: TableNames } | { stack: StackLookup };

/** Each DynamoDB attempt's deadline (`TOLLGATE_DYNAMODB_TIMEOUT`), when not the default. */
type Deadline = Pick<DynamoOptions, 'attemptTimeoutMs'>;

export type Target =
  | ({ kind: 'endpoint'; endpoint: string; region?: string } & TableSource & Deadline)
  | ({ kind: 'aws'; region: string } & TableSource & Deadline)
  | { kind: 'local'; dataDir: string };

export interface TargetFlags {
  aws?: boolean;
  region?: string;
  /** A deployed Tollgate stack whose outputs name the tables. */
  stack?: string;
}

// A stack name, or the stack id (an ARN) CloudFormation also accepts.
const STACK_NAME = /^(?:[A-Za-z][-A-Za-z0-9]{0,127}|arn:[\x21-\x7e]+)$/;

const stackLookup = (env: NodeJS.ProcessEnv, stack: string, region: string | undefined): StackLookup => {
  // DescribeStacks without a name would describe every stack of the account.
  if (!STACK_NAME.test(stack)) {
    throw new UsageError(
      `Invalid stack name '${stack}': letters, digits and '-', starting with a letter (e.g. Tollgate-prod)`,
    );
  }
  if (!region) throw new UsageError(`Which AWS region is stack '${stack}' in? Pass --region or set AWS_REGION`);
  const lookup: StackLookup = { stack, region };
  const endpoint = env['AWS_ENDPOINT_URL_CLOUDFORMATION'] ?? env['AWS_ENDPOINT_URL'];
  if (endpoint) lookup.endpoint = endpoint;
  // The SDK reads process.env itself; passing them on makes the CLI's own env (tests, embedding) count.
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN } = env;
  if (accessKeyId && secretAccessKey) {
    lookup.credentials = {
      accessKeyId,
      secretAccessKey,
      ...(AWS_SESSION_TOKEN ? { sessionToken: AWS_SESSION_TOKEN } : {}),
    };
  }
  return lookup;
};

/**
 * Where the CLI's data lives, from the environment and flags. The database:
 * `TOLLGATE_DYNAMODB_ENDPOINT` → that DynamoDB (Local); else `--stack`, `--aws`, `TOLLGATE_TABLE_PREFIX`
 * or any `TOLLGATE_TABLE_<NAME>` → DynamoDB on AWS with the operator's credentials; else the local
 * database in `$TOLLGATE_DATA_DIR` (default `.tollgate`). The table names: `--stack`'s outputs when
 * given (over any `TOLLGATE_TABLE_*`), else from the environment.
 */
export const chooseTarget = (env: NodeJS.ProcessEnv, flags: TargetFlags = {}): Target => {
  const region = flags.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  const { attemptTimeoutMs } = dynamoOptionsFromEnv(env);
  const source: TableSource & Deadline = {
    ...(flags.stack === undefined
      ? { tables: tableNamesFromEnv(env) }
      : { stack: stackLookup(env, flags.stack, region) }),
    ...(attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs }),
  };
  if (env['TOLLGATE_DYNAMODB_ENDPOINT']) {
    return { kind: 'endpoint', endpoint: env['TOLLGATE_DYNAMODB_ENDPOINT'], ...source, ...(region ? { region } : {}) };
  }
  const tablesNamed = env['TOLLGATE_TABLE_PREFIX'] !== undefined || TABLE_NAMES.some((name) => env[tableEnvVar(name)]);
  if (flags.aws || flags.stack !== undefined || tablesNamed) {
    if (!region) throw new UsageError('Which AWS region? Pass --region or set AWS_REGION');
    return { kind: 'aws', region, ...source };
  }
  return { kind: 'local', dataDir: env['TOLLGATE_DATA_DIR'] ?? '.tollgate' };
};

export interface Connection {
  stores: Stores;
  target: Target;
  /** For the few operator reads the stores do not offer (a scan of every wallet). */
  client: DynamoDBDocumentClient;
  tables: TableNames;
  close(): Promise<void>;
}

/** The client options of a DynamoDB target: its endpoint and region, and the deadline the environment set. */
const dynamoOptionsOf = (target: Exclude<Target, { kind: 'local' }>): DynamoOptions => ({
  ...(target.kind === 'endpoint' ? { endpoint: target.endpoint, region: target.region ?? 'us-east-1' } : {}),
  ...(target.kind === 'aws' ? { region: target.region } : {}),
  ...(target.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: target.attemptTimeoutMs }),
});

/**
 * Opens the target's stores, reading a stack's outputs first where the target names one; `close()`
 * releases the client (and a DynamoDB Local it started). `progress` is told, a line at a time, how a
 * start of DynamoDB Local goes (2–10 s of Java when no `npm start` is running on the data dir).
 */
export const connect = async (
  target: Target,
  { progress }: { progress?: (line: string) => void } = {},
): Promise<Connection> => {
  if (target.kind === 'local') {
    const db = await openLocalDatabase({
      dataDir: target.dataDir,
      ...(progress
        ? {
            onProgress: (step) => {
              progress(describeProgress(step));
              // Each command run while the gateway is stopped pays this start again.
              if (step.phase === 'starting')
                progress('  (no `npm start` runs on this data dir; while one does, commands skip this)');
            },
          }
        : {}),
    });
    return { stores: db.stores, target, client: db.client, tables: db.tables, close: db.stop };
  }
  // Loaded on demand: the CloudFormation client costs start-up time to every other command.
  const tables = 'stack' in target ? await (await import('./stack.ts')).stackTableNames(target.stack) : target.tables;
  if (target.kind === 'endpoint') {
    // Any DynamoDB Local works: create the tables if this one has none yet.
    const raw = new DynamoDBClient(dynamoClientConfig(dynamoOptionsOf(target)));
    try {
      await ensureTables(raw, tables);
    } finally {
      raw.destroy();
    }
  }
  const client = createDocumentClient(dynamoOptionsOf(target));
  return {
    stores: createStores(client, tables),
    target,
    client,
    tables,
    close: async () => client.destroy(),
  };
};
