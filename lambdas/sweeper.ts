/**
 * The sweeper function's entry on AWS Lambda (EventBridge schedule): releases holds that no live
 * request will settle. Locally, `npm start` runs the same sweep on a timer.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { tableNamesFromEnv } from '../lib/tables.ts';
import { DEFAULT_HOLD_EXPIRY_MS, sweepExpiredHolds } from './gateway/sweep.ts';
import { createDocumentClient, dynamoOptionsFromEnv } from './store/client.ts';
import { createStores } from './store/index.ts';

const env = process.env;
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'tollgate-sweeper' });
const { wallets } = createStores(createDocumentClient(dynamoOptionsFromEnv(env)), tableNamesFromEnv(env));
const expiryMs = env.TOLLGATE_HOLD_EXPIRY ? Number(env.TOLLGATE_HOLD_EXPIRY) * 1000 : DEFAULT_HOLD_EXPIRY_MS;

export const handler = async (): Promise<{ released: number; alreadySettled: number }> => {
  const result = await sweepExpiredHolds(wallets, { expiryMs });
  if (result.released > 0) logger.warn('released expired holds', { ...result });
  else logger.info('sweep done', { ...result });
  return result;
};
