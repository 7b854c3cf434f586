import type { LedgerEntry, LedgerPage, WalletSummary } from '../../gateway/wallet-view.ts';
import { describeDiscount } from '../../gateway/wallet-view.ts';
import { html, type VNode } from '../html.ts';
import { consolePath } from '../http.ts';
import type { Session } from '../session.ts';
import { Layout } from './layout.ts';
import { count, Time, Usd } from './money.ts';

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
  entry.type === 'topup'
    ? html`<tr>
        <td><${Time} at=${entry.at} /></td>
        <td colspan="7" class="muted">Top-up <span class="mono small">${entry.id}</span></td>
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
}: {
  ledger: LedgerPage;
  keyNames: ReadonlyMap<string, string>;
}): VNode => html`
  <section class="card" aria-labelledby="ledger-title">
    <h2 id="ledger-title">Ledger</h2>
    ${
      ledger.data.length === 0
        ? html`<p class="empty">No requests or top-ups yet. Calls made with this account's keys appear here with their exact cost.</p>`
        : html`<div class="table-wrap">
            <table>
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
        ? html`<div class="pager"><a class="button secondary" href=${consolePath('/wallet', { cursor: ledger.next_cursor })}>Older rows →</a></div>`
        : null
    }
  </section>
`;

export const WalletPage = ({
  session,
  wallet,
  ledger,
  keyNames,
}: {
  session: Session;
  wallet: WalletSummary;
  ledger: LedgerPage;
  keyNames: ReadonlyMap<string, string>;
}): VNode => html`
  <${Layout} title="Wallet" session=${session} section="wallet">
    <h1>Wallet</h1>
    <div class="grid"><${Balance} wallet=${wallet} /></div>
    <${Ledger} ledger=${ledger} keyNames=${keyNames} />
  <//>
`;
