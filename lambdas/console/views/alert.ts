import type { WalletSummary } from '../../gateway/wallet-view.ts';
import { html, type VNode } from '../html.ts';
import { consolePath } from '../http.ts';
import type { Session } from '../session.ts';
import { CsrfField, Layout, Notice } from './layout.ts';
import { Usd } from './money.ts';

/** What the "Low-balance alert" card shows besides the threshold: what just changed, or a refusal. */
export interface AlertState {
  /** After the redirect: the threshold was just set or removed. */
  saved?: 'set' | 'removed';
  error?: string;
  /** The amount as typed, kept in the field after a refusal. */
  value?: string;
}

/**
 * "Low-balance alert": the threshold below which every member gets one e-mail, posted to
 * `/console/wallet/alert` (empty removes it).
 */
export const AlertForm = ({
  session,
  wallet,
  state,
}: {
  session: Session;
  wallet: WalletSummary;
  state: AlertState;
}): VNode => html`
  <section class="card" aria-labelledby="alert-title">
    <h2 id="alert-title">Low-balance alert</h2>
    ${state.saved === 'set' ? html`<${Notice} kind="ok">Low-balance alert saved.<//>` : null}
    ${state.saved === 'removed' ? html`<${Notice} kind="ok">Low-balance alert removed.<//>` : null}
    ${state.error ? html`<${Notice} kind="error">${state.error}<//>` : null}
    <p class="muted small">
      ${
        wallet.alert_below_usd === null
          ? 'No alert is set.'
          : html`The members get one e-mail when the balance falls below <${Usd} value=${wallet.alert_below_usd} />,
              and again only after a top-up brings it back.`
      }
    </p>
    <form method="post" action=${consolePath('/wallet/alert')} class="alert">
      <${CsrfField} session=${session} />
      <label for="alert-below">Alert below (USD)</label>
      <input
        id="alert-below"
        name="alert_below"
        inputmode="decimal"
        autocomplete="off"
        placeholder="5.00"
        value=${state.value ?? wallet.alert_below_usd ?? ''}
      />
      <button type="submit">Save alert</button>
      <p class="muted small">Leave it empty to remove the alert.</p>
    </form>
  </section>
`;

/** A refused threshold, shown again with its message (400). */
export const AlertPage = ({
  session,
  wallet,
  state,
}: {
  session: Session;
  wallet: WalletSummary;
  state: AlertState;
}): VNode => html`
  <${Layout} title="Low-balance alert" session=${session} section="wallet">
    <h1>Low-balance alert</h1>
    <${AlertForm} session=${session} wallet=${wallet} state=${state} />
    <p><a href=${consolePath('/wallet')}>Back to the wallet</a></p>
  <//>
`;
