import { Readable } from 'node:stream';
import { formatUsd } from '../../gateway/money.ts';
import { getAccount } from '../../services/accounts.ts';
import { InvalidInputError } from '../../services/errors.ts';
import { listKeys } from '../../services/keys.ts';
import type { Payments } from '../../services/payments.ts';
import { type DaySpend, spendByDay, spendTotals } from '../../services/spend.ts';
import { listUsage, type UsageRange } from '../../services/usage.ts';
import { exportUsageCsv } from '../../services/usage-export.ts';
import { html } from '../html.ts';
import type { ConsoleRequest, ConsoleResponse } from '../http.ts';
import { htmlPage } from '../http.ts';
import { type Route, type SignedInContext, signedIn } from '../route.ts';
import type { AddCreditState } from '../views/add-credit.ts';
import { type LedgerFilters, WalletPage } from '../views/wallet.ts';
import { alertState } from './alert.ts';
import { redeemState } from './redeem.ts';

const PAGE_ROWS = 50;
const CHART_DAYS = 30;
const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const earlier = (a: string, b: string): string => (a < b ? a : b);
const later = (a: string, b: string): string => (a < b ? b : a);
const dayAfter = (day: string): string => isoDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS);

/** The filter form's values as typed: only well-formed ones are applied, the others are reported. */
const readFilters = (request: ConsoleRequest): { filters: LedgerFilters; problems: string[] } => {
  const filters: LedgerFilters = {};
  const problems: string[] = [];
  for (const field of ['from', 'to'] as const) {
    const value = request.query.get(field)?.trim();
    if (!value) continue;
    // Date.parse takes 2026-02-30 as March 2: only a day that reads back the same exists.
    const time = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
    if (!Number.isNaN(time) && isoDay(time) === value) filters[field] = value;
    else problems.push(`'${value}' is not a date (YYYY-MM-DD).`);
  }
  if (filters.from && filters.to && filters.from > filters.to) {
    problems.push('The start date is after the end date.');
    delete filters.to;
  }
  const key = request.query.get('key')?.trim();
  if (key) filters.key = key;
  const model = request.query.get('model')?.trim();
  if (model) filters.model = model;
  return { filters, problems };
};

/** The ledger range of the filters: `to` is a whole day, so the exclusive bound is the day after. */
const rangeOf = (accountId: string, filters: LedgerFilters): UsageRange => ({
  accountId,
  ...(filters.from && { since: filters.from }),
  ...(filters.to && { until: dayAfter(filters.to) }),
  ...(filters.key && { keyId: filters.key }),
  ...(filters.model && { model: filters.model }),
});

/**
 * The days whose roll-ups the page shows: the chart's last 30 days, and the filter's period for the
 * totals when it is given (at most 93 days back, the roll-ups' reach). One read for both.
 */
const spendWindow = (today: string, filters: LedgerFilters): { from: string; to: string; period: [string, string] } => {
  const chartFrom = isoDay(Date.parse(`${today}T00:00:00Z`) - (CHART_DAYS - 1) * DAY_MS);
  const earliest = isoDay(Date.parse(`${today}T00:00:00Z`) - 92 * DAY_MS);
  const periodFrom = filters.from && filters.from > earliest ? filters.from : filters.from ? earliest : chartFrom;
  const periodTo = filters.to && filters.to < today ? filters.to : today;
  return { from: earlier(periodFrom, chartFrom), to: today, period: [periodFrom, later(periodTo, periodFrom)] };
};

/** The "Add credit" card: the limits when card payments are configured, and whether Stripe sent the browser back. */
const addCreditState = (request: ConsoleRequest, payments: Payments | undefined): AddCreditState => {
  const returned = request.query.has('paid') ? 'paid' : request.query.has('cancelled') ? 'cancelled' : undefined;
  return {
    ...(returned && { returned }),
    ...(payments && {
      limits: {
        min: formatUsd(payments.limits.minNano),
        max: formatUsd(payments.limits.maxNano),
        presets: payments.limits.presetsNano.map((nano) => formatUsd(nano)),
      },
    }),
  };
};

const walletPage = async ({ request, deps, session }: SignedInContext): Promise<ConsoleResponse> => {
  const accountId = session.accountId;
  const { filters, problems } = readFilters(request);
  const cursor = request.query.get('cursor') ?? undefined;
  const today = isoDay((deps.now?.() ?? new Date()).getTime());
  const window = spendWindow(today, filters);
  const serviceDeps = { ...deps.stores, ...(deps.now && { now: deps.now }) };
  const [wallet, keys, days, payments] = await Promise.all([
    getAccount(serviceDeps, { accountId }),
    listKeys(serviceDeps, { accountId }),
    spendByDay(serviceDeps, { accountId, from: window.from, to: window.to }),
    deps.payments?.(),
  ]);
  let ledger: Awaited<ReturnType<typeof listUsage>>['ledger'];
  try {
    ledger = (
      await listUsage(serviceDeps, { ...rangeOf(accountId, filters), limit: PAGE_ROWS, ...(cursor && { cursor }) })
    ).ledger;
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    problems.push(error.message);
    ledger = (await listUsage(serviceDeps, { accountId, limit: PAGE_ROWS })).ledger;
  }
  const [periodFrom, periodTo] = window.period;
  const inPeriod = (day: DaySpend) => day.day >= periodFrom && day.day <= periodTo;
  const chartFrom = isoDay(Date.parse(`${today}T00:00:00Z`) - (CHART_DAYS - 1) * DAY_MS);
  return htmlPage(
    problems.length > 0 ? 400 : 200,
    html`<${WalletPage}
      session=${session}
      wallet=${wallet}
      ledger=${ledger}
      keys=${keys.keys}
      filters=${filters}
      problems=${problems}
      totals=${spendTotals(days.filter(inPeriod))}
      chart=${days.filter((day) => day.day >= chartFrom)}
      redeem=${redeemState(request)}
      alert=${alertState(request)}
      addCredit=${addCreditState(request, payments)}
    />`,
  );
};

/** `GET /console/wallet.csv`: the filtered range as CSV, streamed; refusals come before the first byte. */
const walletCsv = async ({ request, deps, session }: SignedInContext): Promise<ConsoleResponse> => {
  const { filters, problems } = readFilters(request);
  if (problems.length > 0) throw new InvalidInputError(problems.join(' '));
  const chunks = exportUsageCsv(
    { ...deps.stores, ...(deps.now && { now: deps.now }) },
    rangeOf(session.accountId, filters),
  );
  const first = await chunks.next();
  const body = Readable.from(
    (async function* () {
      if (!first.done) yield first.value;
      yield* chunks;
    })(),
  );
  const name = `tollgate-${session.accountId}-${filters.from ?? 'start'}-to-${filters.to ?? 'now'}.csv`;
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'cache-control': 'no-store',
    },
    body,
  };
};

/** The wallet page (balance, totals, chart, ledger with filters) and its CSV export. */
export const WALLET_ROUTES: readonly Route[] = [
  signedIn('GET', /^\/wallet$/, walletPage),
  signedIn('GET', /^\/wallet\.csv$/, walletCsv),
];
