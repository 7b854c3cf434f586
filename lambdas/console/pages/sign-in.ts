import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInputError } from '../../services/errors.ts';
import { redeemSignInLink, requestSignIn } from '../../services/members.ts';
import { html } from '../html.ts';
import { consolePath, htmlPage, redirect } from '../http.ts';
import { open, type Route, signedIn } from '../route.ts';
import { clearedSessionCookie, endSession, startSession, switchAccount } from '../session.ts';
import { MessagePage } from '../views/layout.ts';
import { CheckEmailPage, ConfirmSignInPage, SignInPage } from '../views/sign-in.ts';

const DEFAULT_SIGN_IN_FLOOR_MS = 800;

const linkProblem = () =>
  htmlPage(
    400,
    html`<${MessagePage} title="This link does not work" kind="error">
      The sign-in link is used, expired (links work for 15 minutes) or incomplete.
      <a href=${consolePath('/sign-in')}>Ask for a new one</a>.
    <//>`,
  );

/** Sign-in by e-mailed link, sign-out, and switching between the member's accounts. */
export const SIGN_IN_ROUTES: readonly Route[] = [
  open('GET', /^$/, async ({ session }) => redirect(consolePath(session ? '/wallet' : '/sign-in'))),
  open('GET', /^\/sign-in$/, async ({ session }) =>
    session ? redirect(consolePath('/wallet')) : htmlPage(200, html`<${SignInPage} />`),
  ),
  open('POST', /^\/sign-in$/, async ({ request, deps, consoleUrl, afterResponse }) => {
    const started = Date.now();
    const email = request.form.get('email') ?? '';
    let outcome: Awaited<ReturnType<typeof requestSignIn>>;
    try {
      outcome = await requestSignIn(
        {
          ...deps.stores,
          // The e-mail goes out after the answer, so a member's answer takes no longer than anyone's.
          mailer: { send: async (mail) => afterResponse(deps.mailer.send(mail)) },
          ...(deps.now && { now: deps.now }),
        },
        { email, consoleUrl, source: request.sourceIp },
      );
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return htmlPage(
        400,
        html`<${SignInPage} error="Enter an e-mail address, like ada@example.com." email=${email} />`,
      );
    }
    // The same answer in about the same time, whether or not a link was minted.
    const floor = deps.signInFloorMs ?? DEFAULT_SIGN_IN_FLOOR_MS;
    const left = floor - (Date.now() - started);
    if (left > 0) await sleep(left);
    if (outcome === 'rate_limited') {
      return htmlPage(
        429,
        html`<${SignInPage}
          error="Too many sign-in requests from here or for this address. Wait 15 minutes, then try again."
          email=${email}
        />`,
      );
    }
    return htmlPage(200, html`<${CheckEmailPage} email=${email.trim()} />`);
  }),
  open('GET', /^\/auth$/, async ({ request }) => {
    const token = request.query.get('token') ?? '';
    return token ? htmlPage(200, html`<${ConfirmSignInPage} token=${token} />`) : linkProblem();
  }),
  open('POST', /^\/auth$/, async ({ request, deps, sessionDeps, session }) => {
    const signIn = await redeemSignInLink(
      { ...deps.stores, ...(deps.now && { now: deps.now }) },
      { token: request.form.get('token') ?? '' },
    );
    if (!signIn) return linkProblem();
    const [first] = signIn.accounts;
    if (first === undefined) return linkProblem();
    if (session) await endSession(sessionDeps, session);
    const cookie = await startSession(sessionDeps, request, signIn.email, first);
    return redirect(consolePath('/wallet'), [cookie]);
  }),
  signedIn('POST', /^\/sign-out$/, async ({ request, sessionDeps, session }) => {
    await endSession(sessionDeps, session);
    return redirect(consolePath('/sign-in'), [clearedSessionCookie(request.secure)]);
  }),
  signedIn('POST', /^\/account$/, async ({ request, sessionDeps, session }) => {
    const account = request.form.get('account') ?? '';
    if (!(await switchAccount(sessionDeps, session, account))) {
      return htmlPage(
        404,
        html`<${MessagePage} title="Not found" session=${session} kind="error">You are not a member of that account.<//>`,
      );
    }
    return redirect(consolePath('/wallet'));
  }),
];
