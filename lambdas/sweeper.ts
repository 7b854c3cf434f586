/**
 * The sweeper function's entry on AWS Lambda (EventBridge schedule): settles holds that no live
 * request will settle, then e-mails the low-balance alerts that settles recorded (SES, from
 * `TOLLGATE_SENDER_EMAIL`). Locally, `npm start` runs the same sweep on a timer.
 */
// First: stack traces name the TypeScript sources (reports/source-mapped-stacks.ts).
import './reports/source-mapped-stacks.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SWEEPER_METRIC_UNITS, SWEEPER_SERVICE, SweeperMetric } from '../lib/metrics.ts';
import { tableNamesFromEnv } from '../lib/tables.ts';
import { DEFAULT_HOLD_EXPIRY_MS, type SweepResult, sweepExpiredHolds } from './gateway/sweep.ts';
import { SesMailer } from './mail/ses.ts';
import { type AlertsOutcome, sendPendingAlerts } from './services/alerts.ts';
import { createDocumentClient, databaseDeadlineMs, dynamoOptionsFromEnv, isDatabaseTimeout } from './store/client.ts';
import { MemberStore } from './store/members.ts';
import { WalletAdminStore } from './store/wallet-admin.ts';

const env = process.env;
const logger = new Logger({ serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? SWEEPER_SERVICE });
const metrics = new Metrics({
  namespace: env['POWERTOOLS_METRICS_NAMESPACE'] ?? METRICS_NAMESPACE,
  serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? SWEEPER_SERVICE,
});
const dynamoOptions = dynamoOptionsFromEnv(env);
const client = createDocumentClient(dynamoOptions);
const tables = tableNamesFromEnv(env);
const wallets = new WalletAdminStore(client, tables);
const members = new MemberStore(client, tables.members);
const sender = env['TOLLGATE_SENDER_EMAIL'];
const mailer = sender ? new SesMailer(sender) : undefined;
const consoleUrl = env['TOLLGATE_CONSOLE_URL'];

/** Low-balance alerts waiting: sent to the members; without a sender they stay pending, and that is logged. */
const sendAlerts = async (): Promise<AlertsOutcome | undefined> => {
  if (!mailer) {
    const waiting = (await wallets.pendingAlerts(1)).length;
    if (waiting > 0)
      logger.error('low-balance alerts not sent: deploy with -c senderEmail=… (an SES-verified address)');
    return undefined;
  }
  return sendPendingAlerts({ wallets, members, mailer, ...(consoleUrl && { consoleUrl }) });
};
const expiryMs = env['TOLLGATE_HOLD_EXPIRY'] ? Number(env['TOLLGATE_HOLD_EXPIRY']) * 1000 : DEFAULT_HOLD_EXPIRY_MS;

export const handler = async (): Promise<SweepResult & { alerts?: AlertsOutcome }> => {
  const result = await sweepExpiredHolds(wallets, { expiryMs }).catch((error: unknown) => {
    if (isDatabaseTimeout(error)) {
      // Each hold's settle is exactly-once: what this run did not reach, the next one sweeps.
      logger.error(`sweep stopped: the database did not answer within ${databaseDeadlineMs(dynamoOptions) / 1000} s`, {
        error,
      });
    }
    throw error;
  });
  // Found expired: settled now, or by a late request between the scan and the sweeper's settle.
  metrics.addMetric(
    SweeperMetric.ExpiredHolds,
    SWEEPER_METRIC_UNITS.ExpiredHolds,
    result.released + result.charged + result.alreadySettled,
  );
  metrics.addMetric(SweeperMetric.HoldsReleased, SWEEPER_METRIC_UNITS.HoldsReleased, result.released);
  metrics.addMetric(SweeperMetric.HoldsCharged, SWEEPER_METRIC_UNITS.HoldsCharged, result.charged);
  metrics.publishStoredMetrics();
  if (result.released + result.charged > 0) logger.warn('settled expired holds', { ...result });
  else logger.info('sweep done', { ...result });
  const alerts = await sendAlerts();
  if (alerts && alerts.alerts > 0) logger.info('sent low-balance alerts', { ...alerts });
  return alerts ? { ...result, alerts } : result;
};
