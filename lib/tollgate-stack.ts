import { join } from 'node:path';
import {
  ArnFormat,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FunctionUrlAuthType, type IFunctionUrl, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { CONSOLE_ACCESS, type FunctionAccess, PROXY_ACCESS, SWEEPER_ACCESS } from './access.ts';
import { contextBoolean, contextNumber, contextString } from './context.ts';
import { CONSOLE_SERVICE, METRICS_NAMESPACE, PROXY_SERVICE, SWEEPER_SERVICE } from './metrics.ts';
import { TABLE_NAMES, TABLE_SCHEMAS, type TableName } from './tables.ts';
import { TollgateEdge } from './tollgate-edge.ts';
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
   * get 429 from Lambda. `'none'` takes the account's unreserved pool instead.
   * @default context `proxyReservedConcurrency`, else 100 for `prod` and 10 for other stages
   */
  readonly proxyReservedConcurrency?: number | 'none';
  /** Threshold of the proxy's p99 duration alarm, in ms. @default context `durationP99AlarmMs`, else 600000 */
  readonly durationP99AlarmMs?: number;
  /** E-mail address subscribed to the reports topic (alarms and reports). @default context `alarmEmail`, else none */
  readonly alarmEmail?: string;
  /**
   * CloudFront and AWS WAF in front of the function URL (`TollgateEdge`): the public URL becomes the
   * distribution's, and the proxy refuses requests that did not come through it. `lib/tollgate-app.ts`
   * decides when (context `shield`, on for `prod`) and builds the web ACL. @default none: the bare function URL
   */
  readonly shield?: TollgateStackShield;
  /**
   * The address the console sends sign-in e-mails from, through SES (a verified identity: the address or
   * its domain). @default context `senderEmail`, else none: the console cannot send e-mail, and the
   * function may not use SES at all
   */
  readonly senderEmail?: string;
  /**
   * The console's public URL when it is served under a custom domain (`https://console.example.com/console`),
   * for the links in its e-mails. @default context `consoleUrl`, else none: the console uses the domain
   * of the function URL it was called on
   */
  readonly consoleUrl?: string;
}

export interface TollgateStackShield {
  /** ARN of the WAF web ACL (scope CLOUDFRONT, in us-east-1). */
  readonly webAclArn: string;
  /** CloudFront's origin response timeout. @default 60 seconds */
  readonly readTimeout?: Duration;
}

/** Default reserved concurrency: a cost cap that a flood cannot get past. */
export const DEFAULT_RESERVED_CONCURRENCY = { prod: 100, other: 10 } as const;

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
/** The function URL's own limit: long generations stream for minutes. */
const PROXY_TIMEOUT = Duration.minutes(15);
/** How often the sweeper runs. A released hold waits at most this long past its expiry. */
const SWEEP_EVERY = Duration.minutes(5);
/** The console answers pages, not streams of tokens: anything slower than this is a fault. */
const CONSOLE_TIMEOUT = Duration.seconds(30);
/** The path prefix the console serves (`lambdas/console.ts`): its URL is the function URL plus this. */
const CONSOLE_PATH = 'console';
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+$/;
/** How much sooner than CloudFront's origin timeout the proxy gives up on a silent upstream. */
const UPSTREAM_MARGIN_SECONDS = 5;
const capitalize = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

type LogOptions = Pick<TollgateFunctionProps, 'logRetention' | 'logRemovalPolicy'>;

const positiveInteger = (name: string, value: number | undefined): number | undefined => {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  return value;
};

/**
 * Tollgate on AWS: the tables, the proxy function behind a streaming function URL, the encrypted
 * reports topic, the proxy's scoped access to provider credentials under `tollgate/<stage>/`, the
 * scheduled sweeper that releases holds of requests that died, the account holders' console (its own
 * function, bundle and function URL), and the alarms and dashboard (`TollgateMonitoring`).
 *
 * @example
 * const app = new App();
 * new TollgateStack(app, 'Tollgate-dev', { stage: 'dev' });
 */
export class TollgateStack extends Stack {
  readonly stage: string;
  readonly tablePrefix: string;
  readonly secretPrefix: string;
  /**
   * Secrets Manager names of the Stripe secrets the console reads (card top-ups): outside
   * {@link secretPrefix}, so no route can name them as a provider credential.
   */
  readonly stripeSecretNames: { secretKey: string; webhookSecret: string };
  readonly tables: Readonly<Record<TableName, TollgateTable>>;
  readonly reportsTopic: Topic;
  readonly proxy: TollgateFunction;
  /** The base URL clients use: CloudFront's when the shield is on, else the function URL. */
  readonly proxyUrl: string;
  /** The function URL itself (behind the shield, it answers 403 to anyone but CloudFront). */
  readonly originUrl: string;
  readonly edge: TollgateEdge | undefined;
  readonly reservedConcurrency: number | undefined;
  readonly sweeper: TollgateFunction;
  readonly sweeperSchedule: Rule;
  /** The account holders' web console (`lambdas/console.ts`). */
  readonly console: TollgateFunction;
  /** Where account holders open the console: its function URL plus `console`. */
  readonly consoleUrl: string;
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
    this.stripeSecretNames = {
      secretKey: `tollgate-payments/${stage}/stripe-secret-key`,
      webhookSecret: `tollgate-payments/${stage}/stripe-webhook-secret`,
    };

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
      if (!EMAIL_PATTERN.test(alarmEmail)) throw new Error(`alarmEmail '${alarmEmail}' is not an e-mail address`);
      this.reportsTopic.addSubscription(new EmailSubscription(alarmEmail));
    }
    const reservedConcurrency = this.readReservedConcurrency(props, prod);
    this.reservedConcurrency = reservedConcurrency;
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
    this.bindTables(this.proxy, PROXY_ACCESS);
    this.reportsTopic.grantPublish(this.proxy);
    this.grantProviderSecrets(this.proxy);

    // Tollgate keys are the authentication: the proxy checks them itself, so the URL is open to callers.
    // Behind the shield it stays NONE too (origin access control would need clients to sign POST bodies);
    // the origin header checked by lambdas/middlewares/origin-guard.ts keeps out whoever skips CloudFront.
    const url = this.proxy.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
    this.originUrl = url.url;
    this.edge = props.shield ? this.createEdge(url, props.shield) : undefined;
    this.proxyUrl = this.edge?.url ?? url.url;

    this.sweeper = this.createSweeper(logs);
    this.sweeperSchedule = this.scheduleSweeper(this.sweeper);

    const webConsole = this.createConsole(logs, props, url);
    this.console = webConsole.fn;
    this.consoleUrl = webConsole.url;
    this.wireAlertMail(this.sweeper, props);

    this.monitoring = new TollgateMonitoring(this, 'Monitoring', {
      stage,
      topic: this.reportsTopic,
      proxy: this.proxy,
      sweeper: this.sweeper,
      sweeperSchedule: this.sweeperSchedule,
      console: this.console,
      tables: this.tables,
      ...(durationP99AlarmMs && { durationP99AlarmMs }),
      ...(reservedConcurrency && { reservedConcurrency }),
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
    return this.bindTables(sweeper, SWEEPER_ACCESS);
  }

  /**
   * The account holders' console: its own bundle (nothing of it reaches the proxy's) behind its own
   * streaming function URL. The URL is open: the console signs people in itself (one-time e-mail links,
   * server-side sessions). It links to the gateway's public base URL, and sends e-mail through SES only
   * when a sender is configured.
   */
  private createConsole(
    logs: LogOptions,
    props: TollgateStackProps,
    proxyUrl: IFunctionUrl,
  ): { fn: TollgateFunction; url: string } {
    const senderEmail = props.senderEmail ?? contextString(this, 'senderEmail');
    if (senderEmail !== undefined && !EMAIL_PATTERN.test(senderEmail)) {
      throw new Error(`senderEmail '${senderEmail}' is not an e-mail address`);
    }
    const consoleUrl = props.consoleUrl ?? contextString(this, 'consoleUrl');
    if (consoleUrl !== undefined && !/^https:\/\/[^/\s]+(\/\S*)?$/.test(consoleUrl)) {
      throw new Error(`consoleUrl '${consoleUrl}' is not an https:// URL`);
    }
    // The URLs end with '/' (`https://<domain>/`); the console wants the origin alone.
    const gatewayUrl = this.edge
      ? `https://${this.edge.distribution.distributionDomainName}`
      : `https://${Fn.select(2, Fn.split('/', proxyUrl.url))}`;

    const fn = new TollgateFunction(this, 'Console', {
      entry: join(import.meta.dirname, '..', 'lambdas', 'console.ts'),
      handler: 'handler',
      description: `Tollgate ${this.stage}: the account holders' web console`,
      timeout: CONSOLE_TIMEOUT,
      memorySize: 256,
      ...logs,
      environment: {
        TOLLGATE_STAGE: this.stage,
        TOLLGATE_GATEWAY_URL: gatewayUrl,
        ...(senderEmail && { TOLLGATE_SENDER_EMAIL: senderEmail }),
        ...(consoleUrl && { TOLLGATE_CONSOLE_URL: consoleUrl.replace(/\/+$/, '') }),
        TOLLGATE_REPORTS_TOPIC_ARN: this.reportsTopic.topicArn,
        TOLLGATE_STRIPE_SECRET_KEY_NAME: this.stripeSecretNames.secretKey,
        TOLLGATE_STRIPE_WEBHOOK_SECRET_NAME: this.stripeSecretNames.webhookSecret,
        POWERTOOLS_SERVICE_NAME: CONSOLE_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    this.bindTables(fn, CONSOLE_ACCESS);
    if (senderEmail) this.grantSendEmail(fn, senderEmail);
    // Payment webhook refusals and failures are reported like configuration errors.
    this.reportsTopic.grantPublish(fn);
    Validations.of(fn.serviceRole).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the KMS-encrypted reports topic needs kms:GenerateDataKey* (the grant Topic.grantPublish makes), on that one key only.',
    });
    // The two Stripe secrets only (Secrets Manager appends six random characters to a secret's ARN).
    const stripeSecrets = [this.stripeSecretNames.secretKey, this.stripeSecretNames.webhookSecret].map((name) =>
      this.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${name}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    fn.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: stripeSecrets }));

    const url = fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.RESPONSE_STREAM });
    return { fn, url: `${url.url}${CONSOLE_PATH}` };
  }

  /**
   * The sweeper e-mails low-balance alerts: through SES from the console's sender (without one, alerts
   * stay pending and the sweeper logs it), linking the console's wallet page at its public URL.
   */
  private wireAlertMail(sweeper: TollgateFunction, props: TollgateStackProps): void {
    const senderEmail = props.senderEmail ?? contextString(this, 'senderEmail');
    const consoleUrl = props.consoleUrl ?? contextString(this, 'consoleUrl');
    sweeper.addEnvironment('TOLLGATE_CONSOLE_URL', consoleUrl?.replace(/\/+$/, '') ?? this.consoleUrl);
    if (senderEmail) {
      sweeper.addEnvironment('TOLLGATE_SENDER_EMAIL', senderEmail);
      this.grantSendEmail(sweeper, senderEmail);
    }
  }

  /**
   * SES `SendEmail` (the action of SESv2's SendEmail too) from the sender's address only: on the identity
   * of the address and of its domain (SES authorizes against whichever is verified), and only with that
   * address as the From address.
   */
  private grantSendEmail(fn: TollgateFunction, senderEmail: string): void {
    const domain = senderEmail.slice(senderEmail.lastIndexOf('@') + 1);
    const identity = (name: string): string =>
      this.formatArn({
        service: 'ses',
        resource: 'identity',
        resourceName: name,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identity(senderEmail), identity(domain)],
        conditions: { StringEquals: { 'ses:FromAddress': senderEmail } },
      }),
    );
  }

  /** Exactly the actions of `access` (lib/access.ts) on each table it names; no other table. */
  private bindTables<F extends TollgateFunction>(fn: F, access: FunctionAccess): F {
    for (const name of TABLE_NAMES) {
      const tableAccess = access[name];
      if (tableAccess) fn.bindTable(this.tables[name], tableAccess);
    }
    return fn;
  }

  private readReservedConcurrency(props: TollgateStackProps, prod: boolean): number | undefined {
    const given = props.proxyReservedConcurrency ?? contextString(this, 'proxyReservedConcurrency');
    if (given === 'none') return undefined;
    const value =
      given === undefined
        ? prod
          ? DEFAULT_RESERVED_CONCURRENCY.prod
          : DEFAULT_RESERVED_CONCURRENCY.other
        : typeof given === 'number'
          ? given
          : contextNumber(this, 'proxyReservedConcurrency');
    return positiveInteger('proxyReservedConcurrency', value);
  }

  /**
   * CloudFront + WAF in front of the URL. The proxy reads the origin secret (that one secret only) and
   * stops waiting on an upstream a little before CloudFront would stop waiting on the proxy, so that a
   * silent upstream ends in Tollgate's own error (settled, billed for what was streamed) instead of a cut
   * connection.
   */
  private createEdge(url: IFunctionUrl, shield: TollgateStackShield): TollgateEdge {
    const edge = new TollgateEdge(this, 'Edge', {
      stage: this.stage,
      functionUrl: url,
      webAclArn: shield.webAclArn,
      ...(shield.readTimeout && { readTimeout: shield.readTimeout }),
    });
    const readTimeout = edge.readTimeout.toSeconds();
    this.proxy.addEnvironment('TOLLGATE_ORIGIN_SECRET_ARN', edge.originSecret.secretArn);
    this.proxy.addEnvironment('TOLLGATE_UPSTREAM_IDLE_TIMEOUT', String(readTimeout - UPSTREAM_MARGIN_SECONDS));
    this.proxy.addEnvironment('TOLLGATE_UPSTREAM_HEADERS_TIMEOUT', String(readTimeout - UPSTREAM_MARGIN_SECONDS));
    this.proxy.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [edge.originSecret.secretArn] }),
    );
    return edge;
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
    // cdk-nag names the resource as rendered: pseudo parameters in an environment-agnostic stack, literals otherwise.
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
    Validations.of(fn.serviceRole).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${this.secretPrefix}*]`,
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
    if (this.edge) {
      output('OriginUrl', this.originUrl, "The proxy's function URL: CloudFront's origin, 403 to anyone else");
      output('DistributionId', this.edge.distribution.distributionId, 'The CloudFront distribution');
    }
    output('Stage', this.stage, 'Deployment stage');
    output('TablePrefix', this.tablePrefix, 'TOLLGATE_TABLE_PREFIX for the tollgate CLI');
    output('SecretPrefix', this.secretPrefix, 'Secrets Manager name prefix of provider credentials');
    for (const name of TABLE_NAMES) {
      output(`${capitalize(name)}TableName`, this.tables[name].tableName, `The ${name} table`);
    }
    output('ReportsTopicArn', this.reportsTopic.topicArn, 'Configuration-error reports and alarms');
    output('ConsoleUrl', this.consoleUrl, "The account holders' web console");
    output('SweeperFunctionName', this.sweeper.functionName, 'The function that releases expired holds');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'The CloudWatch dashboard');
  }
}
