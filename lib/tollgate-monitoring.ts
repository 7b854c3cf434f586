import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type GraphWidgetProps,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation } from 'aws-cdk-lib/aws-dynamodb';
import type { Rule } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ALARM_PERIOD_MINUTES, ALARMS, type AlarmKey, type AlarmSpec, alarmDescription } from './alarms.ts';
import {
  CONSOLE_SERVICE,
  ConsoleMetric,
  METRICS_NAMESPACE,
  PROXY_SERVICE,
  ProxyMetric,
  SWEEPER_SERVICE,
  SweeperMetric,
} from './metrics.ts';
import { TABLE_NAMES, type TableName } from './tables.ts';
import type { TollgateTable } from './tollgate-table.ts';

export interface TollgateMonitoringProps {
  /** Names the alarms (`Tollgate-<stage>-<alarm>`) and the dashboard (`Tollgate-<stage>`). */
  readonly stage: string;
  /** Every alarm notifies this topic. */
  readonly topic: ITopic;
  readonly proxy: IFunction;
  readonly sweeper: IFunction;
  /** The account holders' console, served from its own function URL. */
  readonly console: IFunction;
  /** The EventBridge rule that runs the sweeper. */
  readonly sweeperSchedule: Rule;
  readonly tables: Readonly<Record<TableName, TollgateTable>>;
  /** Threshold of the proxy's p99 duration alarm. @default 600000 (10 minutes) */
  readonly durationP99AlarmMs?: number;
  /** The proxy's reserved concurrency: the concurrency alarm fires near it. @default none, and no such alarm */
  readonly reservedConcurrency?: number;
}

const PERIOD = Duration.minutes(ALARM_PERIOD_MINUTES);

/**
 * The operations whose throttles and system errors are summed per table. A CloudWatch alarm may use at
 * most 10 metrics, so the PartiQL and stream operations, which Tollgate never calls, are left out.
 */
const TABLE_OPERATIONS: readonly Operation[] = [
  Operation.GET_ITEM,
  Operation.BATCH_GET_ITEM,
  Operation.QUERY,
  Operation.SCAN,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.BATCH_WRITE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
  Operation.TRANSACT_GET_ITEMS,
];

const customMetric = (service: string, metricName: string, statistic: string = Stats.SUM, label?: string): Metric =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic,
    period: PERIOD,
    ...(label && { label }),
  });
const proxyMetric = (name: ProxyMetric, statistic?: string, label?: string): Metric =>
  customMetric(PROXY_SERVICE, name, statistic, label);
const sweeperMetric = (name: SweeperMetric): Metric => customMetric(SWEEPER_SERVICE, name);
const consoleMetric = (name: ConsoleMetric): Metric => customMetric(CONSOLE_SERVICE, name);

/** `100 * errors5xx / requests`: a metric as a percentage of the proxy's requests. */
const percentOfRequests = (part: ProxyMetric, label: string): MathExpression => {
  const id = part.charAt(0).toLowerCase() + part.slice(1);
  return new MathExpression({
    expression: `100 * ${id} / requests`,
    usingMetrics: { [id]: proxyMetric(part), requests: proxyMetric(ProxyMetric.Requests) },
    period: PERIOD,
    label,
  });
};

/**
 * Sums a DynamoDB metric that carries the `Operation` dimension over TABLE_OPERATIONS. DynamoDB only
 * publishes these when they happen, so each operation is filled with 0: a plain `a + b` has a value
 * only where every operation has one, and would almost never fire.
 */
const sumOverOperations = (table: TollgateTable, metricName: string, label: string): MathExpression => {
  const usingMetrics: Record<string, IMetric> = {};
  for (const operation of TABLE_OPERATIONS) {
    // Ids are unique per table: a graph holding several tables' sums shares one id space.
    const id = `${table.definition.name}${operation}`;
    usingMetrics[id] = table.metric(metricName, {
      dimensionsMap: { TableName: table.tableName, Operation: operation },
      statistic: Stats.SUM,
      period: PERIOD,
    });
  }
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period: PERIOD,
    label,
  });
};

/**
 * Tollgate's alarms (one per entry of `ALARMS`, per table where the entry says so), each notifying the
 * reports topic, and the `Tollgate-<stage>` dashboard with the graphs an operator looks at first.
 *
 * @example
 * new TollgateMonitoring(this, 'Monitoring', { stage, topic, proxy, sweeper, sweeperSchedule, console, tables });
 */
export class TollgateMonitoring extends Construct {
  /** Every alarm, named `Tollgate-<stage>-<name>[-<table>]`. */
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly props: TollgateMonitoringProps;

  constructor(scope: Construct, id: string, props: TollgateMonitoringProps) {
    super(scope, id);
    this.props = props;
    const { proxy, sweeper, console: consoleFunction, tables } = props;

    const failedSchedules = new Metric({
      namespace: 'AWS/Events',
      metricName: 'FailedInvocations',
      dimensionsMap: { RuleName: props.sweeperSchedule.ruleName },
      statistic: Stats.SUM,
      period: PERIOD,
    });
    this.addAlarm('proxy5xxRate', percentOfRequests(ProxyMetric.Errors5xx, '5xx %'));
    this.addAlarm('configurationErrors', proxyMetric(ProxyMetric.ConfigurationErrors));
    this.addAlarm('upstreamConnectionFailureRate', percentOfRequests(ProxyMetric.UpstreamConnectionFailures, '502 %'));
    this.addAlarm('proxyThrottles', proxy.metricThrottles({ statistic: Stats.SUM, period: PERIOD }));
    if (props.reservedConcurrency !== undefined) {
      const concurrency = new MathExpression({
        expression: `100 * concurrent / ${props.reservedConcurrency}`,
        usingMetrics: {
          concurrent: proxy.metric('ConcurrentExecutions', { statistic: Stats.MAXIMUM, period: PERIOD }),
        },
        period: PERIOD,
        label: '% of reserved concurrency',
      });
      this.addAlarm('proxyConcurrency', concurrency);
    }
    this.addAlarm('proxyErrors', proxy.metricErrors({ statistic: Stats.SUM, period: PERIOD }));
    this.addAlarm('proxyDurationP99', proxy.metricDuration({ statistic: Stats.p(99), period: PERIOD }), {
      threshold: this.durationThreshold,
    });
    this.addAlarm('settleFailures', proxyMetric(ProxyMetric.SettleFailures));
    this.addAlarm('databaseTimeouts', proxyMetric(ProxyMetric.DatabaseTimeouts));
    this.addAlarm('overruns', proxyMetric(ProxyMetric.Overruns));
    this.addAlarm('console5xx', consoleFunction.metric('Url5xxCount', { statistic: Stats.SUM, period: PERIOD }));
    this.addAlarm('consoleErrors', consoleFunction.metricErrors({ statistic: Stats.SUM, period: PERIOD }));
    this.addAlarm('paymentWebhookFailures', consoleMetric(ConsoleMetric.PaymentWebhookFailures));
    for (const name of TABLE_NAMES) {
      this.addAlarm('tableThrottles', sumOverOperations(tables[name], 'ThrottledRequests', name), { table: name });
      this.addAlarm('tableSystemErrors', sumOverOperations(tables[name], 'SystemErrors', name), { table: name });
    }
    this.addAlarm('sweeperErrors', sweeper.metricErrors({ statistic: Stats.SUM, period: PERIOD }));
    this.addAlarm('sweeperScheduleFailures', failedSchedules);
    this.addAlarm('expiredHolds', sweeperMetric(SweeperMetric.ExpiredHolds));

    this.dashboard = this.createDashboard();
  }

  private get durationThreshold(): number {
    return this.props.durationP99AlarmMs ?? ALARMS.proxyDurationP99.threshold;
  }

  private addAlarm(key: AlarmKey, metric: IMetric, options: { table?: TableName; threshold?: number } = {}): void {
    const spec: AlarmSpec = ALARMS[key];
    const { table } = options;
    const alarmName = `Tollgate-${this.props.stage}-${spec.name}${table ? `-${table}` : ''}`;
    const id = `${spec.name}${table ? table.charAt(0).toUpperCase() + table.slice(1) : ''}Alarm`;
    const alarm = new Alarm(this, id, {
      alarmName,
      alarmDescription: alarmDescription(spec, table),
      metric,
      threshold: options.threshold ?? spec.threshold,
      comparisonOperator:
        spec.comparison === '>'
          ? ComparisonOperator.GREATER_THAN_THRESHOLD
          : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // Every watched metric is published only when something happens: no data means nothing went wrong.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.props.topic));
    this.alarms.push(alarm);
  }

  private createDashboard(): Dashboard {
    const { stage, proxy, sweeper, console: consoleFunction, tables } = this.props;
    const graph = (title: string, left: IMetric[], extra: Partial<GraphWidgetProps> = {}) =>
      new GraphWidget({ title, left, width: 8, height: 6, period: PERIOD, ...extra });
    const lambdaSum = { statistic: Stats.SUM, period: PERIOD };

    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `Tollgate-${stage}` });
    dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }));
    dashboard.addWidgets(
      graph('Requests and 5xx', [proxyMetric(ProxyMetric.Requests), proxyMetric(ProxyMetric.Errors5xx)], {
        right: [percentOfRequests(ProxyMetric.Errors5xx, '5xx % of requests')],
        rightYAxis: { min: 0, max: 100, label: '%', showUnits: false },
      }),
      graph('Error types', [
        proxyMetric(ProxyMetric.ConfigurationErrors, Stats.SUM, '500 configuration'),
        proxyMetric(ProxyMetric.UpstreamConnectionFailures, Stats.SUM, '502 upstream connection'),
        proxyMetric(ProxyMetric.HoldsRefused, Stats.SUM, '402 insufficient balance'),
      ]),
      graph('Proxy duration', [proxy.metricDuration({ statistic: Stats.p(99), period: PERIOD, label: 'p99' })], {
        leftAnnotations: [{ value: this.durationThreshold, label: 'alarm' }],
      }),
    );
    dashboard.addWidgets(
      graph('Upstream TTFB and overhead (ms)', [
        proxyMetric(ProxyMetric.UpstreamTtfbMs, Stats.p(50), 'upstream TTFB p50'),
        proxyMetric(ProxyMetric.UpstreamTtfbMs, Stats.p(99), 'upstream TTFB p99'),
        proxyMetric(ProxyMetric.OverheadMs, Stats.p(99), 'Tollgate overhead p99'),
      ]),
      graph('Tokens and cost billed', [proxyMetric(ProxyMetric.TokensBilled, Stats.SUM, 'tokens')], {
        right: [
          new MathExpression({
            expression: 'nanoUsd / 1000000000',
            usingMetrics: { nanoUsd: proxyMetric(ProxyMetric.CostBilledNanoUsd) },
            period: PERIOD,
            label: 'cost (USD)',
          }),
        ],
      }),
      graph('Lambda throttles and errors', [
        proxy.metricThrottles({ ...lambdaSum, label: 'proxy throttles' }),
        proxy.metricErrors({ ...lambdaSum, label: 'proxy errors' }),
        sweeper.metricErrors({ ...lambdaSum, label: 'sweeper errors' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'DynamoDB throttled requests',
        TABLE_NAMES.map((name) => sumOverOperations(tables[name], 'ThrottledRequests', name)),
      ),
      graph(
        'DynamoDB system errors',
        TABLE_NAMES.map((name) => sumOverOperations(tables[name], 'SystemErrors', name)),
      ),
      graph('Holds', [
        sweeperMetric(SweeperMetric.ExpiredHolds),
        sweeperMetric(SweeperMetric.HoldsReleased),
        sweeperMetric(SweeperMetric.HoldsCharged),
        proxyMetric(ProxyMetric.SettleFailures),
        proxyMetric(ProxyMetric.DatabaseTimeouts),
        proxyMetric(ProxyMetric.Overruns),
      ]),
    );
    // The console: function URL metrics (AWS/Lambda, FunctionName) and the function's own.
    const url = (metricName: string, statistic: string, label: string): IMetric =>
      consoleFunction.metric(metricName, { statistic, period: PERIOD, label });
    dashboard.addWidgets(
      graph('Console requests', [
        url('UrlRequestCount', Stats.SUM, 'requests'),
        url('Url4xxCount', Stats.SUM, '4xx'),
        url('Url5xxCount', Stats.SUM, '5xx'),
      ]),
      graph('Console latency (ms)', [
        url('UrlRequestLatency', Stats.p(50), 'p50'),
        url('UrlRequestLatency', Stats.p(99), 'p99'),
      ]),
      graph('Console errors and duration', [consoleFunction.metricErrors({ ...lambdaSum, label: 'errors' })], {
        right: [consoleFunction.metricDuration({ statistic: Stats.p(99), period: PERIOD, label: 'duration p99 (ms)' })],
      }),
    );
    return dashboard;
  }
}
