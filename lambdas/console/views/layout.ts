import type { ComponentChildren } from 'preact';
import { SCRIPT, STYLESHEET } from '../assets.ts';
import { html, type VNode } from '../html.ts';
import { CONSOLE_PREFIX, consolePath } from '../http.ts';
import type { Session } from '../session.ts';

export type Section = 'wallet' | 'keys' | 'models';

const SECTIONS: readonly { id: Section; label: string; path: string }[] = [
  { id: 'wallet', label: 'Wallet', path: '/wallet' },
  { id: 'keys', label: 'API Keys', path: '/keys' },
  { id: 'models', label: 'Models', path: '/models' },
];

/** The session's CSRF token as a hidden form field: every signed-in form carries it. */
export const CsrfField = ({ session }: { session: Session }): VNode =>
  html`<input type="hidden" name="_csrf" value=${session.csrf} />`;

const Header = ({ session, section }: { session: Session; section?: Section }): VNode => html`
  <header class="top">
    <div class="bar">
      <a class="brand" href=${consolePath('/wallet')}>Tollgate</a>
      <nav aria-label="Console">
        ${SECTIONS.map(
          (item) =>
            html`<a href=${consolePath(item.path)} aria-current=${item.id === section ? 'page' : undefined}>${item.label}</a>`,
        )}
      </nav>
      <div class="who">
        ${
          session.accounts.length > 1
            ? html`<form method="post" action=${consolePath('/account')}>
                <${CsrfField} session=${session} />
                <label class="visually-hidden" for="account-switch">Account</label>
                <select id="account-switch" name="account">
                  ${session.accounts.map(
                    (account) =>
                      html`<option value=${account} selected=${account === session.accountId}>${account}</option>`,
                  )}
                </select>
                <button class="link" type="submit">Open</button>
              </form>`
            : html`<span>Account <strong>${session.accountId}</strong></span>`
        }
        <span class="small" title=${session.email}>${session.email}</span>
        <form method="post" action=${consolePath('/sign-out')}>
          <${CsrfField} session=${session} />
          <button class="link" type="submit">Sign out</button>
        </form>
      </div>
    </div>
  </header>
`;

export interface LayoutProps {
  title: string;
  /** Absent on pages before sign-in. */
  session?: Session;
  section?: Section;
  children?: ComponentChildren;
}

/** Every console page: head (one style sheet, one deferred script), header with navigation, main. */
export const Layout = ({ title, session, section, children }: LayoutProps): VNode => html`
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>${title} · Tollgate</title>
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href=${`${CONSOLE_PREFIX}${STYLESHEET.path}`} />
      <script src=${`${CONSOLE_PREFIX}${SCRIPT.path}`} defer></script>
    </head>
    <body>
      ${session ? html`<${Header} session=${session} section=${section} />` : null}
      <main id="main">${children}</main>
      <footer class=${session ? undefined : 'center'}>Amounts are exact to the nano-dollar. Times are UTC.</footer>
    </body>
  </html>
`;

/** A notice above a page's content. */
export const Notice = ({ kind, children }: { kind: 'ok' | 'error' | 'info'; children?: ComponentChildren }): VNode =>
  html`<div class=${`notice ${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>${children}</div>`;

/** A page that only says something: errors, "not found", "check your e-mail". */
export const MessagePage = ({
  title,
  session,
  kind = 'info',
  children,
}: {
  title: string;
  session?: Session;
  kind?: 'ok' | 'error' | 'info';
  children?: ComponentChildren;
}): VNode => html`
  <${Layout} title=${title} session=${session}>
    <div class=${session ? '' : 'sign-in'}>
      <h1>${title}</h1>
      <${Notice} kind=${kind}>${children}<//>
    </div>
  <//>
`;
