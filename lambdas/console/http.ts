import type { Readable } from 'node:stream';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { renderPage, type VNode } from './html.ts';

/** What a console route sees of a request. */
export interface ConsoleRequest {
  method: string;
  /** The path below `/console`, e.g. `/wallet` ('' for `/console` itself). */
  path: string;
  query: URLSearchParams;
  /** An `application/x-www-form-urlencoded` body; empty otherwise. */
  form: URLSearchParams;
  cookies: Map<string, string>;
  headers: Readonly<Record<string, string | undefined>>;
  /** The client address as the function URL saw it. */
  sourceIp: string;
  /** `https://host` (or `http://` on loopback): the origin this request was sent to. */
  origin: string;
  /** True on https: cookies get `Secure` and the `__Host-` prefix. */
  secure: boolean;
  requestId: string;
}

/** A console answer, in the shape middy's streaming mode writes out. */
export interface ConsoleResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: string | Readable;
}

export const CONSOLE_PREFIX = '/console';

const LOOPBACK_HOST = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d+)?$/i;

/** Plain http is allowed on loopback only (`npm start`); everywhere else the console is https. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOST.test(host);

const parseCookies = (cookies: readonly string[] | undefined): Map<string, string> => {
  const jar = new Map<string, string>();
  for (const cookie of cookies ?? []) {
    for (const part of cookie.split(';')) {
      const at = part.indexOf('=');
      if (at <= 0) continue;
      const name = part.slice(0, at).trim();
      if (!jar.has(name)) jar.set(name, part.slice(at + 1).trim());
    }
  }
  return jar;
};

const formBody = (event: APIGatewayProxyEventV2): URLSearchParams => {
  const type = (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || !event.body) return new URLSearchParams();
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return new URLSearchParams(text);
};

const hostOf = (event: APIGatewayProxyEventV2): string => event.headers['host'] ?? event.requestContext.domainName;

/** https, or plain http anywhere but loopback (which the function URL never is): cookies get `Secure`. */
export const isSecureRequest = (event: APIGatewayProxyEventV2): boolean =>
  event.headers['x-forwarded-proto'] === 'https' || !isLoopbackHost(hostOf(event));

/** The console's view of a function-URL event. */
export const consoleRequest = (event: APIGatewayProxyEventV2): ConsoleRequest => {
  const rawPath = event.rawPath || '/';
  const path = rawPath.startsWith(CONSOLE_PREFIX) ? rawPath.slice(CONSOLE_PREFIX.length) : rawPath;
  const host = hostOf(event);
  const secure = isSecureRequest(event);
  const cookies = event.cookies ?? (event.headers['cookie'] ? [event.headers['cookie']] : []);
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: path === '/' ? '' : path,
    query: new URLSearchParams(event.rawQueryString ?? ''),
    form: formBody(event),
    cookies: parseCookies(cookies),
    headers: event.headers,
    sourceIp: event.requestContext.http.sourceIp,
    origin: `${secure ? 'https' : 'http'}://${host}`,
    secure,
    requestId: event.requestContext.requestId,
  };
};

const NO_STORE = { 'cache-control': 'no-store' };

/** An HTML page; never cached (every page is someone's money). */
export const htmlPage = (statusCode: number, page: VNode, cookies?: string[]): ConsoleResponse => ({
  statusCode,
  headers: { 'content-type': 'text/html; charset=utf-8', ...NO_STORE },
  ...(cookies && { cookies }),
  body: renderPage(page),
});

/** 303 See Other: after a form post, the browser GETs `location`. */
export const redirect = (location: string, cookies?: string[]): ConsoleResponse => ({
  statusCode: 303,
  headers: { location, ...NO_STORE },
  ...(cookies && { cookies }),
  body: '',
});

/** `/console` + path, with a query when given. */
export const consolePath = (path: string, query?: Record<string, string | undefined>): string => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {}))
    if (value !== undefined && value !== '') params.set(name, value);
  const search = params.toString();
  return `${CONSOLE_PREFIX}${path}${search ? `?${search}` : ''}`;
};
