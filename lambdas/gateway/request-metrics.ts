import type { Metrics } from '@aws-lambda-powertools/metrics';
import { PROXY_METRIC_UNITS, ProxyMetric } from '../../lib/metrics.ts';
import { BillingError, ConfigurationError, isDatabaseTimeout, UpstreamConnectionError } from '../errors.ts';
import type { ExchangeReport } from './exchange.ts';

export type MetricsSink = Pick<Metrics, 'addMetric' | 'publishStoredMetrics'>;

/**
 * One request's metrics (DESIGN §7): its status, what failed, upstream latency, our overhead and
 * the money the ledger now shows. Published once per request, after the settle.
 *
 * @example recordRequest(metrics, { status: 200, report: await exchange.finish() });
 */
export const recordRequest = (
  metrics: MetricsSink,
  { status, failure, report }: { status: number; failure?: unknown; report?: ExchangeReport },
): void => {
  const count = (name: ProxyMetric, value: number) => metrics.addMetric(name, PROXY_METRIC_UNITS[name], value);
  count(ProxyMetric.Requests, 1);
  if (status >= 500) count(ProxyMetric.Errors5xx, 1);
  if (failure instanceof ConfigurationError) count(ProxyMetric.ConfigurationErrors, 1);
  if (failure instanceof UpstreamConnectionError) count(ProxyMetric.UpstreamConnectionFailures, 1);
  if (failure instanceof BillingError) count(ProxyMetric.HoldsRefused, 1);
  if (failure !== undefined && isDatabaseTimeout(failure)) count(ProxyMetric.DatabaseTimeouts, 1);
  if (report?.upstreamTtfbMs !== undefined) count(ProxyMetric.UpstreamTtfbMs, report.upstreamTtfbMs);
  if (report?.overheadMs !== undefined) count(ProxyMetric.OverheadMs, report.overheadMs);
  const settlement = report?.settlement;
  if (settlement?.usage) {
    const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens } = settlement.usage;
    count(ProxyMetric.TokensBilled, inputTokens + outputTokens + cacheReadTokens + cacheWriteTokens);
  }
  if (settlement) count(ProxyMetric.CostBilledNanoUsd, settlement.cost);
  if (settlement?.overrun) count(ProxyMetric.Overruns, 1);
  metrics.publishStoredMetrics();
};
