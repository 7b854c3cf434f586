/**
 * The sweeper function's entry on AWS Lambda (EventBridge schedule): settles holds that no live
 * request will settle. Locally, `npm start` runs the same sweep on a timer.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SWEEPER_METRIC_UNITS, SWEEPER_SERVICE, SweeperMetric } from '../lib/metrics.ts';
import { tableNamesFromEnv } from '../lib/tables.ts';
import { DEFAULT_HOLD_EXPIRY_MS, type SweepResult, sweepExpiredHolds } from './gateway/sweep.ts';
import { createDocumentClient, databaseDeadlineMs, dynamoOptionsFromEnv, isDatabaseTimeout } from './store/client.ts';
import { WalletStore } from './store/wallets.ts';

const env = process.env;
const logger = new Logger({ serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? SWEEPER_SERVICE });
const metrics = new Metrics({
  namespace: env['POWERTOOLS_METRICS_NAMESPACE'] ?? METRICS_NAMESPACE,
  serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? SWEEPER_SERVICE,
});
const dynamoOptions = dynamoOptionsFromEnv(env);
const wallets = new WalletStore(createDocumentClient(dynamoOptions), tableNamesFromEnv(env));
const expiryMs = env['TOLLGATE_HOLD_EXPIRY'] ? Number(env['TOLLGATE_HOLD_EXPIRY']) * 1000 : DEFAULT_HOLD_EXPIRY_MS;

export const handler = async (): Promise<SweepResult> => {
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
  return result;
};
