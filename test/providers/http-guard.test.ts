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
