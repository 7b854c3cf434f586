import { html, type VNode } from '../html.ts';
import { consolePath } from '../http.ts';
import type { Session } from '../session.ts';
import { CsrfField, Notice } from './layout.ts';
import { Usd } from './money.ts';

/** What the "Add credit" card shows: undefined limits when card payments are not configured. */
export interface AddCreditState {
  /** USD amounts as formatUsd writes them ("10.00"); absent when card payments are not configured. */
  limits?: { min: string; max: string; presets: string[] };
  /** Back from Stripe: `paid` after paying, `cancelled` after turning back. */
  returned?: 'paid' | 'cancelled';
}

/**
 * "Add credit": preset amounts and a custom one, posted to `/console/wallet/checkout`, which sends
 * the browser on to Stripe Checkout.
 */
export const AddCredit = ({ session, state }: { session: Session; state: AddCreditState }): VNode => html`
  <section class="card" aria-labelledby="add-credit-title">
    <h2 id="add-credit-title">Add credit</h2>
    ${
      state.returned === 'paid'
        ? html`<${Notice} kind="ok">Thank you: your payment was received. The credit appears in the ledger as soon as Stripe confirms it.<//>`
        : state.returned === 'cancelled'
          ? html`<${Notice} kind="info">The payment was cancelled; nothing was charged.<//>`
          : null
    }
    ${
      state.limits
        ? html`<form method="post" action=${consolePath('/wallet/checkout')} class="add-credit">
            <${CsrfField} session=${session} />
            <div class="presets">
              ${state.limits.presets.map(
                (amount) =>
                  html`<button type="submit" name="amount" value=${amount}>Add <${Usd} value=${amount} /></button>`,
              )}
            </div>
            <label for="credit-custom">Other amount (USD)</label>
            <input
              id="credit-custom"
              name="custom"
              inputmode="decimal"
              pattern="[0-9]+([.][0-9]{1,2})?"
              placeholder=${state.limits.min}
            />
            <button type="submit">Pay by card</button>
            <p class="muted small">
              Between <${Usd} value=${state.limits.min} /> and <${Usd} value=${state.limits.max} />, paid on Stripe's page.
            </p>
          </form>`
        : html`<p class="muted">Card payments are not configured. Ask the operator to top up your account.</p>`
    }
  </section>
`;
