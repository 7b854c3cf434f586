import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Resolve } from '../../lambdas/providers/http.ts';
import { createAccountWithKey, putRoute } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * Routes written straight into the table (as an attacker with write access, or an old route, would
 * be): the proxy itself refuses what `routes set` would have refused, and reads or sends nothing.
 */
describe('the proxy reaches only what a route is meant to', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let secret: string;
  const envReads = new Set<string>();
  const lookups: string[] = [];

  // No DNS: made-up names, one of which swaps a fine address for the metadata service's.
  const resolve: Resolve = async (hostname) => {
    lookups.push(hostname);
    if (hostname === 'swapped.test') {
      return [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ];
    }
    if (hostname === 'metadata.test') return [{ address: '169.254.169.254', family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  };

  const chat = (model: string) =>
    gateway.post(secret, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });

  const expectConfigurationError = async (response: Response, model: string, kind: string) => {
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'configuration_error' } });
    expect(text).not.toContain('/root');
    expect(gateway.reports.find((report) => report.model === model)).toMatchObject({ kind });
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    const port = new URL(upstream.url).port;
    const routes = [
      { model: 'gpt-ok', provider: 'openai' },
      { model: 'gpt-home', provider: 'openai', credential: 'HOME' },
      { model: 'gpt-aws', provider: 'openai', credential: 'AWS_SECRET_ACCESS_KEY' },
      { model: 'gpt-internal', provider: 'openai', credential: 'TOLLGATE_ADMIN_API_KEY' },
      {
        model: 'gpt-swapped',
        provider: 'openai-compatible',
        baseUrl: `http://swapped.test:${port}/v1`,
        allowHttp: true,
        allowPrivate: true,
      },
      {
        model: 'gpt-metadata-name',
        provider: 'openai-compatible',
        baseUrl: `http://metadata.test:${port}/v1`,
        allowHttp: true,
      },
      {
        model: 'gpt-metadata-ip',
        provider: 'openai-compatible',
        baseUrl: 'http://169.254.169.254/latest',
        allowHttp: true,
      },
      { model: 'gpt-plain-http', provider: 'openai-compatible', baseUrl: `http://upstream.test:${port}/v1` },
    ];
    for (const route of routes) await putRoute(db, route);
    ({ secret } = await createAccountWithKey(db));
    const env: NodeJS.ProcessEnv = {
      HOME: '/root',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
      TOLLGATE_ADMIN_API_KEY: 'tollgate-internal-value',
      OPENAI_API_KEY: 'sk-upstream-openai',
      OPENAI_BASE_URL: `${upstream.url}/v1`,
    };
    const watched = new Proxy(env, {
      get(target, name) {
        if (typeof name === 'string') envReads.add(name);
        return Reflect.get(target, name);
      },
    });
    gateway = await startTestGateway(db, watched, {}, { resolve });
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('serves a route on the default credential and a loopback upstream (local mode)', async () => {
    const response = await chat('gpt-ok');

    expect(response.status).toBe(200);
    expect(upstream.requests.map((request) => request.auth.key)).toEqual(['sk-upstream-openai']);
  });

  it.each([
    ['gpt-home', 'HOME'],
    ['gpt-aws', 'AWS_SECRET_ACCESS_KEY'],
    ['gpt-internal', 'TOLLGATE_ADMIN_API_KEY'],
  ])('answers %s (credential %s) 500 configuration_error without reading the variable', async (model, name) => {
    envReads.clear();

    await expectConfigurationError(await chat(model), model, 'bad_credential_name');

    expect(envReads.has(name)).toBe(false);
    expect(upstream.requestCount).toBe(0);
    expect(gateway.reports.find((report) => report.model === model)?.hint).toContain('ending in _API_KEY');
  });

  it('never sends Bearer /root (or any refused variable) upstream', async () => {
    for (const model of ['gpt-home', 'gpt-aws', 'gpt-internal']) await chat(model);

    const sent = JSON.stringify(upstream.requests.map((request) => request.headers));
    expect(sent).not.toContain('/root');
    expect(sent).not.toContain('aws-secret-value');
    expect(sent).not.toContain('tollgate-internal-value');
  });

  it('refuses at connect time a name that resolves to 169.254.169.254 among fine addresses: 500, nothing sent', async () => {
    const response = await chat('gpt-swapped');

    await expectConfigurationError(response, 'gpt-swapped', 'refused_address');
    expect(lookups).toContain('swapped.test');
    expect(upstream.requestCount).toBe(0);
    expect(gateway.reports.find((report) => report.model === 'gpt-swapped')?.hint).toContain(
      'swapped.test resolves to 169.254.169.254, which is a cloud metadata address',
    );
  });

  it('refuses a name that resolves to the metadata address only', async () => {
    await expectConfigurationError(await chat('gpt-metadata-name'), 'gpt-metadata-name', 'refused_address');
    expect(upstream.requestCount).toBe(0);
  });

  it('refuses a metadata IP literal and plain http to a non-loopback host before any lookup', async () => {
    lookups.length = 0;

    await expectConfigurationError(await chat('gpt-metadata-ip'), 'gpt-metadata-ip', 'bad_base_url');
    await expectConfigurationError(await chat('gpt-plain-http'), 'gpt-plain-http', 'bad_base_url');

    expect(lookups).toEqual([]);
    expect(upstream.requestCount).toBe(0);
  });

  // The proxy checks a cached route's base URL once (and an upstream URL's IP literal once): a
  // refusal must hold for every later request on that route too, not only the first.
  it('refuses the same routes again on every later request, and still serves the fine one', async () => {
    const models = ['gpt-metadata-ip', 'gpt-plain-http', 'gpt-swapped', 'gpt-ok'];
    const statuses: Record<string, number[]> = Object.fromEntries(models.map((model) => [model, []]));
    for (let round = 0; round < 3; round++) {
      for (const model of models) {
        const response = await chat(model);
        await response.text();
        statuses[model]?.push(response.status);
      }
    }

    expect(statuses).toEqual({
      'gpt-metadata-ip': [500, 500, 500],
      'gpt-plain-http': [500, 500, 500],
      'gpt-swapped': [500, 500, 500],
      'gpt-ok': [200, 200, 200],
    });
    expect(upstream.requestCount).toBe(3); // the three answers of gpt-ok: nothing else reached it
  });
});
