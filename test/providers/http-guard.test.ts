import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReach } from '../../lambdas/gateway/reach.ts';
import { postJson, RefusedAddressError, type Resolve } from '../../lambdas/providers/http.ts';

/** A resolver that knows a few made-up names (no DNS, no internet) and counts its calls. */
const stubResolver = (table: Record<string, string[]>) => {
  const calls: string[] = [];
  const resolve: Resolve = async (hostname) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
};

describe('upstream connections go through the guard (connect-time check of the resolved address)', () => {
  let server: Server;
  let port: number;
  const received: string[] = [];
  const sockets = new Set<unknown>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
      sockets.add(request.socket);
      request.resume();
      request.on('end', () => response.end('{"ok":true}'));
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((closed) => server.close(() => closed())));

  const post = (url: string, guard: Parameters<typeof postJson>[4]) =>
    postJson(url, { authorization: 'Bearer sk-secret' }, '{}', AbortSignal.timeout(5_000), guard);

  it('refuses a name that resolves to 169.254.169.254, before anything is sent', async () => {
    const dns = stubResolver({ 'metadata.test': ['169.254.169.254'] });
    const reach = createReach({ local: true, resolve: dns.resolve });
    const url = new URL(`http://metadata.test:${port}/latest`);
    const before = received.length;

    // Prepare: even a route allowed http and private addresses cannot reach the metadata service.
    const guard = reach.guard(url, { allowHttp: true, allowPrivate: true });

    // Act / Assess
    await expect(post(url.href, guard)).rejects.toThrow(RefusedAddressError);
    await expect(post(url.href, guard)).rejects.toThrow(
      'upstream metadata.test resolves to 169.254.169.254, which is a cloud metadata address',
    );
    expect(dns.calls).toContain('metadata.test');
    expect(received.length).toBe(before);
  });

  it('refuses a name when any of its addresses is forbidden, even if another one is fine (no DNS swap)', async () => {
    const dns = stubResolver({ 'swap.test': ['127.0.0.1', '169.254.169.254'] });
    const guard = createReach({ local: true, resolve: dns.resolve }).guard(new URL(`http://swap.test:${port}`), {
      allowHttp: true,
    });
    const before = received.length;

    await expect(post(`http://swap.test:${port}/v1/chat/completions`, guard)).rejects.toThrow(/169\.254\.169\.254/);
    expect(received.length).toBe(before);
  });

  it('refuses a private address unless the route allows private ones, and loopback off the local gateway', async () => {
    const dns = stubResolver({ 'internal.test': ['10.1.2.3'], 'loop.test': ['127.0.0.1'] });
    const strict = createReach({ resolve: dns.resolve });
    const url = (host: string) => new URL(`https://${host}:${port}/v1`);

    await expect(post(url('internal.test').href, strict.guard(url('internal.test'), {}))).rejects.toThrow(
      'is in a private range',
    );
    await expect(post(url('loop.test').href, strict.guard(url('loop.test'), {}))).rejects.toThrow('is loopback');
    await expect(post('https://127.0.0.1:1/v1', strict.guard(new URL('https://127.0.0.1:1/v1'), {}))).rejects.toThrow(
      'upstream address 127.0.0.1 is loopback',
    );
  });

  it('lets the local gateway reach loopback over http, and only loopback', async () => {
    const dns = stubResolver({ 'fake.localhost': ['127.0.0.1'], 'lan.localhost': ['192.168.1.20'] });
    const reach = createReach({ local: true, resolve: dns.resolve });
    const fine = new URL(`http://fake.localhost:${port}/v1`);
    const lan = new URL(`http://lan.localhost:${port}/v1`);

    const response = await post(fine.href, reach.guard(fine, {}));
    expect(response.status).toBe(200);
    await response.text();
    await expect(post(lan.href, reach.guard(lan, { allowPrivate: true }))).rejects.toThrow(
      'is not loopback: plain http reaches loopback only',
    );
  });

  it('checks on new connections only: kept-alive sockets are reused without a lookup', async () => {
    const dns = stubResolver({ 'keep.localhost': ['127.0.0.1'] });
    const reach = createReach({ local: true, resolve: dns.resolve });
    const url = new URL(`http://keep.localhost:${port}/v1`);
    sockets.clear();

    for (let i = 0; i < 5; i++) {
      const response = await post(url.href, reach.guard(url, {}));
      await response.text();
    }

    expect(dns.calls.filter((name) => name === 'keep.localhost')).toHaveLength(1);
    expect(sockets.size).toBe(1);
  });
});

describe('an upstream call follows its abort signal', () => {
  let server: Server;
  let base: URL;
  const received: string[] = [];
  const closed: string[] = [];

  beforeAll(async () => {
    // /slow-headers answers never; /slow-body sends its headers and one chunk, then waits.
    server = createServer((request, response) => {
      received.push(request.url ?? '');
      request.resume();
      response.on('close', () => closed.push(request.url ?? ''));
      if (request.url === '/slow-body') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"partial":');
      }
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((done) => server.close(() => done()));
  });

  const guardOf = (url: URL) => createReach({ local: true }).guard(url, {});
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((tick) => setTimeout(tick, 5));
  };

  it('sends nothing when the signal is already aborted, and rejects with its reason', async () => {
    const url = new URL('/never', base);
    const reason = new Error('cancelled before the call');

    const call = postJson(url.href, {}, '{}', AbortSignal.abort(reason), guardOf(url));

    await expect(call).rejects.toBe(reason);
    await new Promise((tick) => setTimeout(tick, 50));
    expect(received).not.toContain('/never');
  });

  it('drops the connection and rejects with the reason while waiting for the headers', async () => {
    const url = new URL('/slow-headers', base);
    const abort = new AbortController();
    const reason = new Error('upstream headers timeout');

    const call = postJson(url.href, {}, '{}', abort.signal, guardOf(url));
    await until(() => received.includes('/slow-headers'));
    abort.abort(reason);

    await expect(call).rejects.toBe(reason);
    await until(() => closed.includes('/slow-headers'));
    expect(closed).toContain('/slow-headers');
  });

  it('breaks the body being read when the signal aborts after the headers', async () => {
    const url = new URL('/slow-body', base);
    const abort = new AbortController();

    const response = await postJson(url.href, {}, '{}', abort.signal, guardOf(url));
    const text = response.text();
    abort.abort(new Error('request deadline'));

    expect(response.status).toBe(200);
    await expect(text).rejects.toThrow();
    await until(() => closed.includes('/slow-body'));
    expect(closed).toContain('/slow-body');
  });
});
