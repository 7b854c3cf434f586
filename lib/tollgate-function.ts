import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TableAccess } from './access.ts';
import { tableEnvVar } from './tables.ts';
import type { TollgateTable } from './tollgate-table.ts';

const dynamodb = (actions: readonly string[]): string[] => actions.map((action) => `dynamodb:${action}`);

export interface TollgateFunctionProps
  extends Omit<NodejsFunctionProps, 'runtime' | 'architecture' | 'role' | 'logGroup' | 'logRetention'> {
  /** Retention of the function's own log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group when the function goes away. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Node.js 24 arm64 Lambda function with Tollgate's defaults fixed: one minified ESM esbuild bundle
 * with its source map beside it (read only when a stack is first formatted, by
 * lambdas/reports/source-mapped-stacks.ts, which each entry imports first: Node's
 * `--enable-source-maps` would read it at every cold start), JSON logs into its
 * own log group with a retention, and a role that can write that log group and nothing else until access
 * is granted (`bindTable`, `grant*`). Bundles locally with the project's esbuild: no Docker needed.
 *
 * The AWS SDK v3 is taken from the Node.js 24 runtime, not bundled (`externalModules`): the bundle stays
 * near 170 KB and loads faster on a cold start. The runtime's SDK version is not the one the tests ran
 * against; the clients used (DynamoDB, SNS, Secrets Manager) are stable v3 APIs.
 *
 * @example
 * const fn = new TollgateFunction(this, 'Sweeper', { entry: 'lambdas/sweeper.ts', timeout: Duration.minutes(1) });
 * fn.bindTable(tables.ledger, { table: ['UpdateItem'], indexes: { pendingHolds: ['Query'] } });
 */
export class TollgateFunction extends NodejsFunction {
  readonly serviceRole: Role;

  constructor(scope: Construct, id: string, props: TollgateFunctionProps) {
    const { logRetention, logRemovalPolicy, bundling, environment, ...functionProps } = props;
    // Created beside the function (not inside it): both must exist before `super` runs.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: that managed policy may write any log group.
    const serviceRole = new Role(scope, `${id}ServiceRole`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(serviceRole);

    super(scope, id, {
      memorySize: 1024,
      timeout: Duration.seconds(30),
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      ...functionProps,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      role: serviceRole,
      logGroup,
      ...(environment ? { environment } : {}),
      bundling: {
        format: OutputFormat.ESM,
        // ESM output still meets CommonJS dependencies that `require` Node built-ins.
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Stack traces need only the mappings; embedding the sources would triple the upload.
        sourcesContent: false,
        target: 'node24',
        // The Node.js 24 runtime ships AWS SDK v3: leaving it out keeps the bundle near 170 KB (with it,
        // about 790 KB) and the module-init time down; the clients are created once per instance.
        externalModules: ['@aws-sdk/*', '@smithy/*'],
        ...bundling,
      },
    });
    this.serviceRole = serviceRole;
  }

  /**
   * Grants exactly the actions named on one table (one statement) and on each index named (one
   * statement per index), and tells the code the table's physical name through
   * `TOLLGATE_TABLE_<NAME>` (what `tableNamesFromEnv` reads). Nothing else in the account; no
   * `index/*`. The per-function sets live in `lib/access.ts`.
   *
   * @example
   * proxy.bindTable(tables.keys, { table: ['GetItem'] });
   * sweeper.bindTable(tables.ledger, { table: ['UpdateItem'], indexes: { pendingHolds: ['Query'] } });
   */
  bindTable(table: TollgateTable, access: TableAccess): this {
    const known = new Set(table.definition.globalSecondaryIndexes.map((index) => index.indexName));
    if (access.table.length > 0) {
      this.addToRolePolicy(new PolicyStatement({ actions: dynamodb(access.table), resources: [table.tableArn] }));
    }
    for (const [indexName, actions] of Object.entries(access.indexes ?? {})) {
      if (!known.has(indexName)) throw new Error(`Table ${table.definition.name} has no index '${indexName}'`);
      this.addToRolePolicy(
        new PolicyStatement({ actions: dynamodb(actions), resources: [`${table.tableArn}/index/${indexName}`] }),
      );
    }
    this.addEnvironment(tableEnvVar(table.definition.name), table.tableName);
    return this;
  }
}
