import { lookup as dnsLookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { isIP, type LookupFunction } from 'node:net';

// node:http and node:https through require, not import: the ESM facade of a builtin reads every
// export, and node:http's lazy WebSocket getters then load undici — about 25 ms of cold start.
const require = createRequire(import.meta.url);
const { Agent: HttpAgent, request: httpRequest } = require('node:http') as typeof import('node:http');
const { Agent: HttpsAgent, request: httpsRequest } = require('node:https') as typeof import('node:https');
const { urlToHttpOptions } = require('node:url') as typeof import('node:url');

/** What the gateway reads of an upstream answer, whoever produced it (HTTP or the echo provider). */
export interface UpstreamResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  /** The body as it arrives; iterating it throws if the connection breaks. */
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

/** Every address a host name resolves to (`family` 0: both). */
export type Resolve = (hostname: string, family: number) => Promise<{ address: string; family: number }[]>;

/**
 * Which addresses an upstream connection may reach. `refusal` runs on every address a host name
 * resolves to, when a connection is opened (not per request: a kept-alive socket is reused as is),
 * so DNS cannot swap a checked name for a forbidden address.
 */
export interface UpstreamGuard {
  /** Why `address` (an IP) may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined;
  /** Default: the system resolver (`dns.lookup`, all addresses). */
  resolve?: Resolve;
}

/** An upstream whose address the guard refused: nothing was sent. */
export class RefusedAddressError extends Error {
  readonly host: string;
  readonly address: string;
  readonly reason: string;
  constructor(host: string, address: string, reason: string) {
    super(
      host === address
        ? `upstream address ${address} ${reason}`
        : `upstream ${host} resolves to ${address}, which ${reason}`,
    );
    this.host = host;
    this.address = address;
    this.reason = reason;
  }
}

const systemResolve: Resolve = (hostname, family) =>
  dnsLookup(hostname, { all: true, family: family === 4 || family === 6 ? family : 0 });

/** A `lookup` for `net.connect` that resolves every address and refuses the lot if one is forbidden. */
const guardedLookup =
  (guard: UpstreamGuard): LookupFunction =>
  (hostname, options, callback) => {
    const family = typeof options.family === 'number' ? options.family : 0;
    (guard.resolve ?? systemResolve)(hostname, family).then(
      (addresses) => {
        const refused = addresses
          .map(({ address }) => ({ address, reason: guard.refusal(address) }))
          .find(({ reason }) => reason !== undefined);
        const first = addresses[0];
        if (refused?.reason !== undefined) {
          callback(new RefusedAddressError(hostname, refused.address, refused.reason), '', 0);
        } else if (!first) {
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        } else if (options.all) {
          callback(null, addresses);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };

interface Agents {
  'http:': InstanceType<typeof HttpAgent>;
  'https:': InstanceType<typeof HttpsAgent>;
}

// One keep-alive pool per guard, created on first use and kept for the process (DESIGN §6): a socket
// opened under one guard is never reused under a stricter one.
const pools = new WeakMap<UpstreamGuard, Agents>();

const agentsFor = (guard: UpstreamGuard): Agents => {
  let agents = pools.get(guard);
  if (!agents) {
    const lookup = guardedLookup(guard);
    agents = {
      'http:': new HttpAgent({ keepAlive: true, maxSockets: 256, lookup }),
      'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256, lookup }),
    };
    pools.set(guard, agents);
  }
  return agents;
};

// The whole body by its events: an async iterator over the message costs more than the few chunks
// of a JSON answer. A connection that breaks (or is aborted) before the end rejects.
const collect = (message: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    message.once('error', reject);
    message.once('close', () => {
      if (!message.complete) reject(new Error('the upstream connection closed before the body ended'));
    });
  });

const fromIncoming = (message: IncomingMessage): UpstreamResponse => {
  const status = message.statusCode ?? 502;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get: (name) => {
        const value = message.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: message,
    text: () => collect(message),
  };
};

/** Wraps a fetch `Response` (the echo provider builds one) in the same shape. */
export const fromFetchResponse = (response: Response): UpstreamResponse => ({
  status: response.status,
  ok: response.ok,
  headers: response.headers,
  body: (response.body ?? new ReadableStream<Uint8Array>()) as unknown as AsyncIterable<Uint8Array>,
  text: () => response.text(),
});

interface Target {
  protocol: string;
  /** `http.request`'s options for the URL (host, port, path). */
  options: ReturnType<typeof urlToHttpOptions>;
  /** An IP literal is connected to without a lookup: the guard's word on it, checked once. */
  literal: { address: string; refusal: string | undefined } | undefined;
}

// Each guard's upstream URLs, parsed and checked once: they come from routes (a handful per route),
// never from clients; the bound only keeps a long-lived process from growing with route edits.
const targets = new WeakMap<UpstreamGuard, Map<string, Target>>();
const MAX_TARGETS = 256;

const targetOf = (url: string, guard: UpstreamGuard): Target => {
  let byUrl = targets.get(guard);
  if (!byUrl) {
    byUrl = new Map();
    targets.set(guard, byUrl);
  }
  let target = byUrl.get(url);
  if (!target) {
    const parsed = new URL(url);
    const address = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    target = {
      protocol: parsed.protocol,
      options: urlToHttpOptions(parsed),
      literal: isIP(address) ? { address, refusal: guard.refusal(address) } : undefined,
    };
    if (byUrl.size >= MAX_TARGETS) byUrl.clear();
    byUrl.set(url, target);
  }
  return target;
};

/**
 * POSTs JSON upstream over `node:http(s)` with keep-alive: leaner per request than `fetch`, and its
 * body is a Node stream the gateway forwards without web-stream conversions. Resolves when the
 * response headers arrive; rejects if the connection fails before that, with a
 * {@link RefusedAddressError} when `guard` refuses the address (then nothing is sent).
 */
export const postJson = (
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  guard: UpstreamGuard,
): Promise<UpstreamResponse> =>
  new Promise((resolve, reject) => {
    const target = targetOf(url, guard);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = agentsFor(guard)[target.protocol as keyof Agents];
    if (!agent) {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    // An IP literal is connected to without a lookup: it is checked here instead.
    if (target.literal?.refusal !== undefined) {
      const { address, refusal } = target.literal;
      reject(new RefusedAddressError(address, address, refusal));
      return;
    }
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const payload = Buffer.from(body);
    const request = send(
      {
        ...target.options,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(payload.length) },
      },
      (message) => resolve(fromIncoming(message)),
    );
    // The signal is followed by hand rather than given to `request` as its `signal` option, which
    // also wires end-of-stream tracking and took ~40% of building the request (a profile under load).
    const onAbort = (): void => {
      request.destroy(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    request.once('close', () => signal.removeEventListener('abort', onAbort));
    request.setNoDelay(true);
    request.once('error', reject);
    request.end(payload);
  });
