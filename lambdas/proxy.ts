/**
 * The proxy function's entry on AWS Lambda: wires the environment to the middy chain in app.ts.
 * Clients are created at module init so warm invocations reuse their connections.
 */
// First: stack traces name the TypeScript sources (reports/source-mapped-stacks.ts).
import './reports/source-mapped-stacks.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { METRICS_NAMESPACE, PROXY_METRIC_UNITS, PROXY_SERVICE, ProxyMetric } from '../lib/metrics.ts';
import { tableNamesFromEnv } from '../lib/tables.ts';
import { createProxyHandler } from './app.ts';
import { configFromEnv } from './gateway/config.ts';
import { envCredentials, secretsManagerCredentials } from './providers/credentials.ts';
import { createReporter } from './reports/reporter.ts';
import { SnsReportSink } from './reports/sns.ts';
import { keyUsageReader } from './services/keys.ts';
import { createDocumentClient, dynamoOptionsFromEnv } from './store/client.ts';
import { CounterStore } from './store/counters.ts';
import { KeyStore } from './store/keys.ts';
import { RollupStore } from './store/rollups.ts';
import { RouteStore } from './store/routes.ts';
import { WalletStore } from './store/wallets.ts';

const env = process.env;
const logger = new Logger({ serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? PROXY_SERVICE });
const metrics = new Metrics({
  namespace: env['POWERTOOLS_METRICS_NAMESPACE'] ?? METRICS_NAMESPACE,
  serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? PROXY_SERVICE,
});
// Only the stores the proxy reads and writes: the console's (members, sessions, roll-ups) stay out of its bundle.
const client = createDocumentClient(dynamoOptionsFromEnv(env));
const tables = tableNamesFromEnv(env);
const topicArn = env['TOLLGATE_REPORTS_TOPIC_ARN'];
const originSecretArn = env['TOLLGATE_ORIGIN_SECRET_ARN'];
/**
 * Behind the shield, CloudFront's origin header value (cached 5 minutes, so a new value is seen within
 * that). Not under the provider-credential prefix: no route can name it.
 */
const originSecret = async (arn: string): Promise<string> => {
  const value = await getSecret(arn, { maxAge: 300 });
  if (typeof value !== 'string' || value === '') throw new Error('The origin secret is empty');
  return value;
};
const sns = topicArn ? new SnsReportSink(topicArn) : undefined;

const wallets = new WalletStore(client, tables);

export const handler = createProxyHandler({
  keys: new KeyStore(client, tables.keys),
  routes: new RouteStore(client, tables.routes),
  wallets,
  keyUsage: keyUsageReader({ wallets, rollups: new RollupStore(client, tables) }),
  counters: new CounterStore(client, tables.counters),
  credentials:
    env['TOLLGATE_CREDENTIALS_SOURCE'] === 'secretsmanager'
      ? secretsManagerCredentials(env['TOLLGATE_SECRET_PREFIX'] ?? 'tollgate/')
      : envCredentials(env),
  reporter: createReporter(
    {
      async publish(report) {
        if (sns) await sns.publish(report);
        else logger.error('configuration report (no topic configured)', { report });
        metrics.addMetric(ProxyMetric.ReportsPublished, PROXY_METRIC_UNITS.ReportsPublished, 1);
      },
    },
    { onPublishError: (error) => logger.error('report publish failed', { error }) },
  ),
  logger,
  config: configFromEnv(env),
  env,
  metrics,
  ...(originSecretArn && { originSecret: () => originSecret(originSecretArn) }),
});
