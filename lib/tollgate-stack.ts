import { join } from 'node:path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { contextBoolean, contextNumber, contextString } from './context.ts';
import { METRICS_NAMESPACE, PROXY_SERVICE, SWEEPER_SERVICE } from './metrics.ts';
import { TABLE_NAMES, TABLE_SCHEMAS, type TableName } from './tables.ts';
import { TollgateFunction, type TollgateFunctionProps } from './tollgate-function.ts';
import { TollgateMonitoring } from './tollgate-monitoring.ts';
import { TollgateTable } from './tollgate-table.ts';

export interface TollgateStackProps extends StackProps {
  /** Deployment stage (`dev`, `prod`, …): part of every physical name, so stages share an account. */
  readonly stage: string;
  /** Table deletion protection. @default context `deletionProtection`, else on for `prod` only */
  readonly deletionProtection?: boolean;
  /** Proxy memory in MB (also buys CPU). @default context `proxyMemorySize`, else 1024 */
  readonly proxyMemorySize?: number;
  /** Log retention of the functions. @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * Reserved concurrency of the proxy: a cap on simultaneous requests, and so on cost; requests beyond it
   * get 429 from Lambda. @default context `proxyReservedConcurrency`, else none (the account's pool)
   */
  readonly proxyReservedConcurrency?: number;
  /** Threshold of the proxy's p99 duration alarm, in ms. @default context `durationP99AlarmMs`, else 600000 */
  readonly durationP99AlarmMs?: number;
  /** E-mail address subscribed to the reports topic (alarms and reports). @default context `alarmEmail`, else none */
  readonly alarmEmail?: string;
}

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
/** The function URL's own limit: long generations stream for minutes. */
const PROXY_TIMEOUT = Duration.minutes(15);
/** How often the sweeper runs. A released hold waits at most this long past its expiry. */
const SWEEP_EVERY = Duration.minutes(5);
const capitalize = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

type LogOptions = Pick<TollgateFunctionProps, 'logRetention' | 'logRemovalPolicy'>;

const positiveInteger = (name: string, value: number | undefined): number | undefined => {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  return value;
};

/**
 * Tollgate on AWS: the four tables, the proxy function behind a streaming function URL, the encrypted
 * reports topic, the proxy's scoped access to provider credentials under `tollgate/<stage>/`, the
 * scheduled sweeper that releases holds of requests that died, and the alarms and dashboard
 * (`TollgateMonitoring`).
 *
 * @example
 * const app = new App();
 * new TollgateStack(app, 'Tollgate-dev', { stage: 'dev' });
 */
export class TollgateStack extends Stack {
  readonly stage: string;
  readonly tablePrefix: string;
  readonly secretPrefix: string;
  readonly tables: Readonly<Record<TableName, TollgateTable>>;
  readonly reportsTopic: Topic;
  readonly proxy: TollgateFunction;
  readonly proxyUrl: string;
  readonly sweeper: TollgateFunction;
  readonly sweeperSchedule: Rule;
  readonly monitoring: TollgateMonitoring;

  constructor(scope: Construct, id: string, props: TollgateStackProps) {
    super(scope, id, props);
    const { stage } = props;
    if (!STAGE_PATTERN.test(stage)) {
      throw new Error(`Stage '${stage}' must be 1-20 lowercase letters, digits or '-', starting with a letter`);
    }
    const prod = stage === 'prod';
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const deletionProtection = props.deletionProtection ?? contextBoolean(this, 'deletionProtection') ?? prod;
    this.stage = stage;
    this.tablePrefix = `tollgate-${stage}`;
    this.secretPrefix = `tollgate/${stage}/`;

    const tables: Partial<Record<TableName, TollgateTable>> = {};
    for (const name of TABLE_NAMES) {
      tables[name] = new TollgateTable(this, `${capitalize(name)}Table`, {
        schema: TABLE_SCHEMAS[name],
        tableName: `${this.tablePrefix}-${name}`,
        deletionProtection,
        removalPolicy,
      });
    }
    this.tables = tables as Record<TableName, TollgateTable>;

    this.reportsTopic = this.createReportsTopic(removalPolicy);
    const alarmEmail = props.alarmEmail ?? contextString(this, 'alarmEmail');
    if (alarmEmail !== undefined) {
      if (!/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) throw new Error(`alarmEmail '${alarmEmail}' is not an e-mail address`);
      this.reportsTopic.addSubscription(new EmailSubscription(alarmEmail));
    }
    const reservedConcurrency = positiveInteger(
      'proxyReservedConcurrency',
      props.proxyReservedConcurrency ?? contextNumber(this, 'proxyReservedConcurrency'),
    );
    const durationP99AlarmMs = positiveInteger(
      'durationP99AlarmMs',
      props.durationP99AlarmMs ?? contextNumber(this, 'durationP99AlarmMs'),
    );
    const logs: LogOptions = {
      ...(props.logRetention && { logRetention: props.logRetention }),
      logRemovalPolicy: removalPolicy,
    };

    this.proxy = new TollgateFunction(this, 'Proxy', {
      entry: join(import.meta.dirname, '..', 'lambdas', 'proxy.ts'),
      handler: 'handler',
      description: `Tollgate ${stage}: LLM gateway proxy (streaming function URL)`,
      timeout: PROXY_TIMEOUT,
      memorySize: props.proxyMemorySize ?? contextNumber(this, 'proxyMemorySize') ?? 1024,
      ...(reservedConcurrency && { reservedConcurrentExecutions: reservedConcurrency }),
      ...logs,
      environment: {
        TOLLGATE_STAGE: stage,
        TOLLGATE_REPORTS_TOPIC_ARN: this.reportsTopic.topicArn,
        TOLLGATE_CREDENTIALS_SOURCE: 'secretsmanager',
        TOLLGATE_SECRET_PREFIX: this.secretPrefix,
        POWERTOOLS_SERVICE_NAME: PROXY_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    for (const table of Object.values(this.tables)) this.proxy.bindTable(table, 'readWrite');
    this.reportsTopic.grantPublish(this.proxy);
    this.grantProviderSecrets(this.proxy);

    // Tollgate keys are the authentication: the proxy checks them itself, so the URL is open to callers.
    const url = this.proxy.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
    this.proxyUrl = url.url;

    this.sweeper = this.createSweeper(logs);
    this.sweeperSchedule = this.scheduleSweeper(this.sweeper);

    this.monitoring = new TollgateMonitoring(this, 'Monitoring', {
      stage,
      topic: this.reportsTopic,
      proxy: this.proxy,
      sweeper: this.sweeper,
      sweeperSchedule: this.sweeperSchedule,
      tables: this.tables,
      ...(durationP99AlarmMs && { durationP99AlarmMs }),
    });

    this.addOutputs();
  }

  /**
   * The sweeper releases holds older than the proxy's maximum duration plus a minute: no live request
   * can still settle them. It needs the wallets and the ledger (its `pendingHolds` index) only.
   */
  private createSweeper(logs: LogOptions): TollgateFunction {
    const sweeper = new TollgateFunction(this, 'Sweeper', {
      entry: join(import.meta.dirname, '..', 'lambdas', 'sweeper.ts'),
      handler: 'handler',
      description: `Tollgate ${this.stage}: releases holds of requests that died without settling`,
      timeout: Duration.minutes(5),
      memorySize: 256,
      // The schedule is the retry: a failed run is repeated by the next one, and the sweep is idempotent.
      retryAttempts: 0,
      maxEventAge: SWEEP_EVERY,
      ...logs,
      environment: {
        TOLLGATE_STAGE: this.stage,
        TOLLGATE_HOLD_EXPIRY: String(PROXY_TIMEOUT.toSeconds() + 60),
        POWERTOOLS_SERVICE_NAME: SWEEPER_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    return sweeper.bindTable(this.tables.wallets, 'readWrite').bindTable(this.tables.ledger, 'readWrite');
  }

  private scheduleSweeper(sweeper: TollgateFunction): Rule {
    // No dead-letter queue: a schedule event carries nothing to replay, and the next run does the work.
    // Undeliverable events show as the rule's FailedInvocations, which an alarm watches.
    return new Rule(this, 'SweeperSchedule', {
      description: `Tollgate ${this.stage}: runs the sweeper every ${SWEEP_EVERY.toMinutes()} minutes`,
      schedule: Schedule.rate(SWEEP_EVERY),
      targets: [new LambdaFunction(sweeper, { retryAttempts: 2, maxEventAge: SWEEP_EVERY })],
    });
  }

  /**
   * Encrypted with a customer-managed key rather than `alias/aws/sns`: CloudWatch alarm actions can only
   * publish to an encrypted topic whose key policy lets CloudWatch use the key, and an AWS-managed key's
   * policy cannot be changed.
   */
  private createReportsTopic(removalPolicy: RemovalPolicy): Topic {
    const key = new Key(this, 'ReportsKey', {
      description: `Tollgate ${this.stage}: encrypts the reports topic`,
      enableKeyRotation: true,
      removalPolicy,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    return new Topic(this, 'ReportsTopic', {
      displayName: `Tollgate ${this.stage} reports`,
      masterKey: key,
      enforceSSL: true,
    });
  }

  /** Routes name their credential at run time, so the grant is every secret under the stage's prefix. */
  private grantProviderSecrets(fn: TollgateFunction): void {
    const secrets = this.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.secretPrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secrets] }));
    Validations.of(fn.serviceRole).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.secretPrefix}*]`,
        reason: `Routes name their provider credential at run time; GetSecretValue is limited to secrets under ${this.secretPrefix}, this stage's own prefix.`,
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing to the KMS-encrypted reports topic needs kms:GenerateDataKey* (the grant Topic.grantPublish makes), on that one key only.',
      },
    );
  }

  private addOutputs(): void {
    const output = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    output('ProxyUrl', this.proxyUrl, 'Base URL for clients: <url>v1 is the OpenAI/Anthropic base URL');
    output('Stage', this.stage, 'Deployment stage');
    output('TablePrefix', this.tablePrefix, 'TOLLGATE_TABLE_PREFIX for the tollgate CLI');
    output('SecretPrefix', this.secretPrefix, 'Secrets Manager name prefix of provider credentials');
    for (const name of TABLE_NAMES) {
      output(`${capitalize(name)}TableName`, this.tables[name].tableName, `The ${name} table`);
    }
    output('ReportsTopicArn', this.reportsTopic.topicArn, 'Configuration-error reports and alarms');
    output('SweeperFunctionName', this.sweeper.functionName, 'The function that releases expired holds');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'The CloudWatch dashboard');
  }
}
