import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type TableNames, tableNamesFromEnv } from '../../lib/tables.ts';
import { ensureTables } from './bootstrap.ts';
import { createDocumentClient } from './client.ts';
import { type DynamoDbLocalProgress, startDynamoDbLocal } from './dynamodb-local.ts';
import { createStores, type Stores } from './index.ts';
import { DynamoDBClient, ListTablesCommand } from './sdk/client-dynamodb.ts';
import type { DynamoDBDocumentClient } from './sdk/lib-dynamodb.ts';

/** What a running local gateway (`npm start`) publishes in `<dataDir>/gateway.json`. */
export interface GatewayInfo {
  pid: number;
  dynamoEndpoint: string;
  port: number;
  startedAt: string;
  /** The token of its local control endpoints (runtime/local-control.ts): the CLI flushes its caches with it. */
  controlToken?: string;
}

/** The running gateway's control endpoints (runtime/local-control.ts), which the CLI calls with the token. */
export const CONTROL_PATH = '/_tollgate/local';
/** The header carrying the control token: not `Authorization`, so it is never read as an API key. */
export const CONTROL_TOKEN_HEADER = 'x-tollgate-control-token';

/** What `POST /_tollgate/local/credentials` takes and answers. */
export interface CredentialQuery {
  names: string[];
}
export interface CredentialAnswer {
  /** The asked names the gateway's environment sets to a non-empty value. */
  set: string[];
  /** The others, including names that cannot be credentials (they are never read). */
  missing: string[];
}

const GATEWAY_FILE = 'gateway.json';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Publishes the running gateway's DynamoDB Local endpoint, so the CLI reuses it instead of opening
 * the same database file a second time. Written atomically (temp file + rename).
 *
 * @example writeGatewayInfo('.tollgate', { pid: process.pid, dynamoEndpoint, port: 8787, startedAt: new Date().toISOString() })
 */
export const writeGatewayInfo = (dataDir: string, info: GatewayInfo): void => {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, GATEWAY_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  // Owner-only: it holds the control token.
  writeFileSync(temp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
};

/** The gateway info in `<dataDir>/gateway.json`, or undefined when absent or unreadable. */
export const readGatewayInfo = (dataDir: string): GatewayInfo | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, GATEWAY_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { pid, dynamoEndpoint, port, startedAt, controlToken } = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || typeof dynamoEndpoint !== 'string') return undefined;
  return {
    pid: pid as number,
    dynamoEndpoint,
    port: typeof port === 'number' ? port : 0,
    startedAt: typeof startedAt === 'string' ? startedAt : '',
    ...(typeof controlToken === 'string' ? { controlToken } : {}),
  };
};

/**
 * Removes `<dataDir>/gateway.json`. With `pid`, only when the file names that process, so a gateway
 * shutting down never removes the file of another one that started since.
 */
export const removeGatewayInfo = (dataDir: string, pid?: number): void => {
  if (pid !== undefined && readGatewayInfo(dataDir)?.pid !== pid) return;
  rmSync(join(dataDir, GATEWAY_FILE), { force: true });
};

/** Whether process `pid` exists (signal 0). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const answers = async (endpoint: string): Promise<boolean> => {
  const probe = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  try {
    await probe.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  } finally {
    probe.destroy();
  }
};

export interface LocalDatabaseOptions {
  /** Folder holding local state: the database file under `dynamodb/`, and `gateway.json`. */
  dataDir: string;
  /** Told how a start of DynamoDB Local goes (not called when a running gateway's is reused). */
  onProgress?: (progress: DynamoDbLocalProgress) => void;
}

export interface LocalDatabase {
  endpoint: string;
  tables: TableNames;
  client: DynamoDBDocumentClient;
  stores: Stores;
  /** True when this call started DynamoDB Local; false when it reuses the running gateway's. */
  started: boolean;
  /** Closes the client, and stops DynamoDB Local if this call started it. */
  stop(): Promise<void>;
}

/**
 * Opens the local, file-backed database under `dataDir`. DynamoDB Local's file must not be opened
 * by two processes, so when `gateway.json` names a live gateway whose endpoint answers, that
 * endpoint is reused; otherwise DynamoDB Local is started on `<dataDir>/dynamodb`. Either way the
 * `tollgate-*` tables are created if missing.
 *
 * @example
 * const db = await openLocalDatabase({ dataDir: '.tollgate', onProgress: (p) => console.error(describeProgress(p)) });
 * try { console.log(await db.stores.routes.list()); } finally { await db.stop(); }
 */
export const openLocalDatabase = async ({ dataDir, onProgress }: LocalDatabaseOptions): Promise<LocalDatabase> => {
  const dir = resolve(dataDir);
  const tables = tableNamesFromEnv({}, 'tollgate');
  const gateway = readGatewayInfo(dir);
  let endpoint: string;
  let stopDynamo: (() => Promise<void>) | undefined;
  if (gateway && isAlive(gateway.pid) && (await answers(gateway.dynamoEndpoint))) {
    endpoint = gateway.dynamoEndpoint;
  } else {
    const dynamo = await startDynamoDbLocal({ dataDir: join(dir, 'dynamodb'), ...(onProgress ? { onProgress } : {}) });
    endpoint = dynamo.endpoint;
    stopDynamo = dynamo.stop;
  }

  try {
    const raw = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    try {
      await ensureTables(raw, tables);
    } finally {
      raw.destroy();
    }
  } catch (error) {
    await stopDynamo?.();
    throw error;
  }

  const client = createDocumentClient({ endpoint });
  return {
    endpoint,
    tables,
    client,
    stores: createStores(client, tables),
    started: stopDynamo !== undefined,
    stop: async () => {
      client.destroy();
      await stopDynamo?.();
    },
  };
};
