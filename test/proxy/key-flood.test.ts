import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import middy from '@middy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxyHandler } from '../../lambdas/app.ts';
import { createKeyCache, KEY_CACHE_MAX, NEGATIVE_KEY_CACHE_MAX } from '../../lambdas/gateway/cache.ts';
import { configFromEnv } from '../../lambdas/gateway/config.ts';
import type { StreamingResponse } from '../../lambdas/gateway/forward.ts';
import { mintKey } from '../../lambdas/gateway/keys.ts';
import { authenticateKey } from '../../lambdas/middlewares/authenticate.ts';
import { errorResponder } from '../../lambdas/middlewares/error-responder.ts';
import { requestContext } from '../../lambdas/middlewares/request-context.ts';
import { envCredentials } from '../../lambdas/providers/credentials.ts';
import { createReporter } from '../../lambdas/reports/reporter.ts';
import { createFunctionUrlServer, installLambdaGlobals } from '../../lambdas/runtime/function-url.ts';
import { keyUsageReader } from '../../lambdas/services/keys.ts';
import type { KeyRecord } from '../../lambdas/vocabulary.ts';
import { createTestDatabase } from '../support/dynamo.ts';
import { fakeReporter } from '../support/fakes.ts';
import { lambdaContext, proxyEvent, REACHED, reachHandler, silentLogger } from '../support/lambda.ts';

const FLOOD = 100_000;

const OPENAI_401 = {
  error: { message: 'Invalid or missing API key', type: 'authentication_error', param: null, code: null },
};
const ANTHROPIC_401 = { type: 'error', error: { type: 'authentication_error', message: 'Invalid or missing API key' } };

/** A well-formed key nobody minted. */
const unknownKey = () => `sk-${randomBytes(24).toString('hex')}`;

/** A string that is not a Tollgate key, in one of the near-miss shapes. */
const malformedKey = (index: number): string => {
  const hex = randomBytes(24).toString('hex');
  const shapes = [
    `sk-${hex.slice(0, 47)}`, // 47 hex digits
    `sk-${hex}0`, // 49
    `sk-${hex.toUpperCase()}`,
    `sk-${hex.slice(0, 47)}g`,
    `sk-${hex.slice(0, 20)}_${hex.slice(21)}`,
    `sk-${hex.slice(0, 40)}-openai/gpt`, // a route suffix after a short secret
    `sk-${hex}-`, // a suffix with no provider/model
    `sk-${hex}-openai/`,
    `pk-${hex}`,
    'sk-',
    '',
  ];
  return shapes[index % shapes.length] ?? '';
};

/** The key table, in memory, counting every read the gateway makes of it. */
const countingKeyStore = (...records: KeyRecord[]) => {
  const byHash = new Map(records.map((record) => [record.keyHash, record]));
  const store = {
    reads: 0,
    get: async (keyHash: string): Promise<KeyRecord | undefined> => {
      store.reads += 1;
      return byHash.get(keyHash);
    },
  };
  return store;
};

/** Heap in use after a full collection, in MB. */
const retainedHeapMb = (): number => {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed / 1e6;
};

/** Half the requests send the key the OpenAI way, half the Anthropic way, each on its protocol's path. */
const requestWith = (key: string, index: number): { path: string; headers: Record<string, string> } =>
  index % 2
    ? { path: '/v1/messages', headers: { 'x-api-key': key } }
    : { path: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` } };

describe('a flood of keys, through authentication and the gateway’s key cache', () => {
  // A clock that stands still: the cache's TTLs do not run out mid-flood on a slow machine.
  const clock = { now: () => 0 };
  const live = Array.from({ length: 100 }, () => mintKey('acct-flood'));
  const store = countingKeyStore(...live.map((key) => key.record));
  const cache = createKeyCache(configFromEnv({}), clock);
  const handler = middy(reachHandler)
    .use(errorResponder({ logger: silentLogger(), reporter: fakeReporter() }))
    .use(requestContext())
    .use(authenticateKey({ lookup: (hash) => cache.get(hash, () => store.get(hash)) }));
  const send = (key: string, index: number): Promise<StreamingResponse> => {
    const { path, headers } = requestWith(key, index);
    return handler(proxyEvent(path, { headers }), lambdaContext());
  };

  it(`leaves every valid key cached, and the cache within its bounds, after ${FLOOD.toLocaleString('en')} random unknown keys`, async () => {
    // Prepare: 100 live keys, each looked up once
    for (const [index, key] of live.entries()) expect(await send(key.secret, index)).toBe(REACHED);
    expect(store.reads).toBe(live.length);
    store.reads = 0;
    const heapBefore = retainedHeapMb();
    const startedAt = performance.now();
    // Act
    for (let index = 0; index < FLOOD; index += 1) {
      const response = await send(unknownKey(), index);
      if (response.statusCode !== 401) throw new Error(`unknown key answered ${response.statusCode}`);
    }
    const elapsedMs = performance.now() - startedAt;
    // Assess: one read per unknown key, bounded caches, and no read for a live key afterwards
    expect(store.reads).toBe(FLOOD);
    expect(cache.size).toEqual({ found: live.length, missing: NEGATIVE_KEY_CACHE_MAX });
    expect(cache.size.found).toBeLessThanOrEqual(KEY_CACHE_MAX);
    store.reads = 0;
    for (const [index, key] of live.entries()) expect(await send(key.secret, index)).toBe(REACHED);
    expect(store.reads).toBe(0);
    const heapMb = retainedHeapMb() - heapBefore;
    console.info(
      `[key-flood] ${FLOOD} unknown keys: ${Math.round(elapsedMs)} ms, ${FLOOD} reads, cache ${JSON.stringify(cache.size)}, heap ${heapMb >= 0 ? '+' : ''}${heapMb.toFixed(1)} MB`,
    );
  }, 60_000);

  it(`makes no read at all for ${FLOOD.toLocaleString('en')} strings that cannot be keys`, async () => {
    store.reads = 0;
    const startedAt = performance.now();
    for (let index = 0; index < FLOOD; index += 1) {
      const response = await send(malformedKey(index), index);
      if (response.statusCode !== 401) throw new Error(`malformed key answered ${response.statusCode}`);
    }
    const elapsedMs = performance.now() - startedAt;
    expect(store.reads).toBe(0);
    console.info(`[key-flood] ${FLOOD} malformed keys: ${Math.round(elapsedMs)} ms, 0 reads`);
  }, 60_000);
});

describe('a flood of keys at the function URL', () => {
  /** Past the 10,000 entries at which the old cache emptied itself, valid keys with it. */
  const HTTP_FLOOD = 12_000;
  const MALFORMED = 1_100;
  const CONCURRENCY = 32;
  const valid = mintKey('acct-flood');
  const keys = countingKeyStore(valid.record);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let url: string;
  let close: (() => Promise<void>) | undefined;

  /** POSTs `{}`; the status and the parsed body. */
  const post = (key: string, index: number) =>
    new Promise<{ status: number; body: unknown }>((answered, failed) => {
      const { path, headers } = requestWith(key, index);
      const req = request(`${url}${path}`, { method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          answered({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
        res.on('error', failed);
      });
      req.on('error', failed);
      req.end('{}');
    });

  /** Sends `count` requests, CONCURRENCY at a time; how many answered each status. */
  const flood = async (count: number, keyOf: (index: number) => string) => {
    let next = 0;
    const statuses: Record<number, number> = {};
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const { status } = await post(keyOf(index), index);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return statuses;
  };

  beforeAll(async () => {
    const db = await createTestDatabase();
    installLambdaGlobals();
    const handler = createProxyHandler({
      ...db.stores,
      keyUsage: keyUsageReader(db.stores),
      keys,
      credentials: envCredentials({}),
      reporter: createReporter({ publish: async () => undefined }),
      logger: silentLogger(),
      config: configFromEnv({}), // the default caches: keys 30 s, unknown keys 5 s
      env: {},
    });
    const server = createFunctionUrlServer({ handler });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () =>
      new Promise<void>((closed) => {
        server.close(() => closed());
        server.closeAllConnections();
      });
  });
  afterAll(async () => {
    agent.destroy();
    await close?.();
  });

  it(`keeps a valid key cached through ${HTTP_FLOOD.toLocaleString('en')} unknown keys, and reads nothing for malformed ones`, async () => {
    // Prepare: the valid key is read once (its empty body then answers 400)
    expect((await post(valid.secret, 0)).status).toBe(400);
    expect(keys.reads).toBe(1);
    keys.reads = 0;
    // Act
    expect(await flood(HTTP_FLOOD, () => unknownKey())).toEqual({ 401: HTTP_FLOOD });
    expect(keys.reads).toBe(HTTP_FLOOD);
    keys.reads = 0;
    expect(await flood(MALFORMED, malformedKey)).toEqual({ 401: MALFORMED });
    // Assess
    expect(keys.reads).toBe(0);
    expect((await post(valid.secret, 0)).status).toBe(400);
    expect((await post(`${valid.secret}-openai/gpt-x`, 1)).status).toBe(400);
    expect(keys.reads).toBe(0);
  }, 60_000);

  it('refuses unknown and malformed keys with the error contract’s 401 in both protocols', async () => {
    for (const key of [
      unknownKey(),
      `${unknownKey()}-openai/gpt`,
      ...Array.from({ length: 11 }, (_, i) => malformedKey(i)),
    ]) {
      expect(await post(key, 0)).toEqual({ status: 401, body: OPENAI_401 });
      expect(await post(key, 1)).toEqual({ status: 401, body: ANTHROPIC_401 });
    }
  });
});
