import type { ConsoleDeps } from './app.ts';
import type { ConsoleRequest, ConsoleResponse } from './http.ts';
import type { Session, SessionDeps } from './session.ts';

/** What a route handler gets: the request, the session (checked for `signedIn` routes) and the deps. */
export interface RouteContext {
  request: ConsoleRequest;
  session: Session | undefined;
  deps: ConsoleDeps;
  sessionDeps: SessionDeps;
  /** The console's public base URL (`…/console`), for links that leave the browser (e-mail). */
  consoleUrl: string;
  /** The gateway's public base URL, for setup snippets. */
  gatewayUrl: string;
  /** Named groups of the route's path pattern. */
  params: Record<string, string>;
  /**
   * Lets work already started finish after the response has ended (the invocation waits for it;
   * the client does not). A failure is logged. E.g. sending a sign-in e-mail, so that the answer's
   * timing does not tell whether one was sent.
   */
  afterResponse(work: Promise<unknown>): void;
}

/** A signed-in route's context: the session is there. */
export type SignedInContext = RouteContext & { session: Session };

export interface Route {
  method: 'GET' | 'POST';
  /** Matched against the path below `/console`, e.g. `/^\/keys\/(?<keyId>key_[a-f0-9]+)$/`. */
  path: RegExp;
  /**
   * true: needs a session (GET without one redirects to sign-in, POST is refused), and a POST must
   * carry the session's CSRF token.
   */
  signedIn: boolean;
  handle(context: RouteContext): Promise<ConsoleResponse>;
}

/** A route that needs a session. */
export const signedIn = (
  method: Route['method'],
  path: RegExp,
  handle: (context: SignedInContext) => Promise<ConsoleResponse>,
): Route => ({
  method,
  path,
  signedIn: true,
  handle: (context) => {
    if (!context.session) throw new Error('signed-in route reached without a session');
    return handle(context as SignedInContext);
  },
});

/** A route open to anyone (the sign-in pages). */
export const open = (
  method: Route['method'],
  path: RegExp,
  handle: (context: RouteContext) => Promise<ConsoleResponse>,
): Route => ({
  method,
  path,
  signedIn: false,
  handle,
});

/** What a webhook route gets: the request, its body exactly as sent (for signatures), and the deps. */
export interface WebhookContext {
  request: ConsoleRequest;
  /** The raw body: the function URL's body, base64-decoded when it came encoded. Nothing parsed it. */
  body: Buffer;
  deps: ConsoleDeps;
}

/**
 * A machine-to-machine POST (a payment provider's webhook): no session, no CSRF token, no
 * same-origin check — the handler verifies the sender itself, over the raw body.
 */
export interface WebhookRoute {
  path: RegExp;
  handle(context: WebhookContext): Promise<ConsoleResponse>;
}
