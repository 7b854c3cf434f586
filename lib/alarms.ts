/**
 * Every CloudWatch alarm the stack creates, as data: what it watches, when it fires, what it means and
 * what the operator should do. `lib/tollgate-monitoring.ts` builds the alarms from it (the description
 * is what arrives in the notification), the README's "Operate" section lists it, and the stack tests
 * check each deployed alarm against it.
 *
 * Plain data only (no aws-cdk-lib), so docs tooling can import it cheaply.
 */
import {
  CONSOLE_SERVICE,
  ConsoleMetric,
  METRICS_NAMESPACE,
  PROXY_SERVICE,
  ProxyMetric,
  SWEEPER_SERVICE,
  SweeperMetric,
} from './metrics.ts';

/** Every alarm looks at one 5-minute period: Tollgate's failures are rare enough that one is news. */
export const ALARM_PERIOD_MINUTES = 5;

/** Placeholder in per-table alarm texts, replaced by the table's logical name (`keys`, `ledger`, …). */
const TABLE = '{table}';

export interface AlarmSpec {
  /** The deployed alarm is `Tollgate-<stage>-<name>`, with `-<table>` appended for per-table alarms. */
  readonly name: string;
  /** One alarm per DynamoDB table instead of one for the stack. */
  readonly perTable: boolean;
  /** What is measured, for people: namespace, metric or expression, dimensions, statistic. */
  readonly metric: string;
  /** The alarm fires when the value is `>` (or `>=`) the threshold in one 5-minute period. */
  readonly comparison: '>' | '>=';
  readonly threshold: number;
  /** What it means and what to do; `{table}` stands for the table in per-table alarms. */
  readonly description: string;
}

const proxyMetric = (name: ProxyMetric): string => `${METRICS_NAMESPACE} ${name} (service=${PROXY_SERVICE})`;
const sweeperMetric = (name: SweeperMetric): string => `${METRICS_NAMESPACE} ${name} (service=${SWEEPER_SERVICE})`;
const TABLE_OPERATIONS = 'summed over the 10 item and transaction operations';

export const ALARMS = {
  proxy5xxRate: {
    name: 'Proxy5xxRate',
    perTable: false,
    metric: `100 × Sum ${proxyMetric(ProxyMetric.Errors5xx)} / Sum ${proxyMetric(ProxyMetric.Requests)}, in %`,
    comparison: '>',
    threshold: 5,
    description:
      'More than 5% of proxy requests in 5 minutes were answered with a 5xx status: clients are seeing failures. ' +
      'Open the dashboard\'s "Error types" graph: configuration errors (500) point at a route or a provider ' +
      'credential, upstream connection failures (502) at a provider outage or a wrong base URL; otherwise the ' +
      'upstream itself answered 5xx (passed through). Find the request ids in the proxy log group (level ERROR).',
  },
  configurationErrors: {
    name: 'ConfigurationErrors',
    perTable: false,
    metric: `Sum ${proxyMetric(ProxyMetric.ConfigurationErrors)}`,
    comparison: '>=',
    threshold: 1,
    description:
      "The proxy answered a request with 500 configuration_error: the operator's setup is wrong (missing or " +
      'rejected provider credential, unknown provider, bad base URL, missing price, upstream model not found). ' +
      'Every request to that model fails until it is fixed. The report on this topic names the model and the cause; ' +
      'fix the route (npx tollgate routes set/list) or the secret under tollgate/<stage>/ in Secrets Manager.',
  },
  upstreamConnectionFailureRate: {
    name: 'UpstreamConnectionFailureRate',
    perTable: false,
    metric: `100 × Sum ${proxyMetric(ProxyMetric.UpstreamConnectionFailures)} / Sum ${proxyMetric(ProxyMetric.Requests)}, in %`,
    comparison: '>',
    threshold: 5,
    description:
      'More than 5% of proxy requests in 5 minutes failed with 502 "Upstream connection failed": a provider ' +
      'refused, reset or timed out the connection before answering. Usually a provider outage or network trouble: ' +
      "check the provider's status page. If a single route is affected, check its base URL (npx tollgate routes list). " +
      'Clients may retry; nothing was billed for these requests.',
  },
  proxyThrottles: {
    name: 'ProxyThrottles',
    perTable: false,
    metric: 'AWS/Lambda Throttles (proxy function), Sum',
    comparison: '>=',
    threshold: 1,
    description:
      'Lambda refused proxy invocations (clients got 429 from the function URL): the proxy reached its reserved ' +
      "concurrency (context proxyReservedConcurrency, the cost cap) or the account's regional concurrency limit. " +
      'If the traffic is legitimate, raise proxyReservedConcurrency or request a higher Lambda concurrency quota; ' +
      "if not, find the key behind the load in the proxy's logs and revoke it (npx tollgate keys revoke).",
  },
  proxyConcurrency: {
    name: 'ProxyConcurrency',
    perTable: false,
    metric:
      '100 × Maximum AWS/Lambda ConcurrentExecutions (proxy function) / proxyReservedConcurrency, in % ' +
      '(only when a reserved concurrency is set)',
    comparison: '>=',
    threshold: 80,
    description:
      'The proxy ran at 80% or more of its reserved concurrency (context proxyReservedConcurrency, the cost cap) ' +
      'within 5 minutes: at 100% Lambda answers further requests with 429 (ProxyThrottles follows). If the traffic ' +
      'is legitimate (long streams add up: each open stream holds one), raise proxyReservedConcurrency and redeploy; ' +
      "if not, find the key or IP behind the load in the proxy's logs and WAF's sampled requests, and revoke the key " +
      '(npx tollgate keys revoke) or lower shieldRateLimit.',
  },
  proxyErrors: {
    name: 'ProxyErrors',
    perTable: false,
    metric: 'AWS/Lambda Errors (proxy function), Sum',
    comparison: '>=',
    threshold: 1,
    description:
      'A proxy invocation failed outright (crash, out of memory or the 15-minute timeout), not a handled error ' +
      'response. The request may have died before settling: the sweeper charges the last checkpoint of its hold or ' +
      'releases it (see ExpiredHolds). Read the proxy log group around the alarm time for the error; a timeout points at a stalled ' +
      'upstream stream, out of memory at too small a proxyMemorySize.',
  },
  proxyDurationP99: {
    name: 'ProxyDurationP99',
    perTable: false,
    metric: 'AWS/Lambda Duration (proxy function), p99, in ms (context durationP99AlarmMs)',
    comparison: '>',
    threshold: 600_000,
    description:
      'The 99th percentile of proxy invocation time over 5 minutes exceeded the threshold (default 10 minutes, ' +
      'context durationP99AlarmMs). Long generations are normal, but at 15 minutes Lambda ends the request and it ' +
      "dies unsettled. Compare the dashboard's upstream TTFB and overhead graphs: a slow provider points at the " +
      'route, a high overhead at Tollgate itself. Very long outputs: ask clients to lower max tokens.',
  },
  settleFailures: {
    name: 'SettleFailures',
    perTable: false,
    metric: `Sum ${proxyMetric(ProxyMetric.SettleFailures)}`,
    comparison: '>=',
    threshold: 1,
    description:
      'A request was answered but its settle failed: its usage was not billed and its hold stays on the wallet ' +
      'until the sweeper settles it at its last checkpoint (ExpiredHolds follows). Read the proxy log group for ' +
      'the request id ' +
      'and the DynamoDB error (throttling, system error, permissions); check the TableThrottles and ' +
      'TableSystemErrors alarms of the wallets and ledger tables.',
  },
  databaseTimeouts: {
    name: 'DatabaseTimeouts',
    perTable: false,
    metric: `Sum ${proxyMetric(ProxyMetric.DatabaseTimeouts)}`,
    comparison: '>=',
    threshold: 1,
    description:
      'A DynamoDB call did not answer within its deadline (2 attempts of TOLLGATE_DYNAMODB_TIMEOUT, default 2.5 s ' +
      'each, plus backoff: 6 s): the request was answered 503 with retry-after and nothing was charged, or a settle ' +
      'gave up and its hold waits for the sweeper (SettleFailures follows). Check the AWS Health Dashboard for ' +
      'DynamoDB in this region, the TableThrottles and TableSystemErrors alarms, and, in a VPC, the route to ' +
      'DynamoDB (endpoint, NAT); the proxy log group has the timed-out calls.',
  },
  overruns: {
    name: 'Overruns',
    perTable: false,
    metric: `Sum ${proxyMetric(ProxyMetric.Overruns)}`,
    comparison: '>=',
    threshold: 1,
    description:
      "A request's reported usage cost more than its hold. It was debited in full and its ledger row is flagged " +
      '`overrun`; the account may have gone further below zero than its credit limit. The output cap makes this ' +
      'rare: look for the request id in the proxy log group ("request settled" with overrun), compare the row\'s ' +
      "usage with its hold (npx tollgate usage <account>), and check the route's prices and the input estimate " +
      '(README, Money).',
  },
  console5xx: {
    name: 'Console5xx',
    perTable: false,
    metric: 'AWS/Lambda Url5xxCount (console function URL), Sum',
    comparison: '>=',
    threshold: 1,
    description:
      "The console's function URL answered with a 5xx status: an account holder saw an error page, or could " +
      'not sign in. Read the console log group around the alarm time (level ERROR) for the cause: DynamoDB ' +
      '(check the TableThrottles and TableSystemErrors alarms, DatabaseTimeouts), SES refusing a sign-in ' +
      'e-mail (senderEmail not verified, or the account still in the SES sandbox), or a bug. The proxy and ' +
      'the API keys are not affected.',
  },
  consoleErrors: {
    name: 'ConsoleErrors',
    perTable: false,
    metric: 'AWS/Lambda Errors (console function), Sum',
    comparison: '>=',
    threshold: 1,
    description:
      'A console invocation failed outright (crash, out of memory or its 30-second timeout), not a handled ' +
      'error page; the account holder got an error from the function URL. Read the console log group around ' +
      'the alarm time for the error; a timeout usually means DynamoDB or SES did not answer.',
  },
  paymentWebhookFailures: {
    name: 'PaymentWebhookFailures',
    perTable: false,
    metric: `Sum ${METRICS_NAMESPACE} ${ConsoleMetric.PaymentWebhookFailures} (service=${CONSOLE_SERVICE})`,
    comparison: '>=',
    threshold: 1,
    description:
      'A Stripe webhook event could not be applied: a payment in another currency than USD or naming no account ' +
      '(refused: nothing credited), a payment for an unknown account, or a failure (answered 500: Stripe retries ' +
      'for three days). The report on this topic names the event, the session or charge and the account. Create ' +
      'the account, refund the payment in Stripe, or credit it by hand (npx tollgate topup); then check the ' +
      'Stripe Dashboard (Developers > Webhooks) for deliveries still failing.',
  },
  tableThrottles: {
    name: 'TableThrottles',
    perTable: true,
    metric: `AWS/DynamoDB ThrottledRequests (TableName, Operation), Sum ${TABLE_OPERATIONS}`,
    comparison: '>=',
    threshold: 1,
    description:
      `DynamoDB throttled requests to the ${TABLE} table. On-demand tables throttle on traffic jumps beyond twice ` +
      'the previous peak or on a hot partition (one very busy account). The SDK retries, so clients see latency ' +
      "first, then errors. If it persists, look for one account or key behind the load, or raise the table's warm " +
      'throughput.',
  },
  tableSystemErrors: {
    name: 'TableSystemErrors',
    perTable: true,
    metric: `AWS/DynamoDB SystemErrors (TableName, Operation), Sum ${TABLE_OPERATIONS}`,
    comparison: '>=',
    threshold: 1,
    description:
      `DynamoDB answered requests to the ${TABLE} table with internal server errors (HTTP 500): the fault is on ` +
      "AWS's side and the SDK retries. A single one needs no action. If it persists, check the AWS Health " +
      'Dashboard for DynamoDB in this region and open a support case; failed settles show as SettleFailures.',
  },
  sweeperErrors: {
    name: 'SweeperErrors',
    perTable: false,
    metric: 'AWS/Lambda Errors (sweeper function), Sum',
    comparison: '>=',
    threshold: 1,
    description:
      'A sweeper run failed (error or its 5-minute timeout). Expired holds stay on their wallets until a run ' +
      'succeeds, so those accounts see less balance than they have. The next run starts within 5 minutes; if this ' +
      'keeps firing, read the sweeper log group for the error (a timeout means a large backlog: each run continues ' +
      'where the last stopped).',
  },
  sweeperScheduleFailures: {
    name: 'SweeperScheduleFailures',
    perTable: false,
    metric: 'AWS/Events FailedInvocations (sweeper schedule rule), Sum',
    comparison: '>=',
    threshold: 1,
    description:
      'EventBridge could not invoke the sweeper after its retries, usually because the function or its invoke ' +
      'permission was removed outside CloudFormation. Expired holds are not released until it is fixed: redeploy ' +
      'the stack (npx cdk deploy -c stage=<stage>).',
  },
  expiredHolds: {
    name: 'ExpiredHolds',
    perTable: false,
    metric: `Sum ${sweeperMetric(SweeperMetric.ExpiredHolds)}`,
    comparison: '>=',
    threshold: 1,
    description:
      'The sweeper settled a hold that no request settled: a request died (crash, timeout or failed settle) after ' +
      'reserving funds. It was charged its last checkpoint (the running cost a long stream writes; HoldsCharged, ' +
      'marked estimated) or released in full when it had none (HoldsReleased); the upstream may have charged more ' +
      'than the checkpoint. The ledger row (outcome expired_hold) carries the request id: look it up in the proxy ' +
      'log group and check the ProxyErrors and SettleFailures alarms of the same time.',
  },
} as const satisfies Record<string, AlarmSpec>;

export type AlarmKey = keyof typeof ALARMS;

/** The description as deployed: per-table texts name their table. */
export const alarmDescription = (spec: AlarmSpec, table?: string): string =>
  table === undefined ? spec.description : spec.description.replaceAll(TABLE, table);
