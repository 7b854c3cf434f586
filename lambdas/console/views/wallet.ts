import type { LedgerEntry, LedgerPage, WalletSummary } from '../../gateway/wallet-view.ts';
import { describeDiscount } from '../../gateway/wallet-view.ts';
import type { KeySummary } from '../../services/keys.ts';
import type { DaySpend, SpendTotals } from '../../services/spend.ts';
import { html, type VNode } from '../html.ts';
import { consolePath } from '../http.ts';
import type { Session } from '../session.ts';
import { AddCredit, type AddCreditState } from './add-credit.ts';
import { AlertForm, type AlertState } from './alert.ts';
import { Layout, Notice } from './layout.ts';
import { count, Time, Usd } from './money.ts';
import { RedeemCode, type RedeemState } from './redeem.ts';

const Balance = ({ wallet }: { wallet: WalletSummary }): VNode => html`
  <section class="card" aria-labelledby="balance-title">
    <h2 id="balance-title">Balance</h2>
    <div class=${`figure${wallet.balance_usd.startsWith('-') ? ' negative' : ''}`} data-testid="balance">
      <${Usd} value=${wallet.balance_usd} />
    </div>
    <dl class="facts">
      <dt>Credit limit</dt><dd><${Usd} value=${wallet.credit_limit_usd} /></dd>
      <dt>Available</dt><dd><${Usd} value=${wallet.available_usd} /> <span class="muted small">(balance + credit limit)</span></dd>
      <dt>Discount</dt><dd>${describeDiscount(wallet.discount_ppm)}</dd>
    </dl>
  </section>
`;

const flags = (entry: LedgerEntry): VNode[] => {
  if (entry.type === 'topup') return [html`<span class="tag good">top-up</span>`];
  if (entry.type === 'adjustment') return [html`<span class="tag bad">adjustment</span>`];
  const tags: VNode[] = [];
  if (entry.status === 'pending') tags.push(html`<span class="tag warn">pending</span>`);
  else if (entry.outcome && entry.outcome !== 'completed') tags.push(html`<span class="tag">${entry.outcome}</span>`);
  if (entry.fallback_from)
    tags.push(html`<span class="tag" title=${`routed first to ${entry.fallback_from}`}>fallback</span>`);
  if (entry.estimated)
    tags.push(
      html`<span class="tag warn" title="The upstream reported no usage: the cost is our documented estimate">estimated</span>`,
    );
  if (entry.overrun)
    tags.push(
      html`<span class="tag bad" title="The reported usage cost more than the hold; charged in full">overrun</span>`,
    );
  return tags;
};

const LedgerRow = ({ entry, keyNames }: { entry: LedgerEntry; keyNames: ReadonlyMap<string, string> }): VNode =>
  entry.type === 'adjustment'
    ? html`<tr>
        <td><${Time} at=${entry.at} /></td>
        <td colspan="7" class="muted">
          Adjustment <span class="mono small">${entry.id}</span>
          <div class="small">${entry.reason}</div>
        </td>
        <td class="num"><${Usd} value=${entry.amount_usd} /></td>
        <td>${flags(entry)}</td>
      </tr>`
    : entry.type === 'topup'
      ? html`<tr>
        <td><${Time} at=${entry.at} /></td>
        <td colspan="7" class="muted">
          Top-up <span class="mono small">${entry.id}</span>
          ${
            entry.payment?.receipt_url?.startsWith('https://')
              ? html` · <a href=${entry.payment.receipt_url} target="_blank" rel="noopener noreferrer">Receipt</a>`
              : null
          }
        </td>
        <td class="num"><${Usd} value=${entry.amount_usd} /></td>
        <td>${flags(entry)}</td>
      </tr>`
      : html`<tr>
        <td><${Time} at=${entry.at} /></td>
        <td class="name">${keyNames.get(entry.key_id) ?? entry.key_id}</td>
        <td class="name">${entry.model}<div class="muted small">${entry.provider}</div></td>
        <td class="num">${entry.usage ? count(entry.usage.input_tokens) : '—'}</td>
        <td class="num">${entry.usage ? count(entry.usage.output_tokens) : '—'}</td>
        <td class="num">${entry.usage ? count(entry.usage.cache_read_tokens) : '—'}</td>
        <td class="num">${entry.usage ? count(entry.usage.cache_write_tokens) : '—'}</td>
        <td class="num" data-request=${entry.id}>
          ${entry.cost_usd === null ? html`<span class="muted">held <${Usd} value=${entry.hold_usd} /></span>` : html`<${Usd} value=${entry.cost_usd} />`}
        </td>
        <td class="num"><${Usd} value=${entry.amount_usd} /></td>
        <td>${flags(entry)}</td>
      </tr>`;

export const Ledger = ({
  ledger,
  keyNames,
  filters,
}: {
  ledger: LedgerPage;
  keyNames: ReadonlyMap<string, string>;
  filters: LedgerFilters;
}): VNode => html`
  <section class="card" aria-labelledby="ledger-title">
    <h2 id="ledger-title">Ledger</h2>
    ${
      ledger.data.length === 0
        ? html`<p class="empty">
            ${
              Object.keys(filters).length > 0
                ? 'No ledger rows match these filters.'
                : "No requests or top-ups yet. Calls made with this account's keys appear here with their exact cost."
            }
          </p>`
        : html`<div class="table-wrap">
            <table class="wide">
              <caption class="visually-hidden">Ledger, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time (UTC)</th><th scope="col">Key</th><th scope="col">Model / route</th>
                  <th scope="col" class="num">In</th><th scope="col" class="num">Out</th>
                  <th scope="col" class="num">Cache read</th><th scope="col" class="num">Cache write</th>
                  <th scope="col" class="num">Cost</th><th scope="col" class="num">Balance change</th><th scope="col">Flags</th>
                </tr>
              </thead>
              <tbody>${ledger.data.map((entry) => html`<${LedgerRow} entry=${entry} keyNames=${keyNames} />`)}</tbody>
            </table>
          </div>`
    }
    ${
      ledger.next_cursor
        ? html`<div class="pager"><a class="button secondary" href=${consolePath('/wallet', { ...filters, cursor: ledger.next_cursor })}>Older rows →</a></div>`
        : null
    }
  </section>
`;

/** The ledger filters as the form gives them: `from`/`to` whole UTC days (inclusive), a key id, a model. */
export interface LedgerFilters {
  from?: string;
  to?: string;
  key?: string;
  model?: string;
}

const Filters = ({
  filters,
  keys,
  models,
}: {
  filters: LedgerFilters;
  keys: readonly KeySummary[];
  models: readonly string[];
}): VNode => html`
  <form class="card" method="get" action=${consolePath('/wallet')} aria-labelledby="filters-title">
    <h2 id="filters-title">Filter the ledger</h2>
    <div class="filters">
      <div class="field">
        <label for="filter-key">Key</label>
        <select id="filter-key" name="key">
          <option value="">Every key</option>
          ${keys.map(
            (key) =>
              html`<option value=${key.keyId} selected=${key.keyId === filters.key}>${key.name ?? key.prefix} (${key.keyId})</option>`,
          )}
        </select>
      </div>
      <div class="field">
        <label for="filter-model">Model</label>
        <select id="filter-model" name="model">
          <option value="">Every model</option>
          ${models.map((model) => html`<option value=${model} selected=${model === filters.model}>${model}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="filter-from">From (UTC)</label>
        <input id="filter-from" name="from" type="date" value=${filters.from ?? ''} />
      </div>
      <div class="field">
        <label for="filter-to">To (UTC, inclusive)</label>
        <input id="filter-to" name="to" type="date" value=${filters.to ?? ''} />
      </div>
      <div class="field actions">
        <button type="submit">Apply</button>
        <a class="button secondary" href=${consolePath('/wallet.csv', { ...filters })} download>Export CSV</a>
        ${Object.keys(filters).length > 0 ? html`<a href=${consolePath('/wallet')}>Clear</a>` : null}
      </div>
    </div>
  </form>
`;

const Totals = ({ totals, keyNames }: { totals: SpendTotals; keyNames: ReadonlyMap<string, string> }): VNode => html`
  <section class="card" aria-labelledby="totals-title">
    <h2 id="totals-title">Totals ${totals.from && totals.to ? html`<span class="muted small">${totals.from} to ${totals.to} (UTC)</span>` : null}</h2>
    <dl class="facts">
      <dt>Spent</dt><dd><${Usd} value=${totals.cost_usd} /> over ${count(totals.requests)} request${totals.requests === 1 ? '' : 's'}</dd>
      ${totals.pending > 0 ? html`<dt>Held now</dt><dd><${Usd} value=${totals.held_usd} /> by ${count(totals.pending)} request(s) in flight</dd>` : null}
      <dt>Top-ups</dt><dd><${Usd} value=${totals.top_ups_usd} /> (${count(totals.top_ups)})</dd>
    </dl>
    ${
      totals.requests === 0
        ? html`<p class="empty">No requests in this period.</p>`
        : html`<div class="grid">
            <div class="table-wrap">
              <table>
                <caption class="muted small">By model</caption>
                <thead><tr><th scope="col">Model</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Tokens in / out</th><th scope="col" class="num">Cost</th></tr></thead>
                <tbody>
                  ${totals.models.map(
                    (model) => html`<tr>
                      <td class="name">${model.model}</td>
                      <td class="num">${count(model.requests)}</td>
                      <td class="num">${count(model.input_tokens + model.cache_read_tokens + model.cache_write_tokens)} / ${count(model.output_tokens)}</td>
                      <td class="num"><${Usd} value=${model.cost_usd} /></td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>
            <div class="table-wrap">
              <table>
                <caption class="muted small">By key</caption>
                <thead><tr><th scope="col">Key</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Cost</th></tr></thead>
                <tbody>
                  ${totals.keys.map(
                    (key) => html`<tr>
                      <td class="name">${keyNames.get(key.key_id) ?? key.key_id}</td>
                      <td class="num">${count(key.requests)}</td>
                      <td class="num"><${Usd} value=${key.cost_usd} /></td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>
          </div>`
    }
  </section>
`;

const PALETTE = ['#2456d6', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2'];
const OTHER_COLOR = '#94a3b8';
const CHART = { width: 720, height: 220, left: 8, right: 8, top: 12, bottom: 26 } as const;

/** The top of the scale, rounded for reading: `$12`, `$0.35`, `$0.00015`. */
const scaleLabel = (max: number): string =>
  `$${max >= 10 ? max.toFixed(0) : max >= 0.01 ? max.toFixed(2) : max.toFixed(Math.min(9, 1 - Math.floor(Math.log10(max))))}`;

/** nano-USD (a decimal string) as a number of dollars, for drawing only: amounts shown stay exact. */
const dollars = (nano: string): number => Number(nano) / 1e9;

/**
 * Daily spend by model over the last 30 days: stacked bars, the five models that cost most in the
 * period in colour and the rest as "other". Each bar segment names its day, model and exact cost
 * (tooltip and accessible name); a table of the same numbers follows for screen readers and exact reading.
 */
const SpendChart = ({ days }: { days: readonly DaySpend[] }): VNode => {
  const byModel = new Map<string, bigint>();
  for (const day of days)
    for (const model of day.models)
      byModel.set(model.model, (byModel.get(model.model) ?? 0n) + BigInt(model.cost_nano));
  const top = [...byModel.entries()]
    .filter(([, cost]) => cost > 0n)
    .sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0].localeCompare(b[0])))
    .slice(0, PALETTE.length - 1)
    .map(([model]) => model);
  const color = (model: string): string => PALETTE[top.indexOf(model)] ?? OTHER_COLOR;
  const hasOther = [...byModel.entries()].some(([model, cost]) => cost > 0n && !top.includes(model));
  const max = Math.max(0, ...days.map((day) => dollars(day.cost_nano)));
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = (CHART.width - CHART.left - CHART.right) / Math.max(days.length, 1);
  const barWidth = Math.max(2, slot * 0.72);
  const total = days.reduce((sum, day) => sum + BigInt(day.cost_nano), 0n);
  return html`
    <section class="card chart" aria-labelledby="chart-title">
      <h2 id="chart-title">Daily spend by model <span class="muted small">last ${days.length} days</span></h2>
      ${
        total === 0n
          ? html`<p class="empty">No spend in the last ${days.length} days.</p>`
          : html`<div class="plot-wrap"><svg class="plot" viewBox=${`0 0 ${CHART.width} ${CHART.height}`} role="img" aria-labelledby="chart-title">
              <line x1=${CHART.left} x2=${CHART.width - CHART.right} y1=${CHART.top} y2=${CHART.top} stroke="#e5e7eb" />
              <line x1=${CHART.left} x2=${CHART.width - CHART.right} y1=${CHART.top + plotHeight / 2} y2=${CHART.top + plotHeight / 2} stroke="#e5e7eb" />
              <line x1=${CHART.left} x2=${CHART.width - CHART.right} y1=${CHART.top + plotHeight} y2=${CHART.top + plotHeight} stroke="#9ca3af" />
              <text x=${CHART.width - CHART.right} y=${CHART.top - 2} text-anchor="end" font-size="13" fill="#5b6470">${scaleLabel(max)}</text>
              ${days.map((day, index) => {
                let y = CHART.top + plotHeight;
                const x = CHART.left + index * slot + (slot - barWidth) / 2;
                const segments = day.models
                  .filter((model) => model.cost_nano !== '0')
                  .map((model) => {
                    const h = max > 0 ? (dollars(model.cost_nano) / max) * plotHeight : 0;
                    y -= h;
                    return html`<rect x=${x.toFixed(1)} y=${y.toFixed(1)} width=${barWidth.toFixed(1)} height=${Math.max(h, 0.5).toFixed(1)} fill=${color(model.model)}>
                      <title>${day.day} · ${model.model}: $${model.cost_usd}</title>
                    </rect>`;
                  });
                const label = index % 5 === 0 || index === days.length - 1;
                return html`<g>
                  ${segments}
                  ${label ? html`<text x=${(x + barWidth / 2).toFixed(1)} y=${CHART.height - 8} text-anchor="middle" font-size="13" fill="#5b6470">${day.day.slice(5)}</text>` : null}
                </g>`;
              })}
            </svg></div>
            <div class="legend">
              ${top.map(
                (model) =>
                  html`<span><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" rx="2" fill=${color(model)} /></svg> ${model}</span>`,
              )}
              ${hasOther ? html`<span><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" rx="2" fill=${OTHER_COLOR} /></svg> other models</span>` : null}
            </div>
            <details>
              <summary>Daily spend as a table</summary>
              <div class="table-wrap">
                <table>
                  <thead><tr><th scope="col">Day (UTC)</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Cost</th></tr></thead>
                  <tbody>
                    ${[...days]
                      .reverse()
                      .map(
                        (day) =>
                          html`<tr><td>${day.day}</td><td class="num">${count(day.requests)}</td><td class="num"><${Usd} value=${day.cost_usd} /></td></tr>`,
                      )}
                  </tbody>
                </table>
              </div>
            </details>`
      }
    </section>
  `;
};

export const WalletPage = ({
  session,
  wallet,
  ledger,
  keys,
  filters,
  problems,
  totals,
  chart,
  addCredit,
  redeem = {},
  alert = {},
}: {
  session: Session;
  wallet: WalletSummary;
  ledger: LedgerPage;
  keys: readonly KeySummary[];
  filters: LedgerFilters;
  problems: readonly string[];
  totals: SpendTotals;
  chart: readonly DaySpend[];
  addCredit: AddCreditState;
  /** The "Redeem a code" card's state (the amount just credited). */
  redeem?: RedeemState;
  /** The "Low-balance alert" card's state (just saved, after the redirect). */
  alert?: AlertState;
}): VNode => {
  const keyNames = new Map(keys.map((key) => [key.keyId, key.name ?? `${key.prefix}…`]));
  const models = [
    ...new Set([
      ...chart.flatMap((day) => day.models.map((model) => model.model)),
      ...totals.models.map((model) => model.model),
      ...(filters.model ? [filters.model] : []),
    ]),
  ].sort();
  return html`
    <${Layout} title="Wallet" session=${session} section="wallet">
      <h1>Wallet</h1>
      ${problems.map((problem) => html`<${Notice} kind="error">${problem}<//>`)}
      <div class="grid">
        <${Balance} wallet=${wallet} />
        <${Totals} totals=${totals} keyNames=${keyNames} />
      </div>
      <${AddCredit} session=${session} state=${addCredit} />
      <div class="grid">
        <${RedeemCode} session=${session} state=${redeem} />
        <${AlertForm} session=${session} wallet=${wallet} state=${alert} />
      </div>
      <${SpendChart} days=${chart} />
      <${Filters} filters=${filters} keys=${keys} models=${models} />
      <${Ledger} ledger=${ledger} keyNames=${keyNames} filters=${filters} />
    <//>
  `;
};
