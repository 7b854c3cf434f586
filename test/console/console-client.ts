import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Mail, Mailer } from '../../lambdas/mail/mailer.ts';
import { type LocalGatewayOptions, startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import type { TestDatabase } from '../support/dynamo.ts';

/** An HTTP answer as the browser would see it, redirects not followed. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The `Set-Cookie` headers. */
  setCookies: string[];
  body: string;
}

export interface SendOptions {
  /** `name=value` pairs for the Cookie header. */
  cookie?: string;
  /** Sent `application/x-www-form-urlencoded`. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Sent as is (set its content-type in `headers`); instead of `form`. */
  body?: string;
}

/** A request with full control of Host, Origin and Cookie (fetch would not allow all of them). */
export const send = (base: string, method: 'GET' | 'POST', path: string, options: SendOptions = {}): Promise<Answer> =>
  new Promise((answered, failed) => {
    const url = new URL(path, base);
    const body = options.form ? new URLSearchParams(options.form).toString() : options.body;
    const headers: Record<string, string> = {
      ...(body !== undefined && {
        ...(options.form && { 'content-type': 'application/x-www-form-urlencoded' }),
        'content-length': String(Buffer.byteLength(body)),
      }),
      ...(options.cookie && { cookie: options.cookie }),
      ...options.headers,
    };
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const setCookie = res.headers['set-cookie'];
        answered({ status: res.statusCode ?? 0, headers: res.headers, setCookies: setCookie ?? [], body: text });
      });
      res.on('error', failed);
    });
    req.on('error', failed);
    req.end(body);
  });

/** A mutable clock for the console's `now` option. */
export interface TestClock {
  ms: number;
  advance(ms: number): void;
}

const WINDOW_MS = 15 * 60_000;

/**
 * A clock that starts one second into the next 15-minute window of the sign-in rate limits (fixed
 * windows), so a test's requests never straddle two windows by chance.
 */
export const testClock = (start = Date.now() - (Date.now() % WINDOW_MS) + WINDOW_MS + 1000): TestClock => {
  const clock = {
    ms: start,
    advance: (ms: number) => {
      clock.ms += ms;
    },
  };
  return clock;
};

export interface TestConsole {
  url: string;
  /** Every e-mail the console sent. */
  mails: Mail[];
  clock: TestClock;
  get(path: string, options?: SendOptions): Promise<Answer>;
  post(path: string, options?: SendOptions): Promise<Answer>;
  /** The sign-in link's token in the last mail to `email`. */
  tokenFor(email: string): string | undefined;
  /** Signs `email` in through the form and the mailed link; returns the `name=value` session cookie. */
  signIn(email: string): Promise<string>;
  /** The CSRF token on a signed-in page. */
  csrf(cookie: string): Promise<string>;
  close(): Promise<void>;
}

/** The `name=value` part of a Set-Cookie header. */
export const cookiePair = (setCookie: string): string => setCookie.split(';')[0] ?? '';

/** The local gateway with its console on the test's tables, a collecting mailer and an injectable clock. */
export const startTestConsole = async (
  db: TestDatabase,
  options: Pick<NonNullable<LocalGatewayOptions['console']>, 'session' | 'payments' | 'checkoutOrigin'> & {
    reportSink?: LocalGatewayOptions['reportSink'];
  } = {},
): Promise<TestConsole> => {
  const { reportSink = { publish: async () => undefined }, ...consoleOptions } = options;
  const mails: Mail[] = [];
  const mailer: Mailer = { send: async (mail) => void mails.push(mail) };
  const clock = testClock();
  const gateway = await startLocalGateway({
    stores: db.stores,
    reportSink,
    env: {},
    console: { mailer, signInFloorMs: 0, now: () => new Date(clock.ms), ...consoleOptions },
  });
  const get = (path: string, sendOptions?: SendOptions) => send(gateway.url, 'GET', path, sendOptions);
  const post = (path: string, sendOptions?: SendOptions) => send(gateway.url, 'POST', path, sendOptions);
  const tokenFor = (email: string): string | undefined => {
    const mail = mails.filter((candidate) => candidate.to === email).at(-1);
    const url = mail?.text.match(/https?:\/\/\S+/)?.[0];
    return url === undefined ? undefined : (new URL(url).searchParams.get('token') ?? undefined);
  };
  const signIn = async (email: string): Promise<string> => {
    const asked = await post('/console/sign-in', { form: { email } });
    if (asked.status !== 200) throw new Error(`sign-in form answered ${asked.status}`);
    const token = tokenFor(email);
    if (!token) throw new Error(`no sign-in mail to ${email}`);
    const used = await post('/console/auth', { form: { token } });
    const [setCookie] = used.setCookies;
    if (used.status !== 303 || !setCookie) throw new Error(`sign-in link answered ${used.status}`);
    return cookiePair(setCookie);
  };
  const csrf = async (cookie: string): Promise<string> => {
    const page = await get('/console/wallet', { cookie });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no CSRF token on the wallet page (${page.status})`);
    return token;
  };
  return { url: gateway.url, mails, clock, get, post, tokenFor, signIn, csrf, close: gateway.close };
};
