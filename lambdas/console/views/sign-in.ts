import { html, type VNode } from '../html.ts';
import { consolePath } from '../http.ts';
import { Layout, Notice } from './layout.ts';

/** The sign-in form: an e-mail address. */
export const SignInPage = ({ error, email }: { error?: string; email?: string }): VNode => html`
  <${Layout} title="Sign in">
    <div class="sign-in card">
      <h1>Sign in to Tollgate</h1>
      ${error ? html`<${Notice} kind="error">${error}<//>` : null}
      <p class="muted">We e-mail you a link that signs you in. It works once, for 15 minutes.</p>
      <form method="post" action=${consolePath('/sign-in')}>
        <div class="field">
          <label for="email">E-mail address</label>
          <input id="email" name="email" type="email" autocomplete="email" required value=${email ?? ''} />
        </div>
        <button type="submit">E-mail me a sign-in link</button>
      </form>
    </div>
  <//>
`;

/** The same answer for every address, member or not. */
export const CheckEmailPage = ({ email }: { email: string }): VNode => html`
  <${Layout} title="Check your e-mail">
    <div class="sign-in card">
      <h1>Check your e-mail</h1>
      <p>
        If <strong>${email}</strong> may use a Tollgate account, a sign-in link is on its way. It works once, for
        15 minutes.
      </p>
      <p class="muted small">No e-mail? Ask your Tollgate operator to add you as a member, or to give you a link.</p>
      <p><a href=${consolePath('/sign-in')}>Use another address</a></p>
    </div>
  <//>
`;

/**
 * Opening a link does not sign in by itself: mail scanners fetch links. The button posts the token,
 * which is what uses it.
 */
export const ConfirmSignInPage = ({ token }: { token: string }): VNode => html`
  <${Layout} title="Sign in">
    <div class="sign-in card">
      <h1>Sign in to Tollgate</h1>
      <form method="post" action=${consolePath('/auth')}>
        <input type="hidden" name="token" value=${token} />
        <button type="submit">Continue to the console</button>
      </form>
    </div>
  <//>
`;
