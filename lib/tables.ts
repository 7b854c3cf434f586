/**
 * The one source of truth for every table's key schema. The CDK stack (`lib/tollgate-stack.ts`) and
 * the local bootstrap (`lambdas/store/bootstrap.ts`) both read it, so the two can never drift.
 *
 * Plain data only: importing this file must not load aws-cdk-lib into the Lambda bundle.
 */

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexSchema {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableSchema {
  /** Logical name, also the suffix of the physical table name (`<prefix>-<name>`). */
  readonly name: TableName;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexSchema[];
  /** Attribute holding an epoch-seconds expiry, where rows may expire. */
  readonly timeToLiveAttribute?: string;
}

export type TableName = 'keys' | 'wallets' | 'routes' | 'ledger' | 'counters' | 'members' | 'sessions' | 'codes';

export const KEYS_BY_ACCOUNT_INDEX = 'byAccount';
export const KEYS_BY_KEY_ID_INDEX = 'byKeyId';
export const LEDGER_PENDING_INDEX = 'pendingHolds';
export const MEMBERS_BY_ACCOUNT_INDEX = 'byAccount';
export const CODES_BY_CODE_ID_INDEX = 'byCodeId';

export const TABLE_SCHEMAS: Readonly<Record<TableName, TableSchema>> = {
  keys: {
    name: 'keys',
    partitionKey: { name: 'keyHash', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: KEYS_BY_ACCOUNT_INDEX,
        partitionKey: { name: 'accountId', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
      },
      { indexName: KEYS_BY_KEY_ID_INDEX, partitionKey: { name: 'keyId', type: 'S' } },
    ],
  },
  wallets: {
    name: 'wallets',
    partitionKey: { name: 'accountId', type: 'S' },
    globalSecondaryIndexes: [],
  },
  routes: {
    name: 'routes',
    partitionKey: { name: 'model', type: 'S' },
    globalSecondaryIndexes: [],
  },
  ledger: {
    name: 'ledger',
    partitionKey: { name: 'accountId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalSecondaryIndexes: [
      // Sparse: only rows still holding money carry `pendingSince`, so the sweeper reads just those.
      {
        indexName: LEDGER_PENDING_INDEX,
        partitionKey: { name: 'pending', type: 'S' },
        sortKey: { name: 'pendingSince', type: 'S' },
      },
    ],
  },
  // Per-key rate-limit windows: one small row per key and minute, shared by every Lambda instance,
  // gone by TTL soon after its minute.
  counters: {
    name: 'counters',
    partitionKey: { name: 'counter', type: 'S' },
    globalSecondaryIndexes: [],
    timeToLiveAttribute: 'expiresAt',
  },
  // Who may sign in to the console for which account: one row per (e-mail, account).
  members: {
    name: 'members',
    partitionKey: { name: 'email', type: 'S' },
    sortKey: { name: 'accountId', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: MEMBERS_BY_ACCOUNT_INDEX,
        partitionKey: { name: 'accountId', type: 'S' },
        sortKey: { name: 'email', type: 'S' },
      },
    ],
  },
  // Console sign-in links (`link#<hash>`) and sessions (`session#<hash>`), by the SHA-256 of their
  // secret: never the secret itself. Gone by TTL after they expire (and refused before that).
  sessions: {
    name: 'sessions',
    partitionKey: { name: 'id', type: 'S' },
    globalSecondaryIndexes: [],
    timeToLiveAttribute: 'expiresAt',
  },
  // Redemption codes, by the SHA-256 of the normalised code: never the code itself. `codeId` (its
  // short public name, what `codes list` shows and `codes revoke` takes) is found through its index.
  codes: {
    name: 'codes',
    partitionKey: { name: 'codeHash', type: 'S' },
    globalSecondaryIndexes: [{ indexName: CODES_BY_CODE_ID_INDEX, partitionKey: { name: 'codeId', type: 'S' } }],
  },
};

export const TABLE_NAMES = Object.keys(TABLE_SCHEMAS) as TableName[];

/** Physical table names, as the functions receive them through the environment. */
export type TableNames = Readonly<Record<TableName, string>>;

export const tableEnvVar = (name: TableName): string => `TOLLGATE_TABLE_${name.toUpperCase()}`;

export const tableNamesFromEnv = (
  env: NodeJS.ProcessEnv = process.env,
  prefix = env['TOLLGATE_TABLE_PREFIX'] ?? 'tollgate',
): TableNames =>
  Object.fromEntries(TABLE_NAMES.map((name) => [name, env[tableEnvVar(name)] ?? `${prefix}-${name}`])) as Record<
    TableName,
    string
  >;
