/**
 * The custom metrics Tollgate emits, shared by the code that emits them (Powertools Metrics in
 * `lambdas/`) and the stack that alarms and graphs them (`lib/tollgate-monitoring.ts`), so a renamed
 * metric cannot silently leave an alarm watching nothing.
 *
 * Plain data only: importing this file must not load aws-cdk-lib into the Lambda bundle.
 */

/** `POWERTOOLS_METRICS_NAMESPACE` of every Tollgate function. */
export const METRICS_NAMESPACE = 'Tollgate';

/**
 * `POWERTOOLS_SERVICE_NAME` of each function: Powertools Metrics puts it on every metric as the
 * default dimension `service`, which is the dimension the alarms select on.
 */
export const PROXY_SERVICE = 'tollgate-proxy';
export const SWEEPER_SERVICE = 'tollgate-sweeper';
export const CONSOLE_SERVICE = 'tollgate-console';

/** The Powertools `MetricUnit` values used here (assignable to Powertools' `MetricUnit` type). */
export type TollgateMetricUnit = 'Count' | 'Milliseconds';

/**
 * Metrics the proxy emits (dimension `service=tollgate-proxy`).
 *
 * @example
 * metrics.addMetric(ProxyMetric.Requests, PROXY_METRIC_UNITS.Requests, 1);
 */
export const ProxyMetric = {
  /** Every request that reached the handler (the denominator of the rate alarms). */
  Requests: 'Requests',
  /** Responses with a 5xx status, whatever produced them (ours or an upstream's passed through). */
  Errors5xx: 'Errors5xx',
  /** 500 `configuration_error`: the operator's routing or provider setup is wrong. */
  ConfigurationErrors: 'ConfigurationErrors',
  /** 502 `api_error`: the upstream could not be reached before its response started. */
  UpstreamConnectionFailures: 'UpstreamConnectionFailures',
  /** 402 `billing_error`: the wallet could not cover the hold. */
  HoldsRefused: 'HoldsRefused',
  /** Time from sending the upstream request to its first response byte. */
  UpstreamTtfbMs: 'UpstreamTtfbMs',
  /** Tollgate's own time on a request: its duration minus the upstream's. */
  OverheadMs: 'OverheadMs',
  /** Tokens billed (input + output + cache), as the upstream reported them. */
  TokensBilled: 'TokensBilled',
  /** Cost debited from wallets, in nano-USD. */
  CostBilledNanoUsd: 'CostBilledNanoUsd',
  /** Configuration-error reports published to the reports topic (after deduplication). */
  ReportsPublished: 'ReportsPublished',
  /** Settles that failed: the hold stays pending until the sweeper charges its checkpoint. */
  SettleFailures: 'SettleFailures',
  /**
   * DynamoDB calls that hit their deadline (lambdas/store/client.ts): requests answered 503 because of
   * one, and settles that gave up on one (also counted in SettleFailures).
   */
  DatabaseTimeouts: 'DatabaseTimeouts',
  /** Requests whose reported usage cost more than their hold: debited in full and flagged `overrun`. */
  Overruns: 'Overruns',
  /** 403 before anything else: the request did not come through the shield's CloudFront (no or a wrong origin header). */
  OriginRejected: 'OriginRejected',
} as const;
export type ProxyMetric = (typeof ProxyMetric)[keyof typeof ProxyMetric];

/** Metrics the sweeper emits (dimension `service=tollgate-sweeper`). */
export const SweeperMetric = {
  /** Holds found pending past the proxy's maximum duration: a request died without settling. */
  ExpiredHolds: 'ExpiredHolds',
  /** Expired holds released in full: the request had streamed nothing billable. */
  HoldsReleased: 'HoldsReleased',
  /** Expired holds charged their last checkpoint: the request had streamed output before it died. */
  HoldsCharged: 'HoldsCharged',
} as const;
export type SweeperMetric = (typeof SweeperMetric)[keyof typeof SweeperMetric];

/** Metrics the console emits (dimension `service=tollgate-console`). */
export const ConsoleMetric = {
  /** A Stripe webhook event refused (not USD, no account) or failed (unknown account, error): reported. */
  PaymentWebhookFailures: 'PaymentWebhookFailures',
} as const;
export type ConsoleMetric = (typeof ConsoleMetric)[keyof typeof ConsoleMetric];

export const CONSOLE_METRIC_UNITS: Readonly<Record<ConsoleMetric, TollgateMetricUnit>> = {
  PaymentWebhookFailures: 'Count',
};

export const PROXY_METRIC_UNITS: Readonly<Record<ProxyMetric, TollgateMetricUnit>> = {
  Requests: 'Count',
  Errors5xx: 'Count',
  ConfigurationErrors: 'Count',
  UpstreamConnectionFailures: 'Count',
  HoldsRefused: 'Count',
  UpstreamTtfbMs: 'Milliseconds',
  OverheadMs: 'Milliseconds',
  TokensBilled: 'Count',
  CostBilledNanoUsd: 'Count',
  ReportsPublished: 'Count',
  SettleFailures: 'Count',
  DatabaseTimeouts: 'Count',
  Overruns: 'Count',
  OriginRejected: 'Count',
};

export const SWEEPER_METRIC_UNITS: Readonly<Record<SweeperMetric, TollgateMetricUnit>> = {
  ExpiredHolds: 'Count',
  HoldsReleased: 'Count',
  HoldsCharged: 'Count',
};
