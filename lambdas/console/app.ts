import type { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { isDatabaseTimeout } from '../errors.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { Reporter } from '../reports/reporter.ts';
import { ServiceError } from '../services/errors.ts';
import type { Payments } from '../services/payments.ts';
import type { Stores } from '../store/index.ts';
import { STATIC_FILES } from './assets.ts';
import { html } from './html.ts';
import {
  type ConsoleRequest,
  type ConsoleResponse,
  consolePath,
  consoleRequest,
  htmlPage,
  isSecureRequest,
  redirect,
} from './http.ts';
import { ROUTES, type RouteContext, WEBHOOKS } from './routes.ts';
import {
  DEFAULT_SESSION_CONFIG,
  loadSession,
  type Session,
  type SessionConfig,
  type SessionDeps,
  sameOrigin,
  validCsrf,
} from './session.ts';
import { MessagePage } from './views/layout.ts';

export type ConsoleStores = Pick<
  Stores,
  'keys' | 'wallets' | 'routes' | 'members' | 'sessions' | 'counters' | 'rollups' | 'codes'
>;

export interface ConsoleDeps {
  stores: ConsoleStores;
  mailer: Mailer;
  logger: Logger;
  /**
   * The console's public URL (`…/console`), used in sign-in links. Default: the function URL's own
   * domain, as Lambda reports it (never the request's Host header, which a client sets).
   */
  consoleUrl?: string;
  /** The gateway's public base URL for the setup snippets. Default: the console's origin. */
  gatewayUrl?: string;
  session?: Partial<SessionConfig>;
  /**
   * Sign-in answers take at least this long, member or not, so the time taken does not tell whether
   * an e-mail was sent. Default 800 ms.
   */
  signInFloorMs?: number;
  now?: () => Date;
  /** Card payments (Stripe); resolves to undefined when they are not configured. */
  payments?: () => Promise<Payments | undefined>;
  /** Where payment webhook refusals and failures are reported (SNS on AWS, reports.log locally). */
  reporter?: Reporter;
  /**
   * The origin Stripe Checkout pages live on: the checkout form's 303 leads there, so CSP
   * `form-action` allows it. Default `https://checkout.stripe.com`.
   */
  checkoutOrigin?: string;
}

/** The middleware leaves out a directive whose value is false (its types allow strings only). */
const OFF = false as unknown as string;

const SECURITY_HEADERS = (secure: boolean, checkoutOrigin: string) =>
  httpSecurityHeaders({
    contentSecurityPolicy: {
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'img-src': "'self' data:",
      'connect-src': "'self'",
      // Chromium applies form-action to the redirects after a post: "Add credit" ends on Stripe Checkout.
      'form-action': `'self' ${checkoutOrigin}`,
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'report-to': OFF,
      sandbox: OFF,
      'require-trusted-types-for': "'script'",
      'upgrade-insecure-requests': secure ? '' : OFF,
    },
    strictTransportSecurity: secure ? { maxAge: 31536000, includeSubDomains: false, preload: false } : false,
    // The CSV export is a download; nothing else is framed or embedded.
    crossOriginEmbedderPolicy: { policy: 'require-corp' },
    reportTo: false,
    reportingEndpoints: false,
    // The copy buttons write to the clipboard; every other powerful feature stays off.
    permissionsPolicy: { 'clipboard-write': 'self' },
    // Not no-referrer: with it, browsers send `Origin: null` on same-origin form posts, and the
    // same-origin check could not tell our forms from a foreign page's.
    referrerPolicy: { policy: 'same-origin' },
  });

const forbidden = (session?: Session): ConsoleResponse =>
  htmlPage(
    403,
    html`<${MessagePage} title="Refused" session=${session} kind="error">
      This form was not sent from this console's own page, or the page is too old. Go back, reload the page and try again.
    <//>`,
  );

const notFound = (session?: Session): ConsoleResponse =>
  htmlPage(
    404,
    html`<${MessagePage} title="Not found" session=${session} kind="error">
      There is no such page. <a href=${consolePath('/wallet')}>Go to the wallet</a>.
    <//>`,
  );

/**
 * The console: the account holders' pages under `/console`, server-rendered. Every route but the
 * sign-in ones needs a session; every state-changing request must come from the console's own page
 * (Origin / Sec-Fetch-Site) and, once signed in, carry the session's CSRF token.
 *
 * @example export const handler = createConsoleHandler({ stores, mailer, logger });
 */
export const createConsoleHandler = (deps: ConsoleDeps) => {
  const now = () => (deps.now?.() ?? new Date()).getTime();
  const sessionDeps: SessionDeps = {
    sessions: deps.stores.sessions,
    members: deps.stores.members,
    config: { ...DEFAULT_SESSION_CONFIG, ...deps.session },
    now,
  };

  /** Per invocation: work that finishes after the response (RouteContext.afterResponse). */
  const pending = new WeakMap<Context, Promise<unknown>[]>();

  const route = async (
    request: ConsoleRequest,
    event: APIGatewayProxyEventV2,
    afterResponse: RouteContext['afterResponse'],
  ): Promise<ConsoleResponse> => {
    if (request.method === 'GET' && request.path.startsWith('/static/')) {
      const file = STATIC_FILES.get(request.path);
      if (!file) return notFound();
      return {
        statusCode: 200,
        headers: { 'content-type': file.type, 'cache-control': 'public, max-age=31536000, immutable' },
        body: file.body,
      };
    }
    for (const webhook of WEBHOOKS) {
      if (request.method === 'POST' && webhook.path.test(request.path)) {
        const raw = event.body ?? '';
        const body = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
        return webhook.handle({ request, body, deps });
      }
    }
    const consoleUrl = deps.consoleUrl ?? `https://${event.requestContext.domainName}/console`;
    const gatewayUrl = deps.gatewayUrl ?? new URL(consoleUrl).origin;
    const session = await loadSession(sessionDeps, request);
    const context: Omit<RouteContext, 'params'> = {
      request,
      session,
      deps,
      sessionDeps,
      consoleUrl,
      gatewayUrl,
      afterResponse,
    };
    for (const candidate of ROUTES) {
      if (candidate.method !== request.method) continue;
      const match = candidate.path.exec(request.path);
      if (!match) continue;
      if (request.method === 'POST' && !sameOrigin(request)) return forbidden(session);
      if (candidate.signedIn) {
        if (!session) return request.method === 'GET' ? redirect(consolePath('/sign-in')) : forbidden();
        if (request.method === 'POST' && !validCsrf(session, request.form.get('_csrf'))) return forbidden(session);
      }
      return candidate.handle({ ...context, params: match.groups ?? {} });
    }
    return notFound(session);
  };

  const handle = async (event: APIGatewayProxyEventV2, lambdaContext: Context): Promise<ConsoleResponse> => {
    const request = consoleRequest(event);
    const afterResponse = (work: Promise<unknown>): void => {
      const logged = work.catch((error: unknown) =>
        deps.logger.error('work after the response failed', {
          error,
          path: request.path,
          requestId: request.requestId,
        }),
      );
      pending.set(lambdaContext, [...(pending.get(lambdaContext) ?? []), logged]);
    };
    try {
      return await route(request, event, afterResponse);
    } catch (error) {
      if (error instanceof ServiceError) {
        const status = error.code === 'invalid_input' ? 400 : error.code === 'not_found' ? 404 : 409;
        return htmlPage(status, html`<${MessagePage} title="Not done" kind="error">${error.message}<//>`);
      }
      const timeout = isDatabaseTimeout(error);
      deps.logger.error('console request failed', { error, path: request.path, requestId: request.requestId });
      return htmlPage(
        timeout ? 503 : 500,
        html`<${MessagePage} title=${timeout ? 'Try again in a moment' : 'Something went wrong'} kind="error">
          ${timeout ? 'The database did not answer in time. ' : 'The console could not answer this request. '}
          Nothing was changed by the failure. Reference: <code>${request.requestId}</code>
        <//>`,
      );
    }
  };

  const checkoutOrigin = new URL(deps.checkoutOrigin ?? 'https://checkout.stripe.com').origin;
  const secureHeaders = {
    secure: SECURITY_HEADERS(true, checkoutOrigin),
    loopback: SECURITY_HEADERS(false, checkoutOrigin),
  };
  return middy<APIGatewayProxyEventV2, ConsoleResponse, Error, Context>({
    executionMode: executionModeStreamifyResponse,
    // The response has ended: the invocation waits for work handed to afterResponse.
    requestEnd: async (request) => {
      await Promise.all(pending.get(request.context) ?? []);
      pending.delete(request.context);
    },
  })
    .use({
      // Security headers for the request's scheme: HSTS and upgrade-insecure-requests only on https.
      after: async (request) => {
        const secure = isSecureRequest(request.event);
        await (secure ? secureHeaders.secure : secureHeaders.loopback).after?.(request as never);
      },
    })
    .handler(handle);
};
