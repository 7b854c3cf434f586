import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { TABLE_NAMES, type TableName, type TableNames } from '../../lib/tables.ts';
import { CommandError } from './errors.ts';

/** Where to read a deployed Tollgate stack's outputs. */
export interface StackLookup {
  stack: string;
  region: string;
  /** A CloudFormation endpoint other than AWS's (AWS_ENDPOINT_URL_CLOUDFORMATION). */
  endpoint?: string;
  /** Default: the AWS SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** The output of `lib/tollgate-stack.ts` that names one table: `KeysTableName`, `CountersTableName`… */
export const tableOutputKey = (name: TableName): string => `${name.charAt(0).toUpperCase()}${name.slice(1)}TableName`;

/** The stack output holding the prefix every table name starts with (`tollgate-<stage>`). */
export const TABLE_PREFIX_OUTPUT = 'TablePrefix';

/**
 * The table names from a stack's outputs: each table's `<Name>TableName` output, else
 * `<TablePrefix>-<name>`. Throws a {@link CommandError} naming every output that is missing.
 *
 * @example tableNamesFromOutputs('Tollgate-prod', { TablePrefix: 'tollgate-prod' }).keys // 'tollgate-prod-keys'
 */
export const tableNamesFromOutputs = (stack: string, outputs: Readonly<Record<string, string>>): TableNames => {
  const prefix = outputs[TABLE_PREFIX_OUTPUT];
  const missing = TABLE_NAMES.filter((name) => !outputs[tableOutputKey(name)] && !prefix);
  if (missing.length > 0) {
    throw new CommandError(
      `Stack '${stack}' has no output ${missing.map(tableOutputKey).join(', ')} nor ${TABLE_PREFIX_OUTPUT}: is it a Tollgate stack (cdk deploy)?`,
    );
  }
  return Object.fromEntries(
    TABLE_NAMES.map((name) => [name, outputs[tableOutputKey(name)] || `${prefix}-${name}`]),
  ) as Record<TableName, string>;
};

const describeError = (lookup: StackLookup, error: unknown): CommandError => {
  const message = error instanceof Error ? error.message : String(error);
  const where = `stack '${lookup.stack}' in ${lookup.region}`;
  // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist".
  if ((error as Error).name === 'ValidationError' && /does not exist/.test(message)) {
    return new CommandError(`No CloudFormation ${where}: check --stack and --region (${message})`);
  }
  return new CommandError(`Cannot read the outputs of ${where}: ${message}`);
};

/**
 * Reads a deployed stack's outputs with CloudFormation DescribeStacks, by output key.
 *
 * @example (await stackOutputs({ stack: 'Tollgate-prod', region: 'eu-west-1' }))['ConsoleUrl'] // 'https://….lambda-url.eu-west-1.on.aws/console'
 */
export const stackOutputs = async (lookup: StackLookup): Promise<Record<string, string>> => {
  const client = new CloudFormationClient({
    region: lookup.region,
    maxAttempts: 2,
    ...(lookup.endpoint === undefined ? {} : { endpoint: lookup.endpoint }),
    ...(lookup.credentials === undefined ? {} : { credentials: lookup.credentials }),
  });
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: lookup.stack })).catch((error) => {
      throw describeError(lookup, error);
    });
    const found = Stacks?.[0];
    if (!found) throw new CommandError(`No CloudFormation stack '${lookup.stack}' in ${lookup.region}`);
    const outputs: Record<string, string> = {};
    for (const { OutputKey, OutputValue } of found.Outputs ?? []) {
      if (OutputKey && OutputValue) outputs[OutputKey] = OutputValue;
    }
    return outputs;
  } finally {
    client.destroy();
  }
};

/**
 * Reads a deployed stack's outputs with CloudFormation DescribeStacks and returns its table names.
 *
 * @example await stackTableNames({ stack: 'Tollgate-prod', region: 'eu-west-1' }) // { keys: 'tollgate-prod-keys', … }
 */
export const stackTableNames = async (lookup: StackLookup): Promise<TableNames> =>
  tableNamesFromOutputs(lookup.stack, await stackOutputs(lookup));

/** The stack output holding the console's public URL (`…/console`). */
export const CONSOLE_URL_OUTPUT = 'ConsoleUrl';

/**
 * The console's public URL from a deployed stack's `ConsoleUrl` output. Throws a {@link CommandError}
 * when the stack has none (a stack from before the console).
 */
export const stackConsoleUrl = async (lookup: StackLookup): Promise<string> => {
  const url = (await stackOutputs(lookup))[CONSOLE_URL_OUTPUT];
  if (!url) {
    throw new CommandError(
      `Stack '${lookup.stack}' has no output ${CONSOLE_URL_OUTPUT} (deployed before the console?): pass --console-url or set TOLLGATE_CONSOLE_URL`,
    );
  }
  return url;
};
