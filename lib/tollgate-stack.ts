import { join } from 'node:path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { contextBoolean, contextNumber } from './context.ts';
import { TABLE_NAMES, TABLE_SCHEMAS, type TableName } from './tables.ts';
import { TollgateFunction } from './tollgate-function.ts';
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
}

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
const capitalize = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

/**
 * Tollgate on AWS: the four tables, the proxy function behind a streaming function URL, the encrypted
 * reports topic, and the proxy's scoped access to provider credentials under `tollgate/<stage>/`.
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

    this.proxy = new TollgateFunction(this, 'Proxy', {
      entry: join(import.meta.dirname, '..', 'lambdas', 'proxy.ts'),
      handler: 'handler',
      description: `Tollgate ${stage}: LLM gateway proxy (streaming function URL)`,
      // The function URL's own limit: long generations stream for minutes.
      timeout: Duration.minutes(15),
      memorySize: props.proxyMemorySize ?? contextNumber(this, 'proxyMemorySize') ?? 1024,
      ...(props.logRetention && { logRetention: props.logRetention }),
      logRemovalPolicy: removalPolicy,
      environment: {
        TOLLGATE_STAGE: stage,
        TOLLGATE_REPORTS_TOPIC_ARN: this.reportsTopic.topicArn,
        TOLLGATE_CREDENTIALS_SOURCE: 'secretsmanager',
        TOLLGATE_SECRET_PREFIX: this.secretPrefix,
        POWERTOOLS_SERVICE_NAME: 'tollgate-proxy',
        POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
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

    this.addOutputs();
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
  }
}
