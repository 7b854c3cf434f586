import { html, type VNode } from '../html.ts';
import { consolePath } from '../http.ts';
import type { Session } from '../session.ts';
import { CsrfField, Layout, Notice } from './layout.ts';
import { Usd } from './money.ts';

/** What the "Redeem a code" card shows: the amount just credited (after the redirect), or a refusal. */
export interface RedeemState {
  /** USD as formatUsd writes it ("25.00"): the code just redeemed credited this much. */
  redeemed?: string;
  error?: string;
  /** The code as typed, kept in the field after a refusal. */
  code?: string;
}

/**
 * "Redeem a code": one field, posted to `/console/wallet/redeem`, which credits the signed-in
 * account and comes back to the wallet page.
 */
export const RedeemCode = ({ session, state }: { session: Session; state: RedeemState }): VNode => html`
  <section class="card" aria-labelledby="redeem-title">
    <h2 id="redeem-title">Redeem a code</h2>
    ${
      state.redeemed
        ? html`<${Notice} kind="ok">Code redeemed: <${Usd} value=${state.redeemed} /> was added to your balance.<//>`
        : null
    }
    ${state.error ? html`<${Notice} kind="error">${state.error}<//>` : null}
    <form method="post" action=${consolePath('/wallet/redeem')} class="redeem">
      <${CsrfField} session=${session} />
      <label for="redeem-code">Code</label>
      <input
        id="redeem-code"
        name="code"
        autocomplete="off"
        spellcheck="false"
        placeholder="TG-XXXXX-XXXXX-XXXXX-XXXXX"
        value=${state.code ?? ''}
        required
      />
      <button type="submit">Redeem</button>
      <p class="muted small">A code credits its amount to this account once.</p>
    </form>
  </section>
`;

/** A refused redemption, shown again with its message (400, or 429 over the attempt limit). */
export const RedeemPage = ({ session, state }: { session: Session; state: RedeemState }): VNode => html`
  <${Layout} title="Redeem a code" session=${session} section="wallet">
    <h1>Redeem a code</h1>
    <${RedeemCode} session=${session} state=${state} />
    <p><a href=${consolePath('/wallet')}>Back to the wallet</a></p>
  <//>
`;
