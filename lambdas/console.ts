/**
 * The console function's entry on AWS Lambda: the account holders' pages, server-rendered by
 * console/app.ts, over the same tables as the proxy. Clients are created at module init.
 */
// First: stack traces name the TypeScript sources (reports/source-mapped-stacks.ts).
import './reports/source-mapped-stacks.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { CONSOLE_METRIC_UNITS, CONSOLE_SERVICE, ConsoleMetric, METRICS_NAMESPACE } from '../lib/metrics.ts';
import { tableNamesFromEnv } from '../lib/tables.ts';
import { createConsoleHandler } from './console/app.ts';
import type { Mailer } from './mail/mailer.ts';
import { SesMailer } from './mail/ses.ts';
import { createReporter } from './reports/reporter.ts';
import { SnsReportSink } from './reports/sns.ts';
import { type Payments, stripeClient, topUpLimitsFromEnv } from './services/payments.ts';
import { createDocumentClient, dynamoOptionsFromEnv } from './store/client.ts';
import { createStores } from './store/index.ts';

const env = process.env;
const logger = new Logger({ serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? 'tollgate-console' });
const stores = createStores(createDocumentClient(dynamoOptionsFromEnv(env)), tableNamesFromEnv(env));
const sender = env['TOLLGATE_SENDER_EMAIL'];

/** Without a sender address (context `senderEmail`), sign-in e-mails cannot go out: say so in the logs. */
const mailer: Mailer = sender
  ? new SesMailer(sender)
  : {
      send: async (mail) => {
        logger.error('sign-in e-mail not sent: deploy with -c senderEmail=… (an SES-verified address)', {
          to: mail.to,
        });
      },
    };

const topicArn = env['TOLLGATE_REPORTS_TOPIC_ARN'];
const sns = topicArn ? new SnsReportSink(topicArn) : undefined;
const metrics = new Metrics({
  namespace: env['POWERTOOLS_METRICS_NAMESPACE'] ?? METRICS_NAMESPACE,
  serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? CONSOLE_SERVICE,
});
/** The console reports payment webhook refusals and failures only: each one counts for the alarm. */
const reporter = createReporter(
  {
    async publish(report) {
      metrics.addMetric(ConsoleMetric.PaymentWebhookFailures, CONSOLE_METRIC_UNITS.PaymentWebhookFailures, 1);
      metrics.publishStoredMetrics();
      if (sns) await sns.publish(report);
      else logger.error('payment report (no topic configured)', { report });
    },
  },
  { onPublishError: (error) => logger.error('report publish failed', { error }) },
);

const limits = topUpLimitsFromEnv(env);
const keyName = env['TOLLGATE_STRIPE_SECRET_KEY_NAME'];
const webhookName = env['TOLLGATE_STRIPE_WEBHOOK_SECRET_NAME'];
let client: { key: string; payments: Payments } | undefined;

/**
 * Card payments from the two Stripe secrets in Secrets Manager (cached 5 minutes); undefined while
 * either is missing or empty — the wallet page then says card payments are not configured.
 */
const payments = async (): Promise<Payments | undefined> => {
  if (!keyName || !webhookName) return undefined;
  const read = async (name: string): Promise<string | undefined> => {
    try {
      const value = await getSecret(name, { maxAge: 300 });
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  };
  const [key, webhookSecret] = await Promise.all([read(keyName), read(webhookName)]);
  if (!key || !webhookSecret) return undefined;
  if (client?.key !== key) client = { key, payments: { stripe: stripeClient(key), webhookSecret, limits } };
  return { ...client.payments, webhookSecret };
};

export const handler = createConsoleHandler({
  stores,
  mailer,
  logger,
  payments,
  reporter,
  ...(env['TOLLGATE_CONSOLE_URL'] && { consoleUrl: env['TOLLGATE_CONSOLE_URL'] }),
  ...(env['TOLLGATE_GATEWAY_URL'] && { gatewayUrl: env['TOLLGATE_GATEWAY_URL'] }),
});
