import { getAccount, setAlertThreshold } from '../../services/accounts.ts';
import { InvalidInputError, LimitExceededError } from '../../services/errors.ts';
import { html } from '../html.ts';
import { type ConsoleRequest, consolePath, htmlPage, redirect } from '../http.ts';
import { type Route, type SignedInContext, signedIn } from '../route.ts';
import { AlertPage, type AlertState } from '../views/alert.ts';

/** The wallet page's "Low-balance alert" card after the redirect. */
export const alertState = (request: ConsoleRequest): AlertState => {
  const saved = request.query.get('alert');
  return saved === 'set' || saved === 'removed' ? { saved } : {};
};

/**
 * `POST /console/wallet/alert`: sets the signed-in account's low-balance threshold (exact USD) or
 * removes it (empty or "none"), through the same service as `tollgate accounts set --alert-below`, and
 * redirects to the wallet; a malformed amount is shown again with its message (400).
 */
const saveAlert = async ({ request, deps, session }: SignedInContext) => {
  const value = (request.form.get('alert_below') ?? '').trim().slice(0, 40);
  const serviceDeps = { ...deps.stores, ...(deps.now && { now: deps.now }) };
  const accountId = session.accountId;
  try {
    const wallet = await setAlertThreshold(serviceDeps, { accountId, alertBelowUsd: value === '' ? 'none' : value });
    return redirect(consolePath('/wallet', { alert: wallet.alert_below_usd === null ? 'removed' : 'set' }));
  } catch (error) {
    if (!(error instanceof InvalidInputError || error instanceof LimitExceededError)) throw error;
    const wallet = await getAccount(serviceDeps, { accountId });
    return htmlPage(
      400,
      html`<${AlertPage} session=${session} wallet=${wallet} state=${{ error: error.message, value }} />`,
    );
  }
};

/** Setting the low-balance alert from the wallet page. */
export const ALERT_ROUTES: readonly Route[] = [signedIn('POST', /^\/wallet\/alert$/, saveAlert)];
