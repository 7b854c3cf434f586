import { CodeRefusedError, redeemCode } from '../../services/codes.ts';
import { InvalidInputError, LimitExceededError } from '../../services/errors.ts';
import { html } from '../html.ts';
import { type ConsoleRequest, consolePath, htmlPage, redirect } from '../http.ts';
import { type Route, type SignedInContext, signedIn } from '../route.ts';
import { RedeemPage, type RedeemState } from '../views/redeem.ts';

/** Attempts are counted in fixed windows of this length… */
export const REDEEM_WINDOW_MS = 15 * 60_000;
/** …at most this many per session… */
export const REDEEM_LIMIT_PER_SESSION = 10;
/** …and this many per source address (several sessions behind one address). */
export const REDEEM_LIMIT_PER_SOURCE = 30;

const USD = /^\d{1,7}\.\d{2,9}$/;

/** The wallet page's "Redeem a code" card after the redirect: the amount credited, when the query says so. */
export const redeemState = (request: ConsoleRequest): RedeemState => {
  const redeemed = request.query.get('redeemed') ?? '';
  return USD.test(redeemed) ? { redeemed } : {};
};

/**
 * `POST /console/wallet/redeem`: counts the attempt against the session and the source address
 * BEFORE any code is looked up, so guessing codes runs into the limit (429) whatever it guesses;
 * then redeems the code for the session's account (no account in the form is read), and redirects
 * to the wallet with the amount credited, or shows the refusal (400).
 */
const redeem = async ({ request, deps, session }: SignedInContext) => {
  const code = (request.form.get('code') ?? '').trim().slice(0, 100);
  const now = deps.now?.() ?? new Date();
  const [bySession, bySource] = await Promise.all([
    deps.stores.counters.countEvent(`redeem-session#${session.hash}`, REDEEM_WINDOW_MS, now.getTime()),
    deps.stores.counters.countEvent(`redeem-ip#${request.sourceIp}`, REDEEM_WINDOW_MS, now.getTime()),
  ]);
  if (bySession > REDEEM_LIMIT_PER_SESSION || bySource > REDEEM_LIMIT_PER_SOURCE) {
    const error = 'Too many attempts to redeem a code. Wait 15 minutes, then try again.';
    return htmlPage(429, html`<${RedeemPage} session=${session} state=${{ error, code }} />`);
  }
  try {
    const redeemed = await redeemCode(
      { ...deps.stores, ...(deps.now && { now: deps.now }) },
      { accountId: session.accountId, code },
    );
    return redirect(consolePath('/wallet', { redeemed: redeemed.amount_usd }));
  } catch (error) {
    if (
      !(error instanceof CodeRefusedError || error instanceof LimitExceededError || error instanceof InvalidInputError)
    ) {
      throw error;
    }
    return htmlPage(400, html`<${RedeemPage} session=${session} state=${{ error: error.message, code }} />`);
  }
};

/** Redeeming a code from the wallet page. */
export const REDEEM_ROUTES: readonly Route[] = [signedIn('POST', /^\/wallet\/redeem$/, redeem)];
