import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashKey, mintKey } from '../../lambdas/gateway/keys.ts';
import type { LocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import { freePort } from '../../lambdas/store/dynamodb-local.ts';
import type { Stores } from '../../lambdas/store/index.ts';
import type { WalletAdminStore } from '../../lambdas/store/wallet-admin.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { createAccountWithKey, putRoute } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { type Captured, startCapturedGateway } from './capture.ts';
import { rawClient } from './raw-http.ts';

const OPENAI_CREDENTIAL = 'sk-proj-OPENAIcredential0000aaaa1111';
const ANTHROPIC_CREDENTIAL = 'sk-ant-api03-ANTHROPICcredential2222bbbb';
const COMPAT_CREDENTIAL = 'gsk_COMPATcredential3333cccc';
const CREDENTIAL_NAMES = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'COMPAT_API_KEY', 'UNSET_SECURITY_API_KEY'];
/** Message content that must never reach a log or a report. */
const CANARY = 'canary-7Q2ZX';

interface Exchange {
  label: string;
  status: number;
  /** Status line, headers and body, as one text to search. */
  text: string;
  body: string;
}

const post = async (
  gateway: LocalGateway,
  label: string,
  path: string,
  headers: Record<string, string>,
  body: string,
) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  const head = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  return { label, status: response.status, text: `${response.status}\n${head}\n\n${text}`, body: text };
};

const get = async (gateway: LocalGateway, label: string, path: string, headers: Record<string, string>) => {
  const response = await fetch(`${gateway.url}${path}`, { headers });
  const text = await response.text();
  const head = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  return { label, status: response.status, text: `${response.status}\n${head}\n\n${text}`, body: text };
};

const chatBody = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: `please keep ${CANARY} private` }], ...extra });
const messagesBody = (model: string) =>
  JSON.stringify({ model, max_tokens: 32, messages: [{ role: 'user', content: `please keep ${CANARY} private` }] });

/** Every place a `needle` occurs in `haystacks`, labelled, for a readable failure. */
const occurrences = (needles: readonly string[], haystacks: ReadonlyArray<[string, string]>): string[] =>
  haystacks.flatMap(([where, text]) =>
    needles.filter((needle) => text.includes(needle)).map((needle) => `${needle.slice(0, 12)}… in ${where}`),
  );

describe('security', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await upstream?.close();
  });

  describe('(a) secrets and message content across success, 401, 402, 403, 404, 5xx and configuration errors', () => {
    let gateway: LocalGateway;
    let captured: Captured;
    const exchanges: Exchange[] = [];
    const clientSecrets: string[] = [];
    const keyLookups: string[] = [];
    let closedUrl: string;

    beforeAll(async () => {
      // Prepare: a key store that records what it is asked for, and a wallet store that fails for one account.
      const closed = await freePort();
      closedUrl = `http://127.0.0.1:${closed}`;
      await putRoute(db, { model: 'gpt', provider: 'openai' });
      await putRoute(db, { model: 'claude', provider: 'anthropic' });
      await putRoute(db, {
        model: 'compat',
        provider: 'openai-compatible',
        baseUrl: `${upstream.url}/v1`,
        credential: 'COMPAT_API_KEY',
      });
      await putRoute(db, { model: 'gpt-refused', provider: 'openai-compatible', baseUrl: `${closedUrl}/v1` });
      await putRoute(db, { model: 'gpt-nokey', provider: 'openai', credential: 'UNSET_SECURITY_API_KEY' });
      await putRoute(db, { model: 'gpt-nourl', provider: 'openai-compatible' });
      await putRoute(db, { model: 'gpt-mystery', provider: 'mystery-provider' });
      const main = await createAccountWithKey(db);
      const poor = await createAccountWithKey(db, { nano: 1 });
      const limited = await createAccountWithKey(db, { models: ['claude'] });
      const broken = await createAccountWithKey(db);
      const revoked = await createAccountWithKey(db);
      await db.stores.keys.revoke(revoked.record.keyId);
      const unknown = mintKey('nobody').secret;
      clientSecrets.push(main.secret, poor.secret, limited.secret, broken.secret, revoked.secret, unknown);

      const keys = new Proxy(db.stores.keys, {
        get(target, property) {
          if (property === 'get') {
            return (keyHash: string) => {
              keyLookups.push(keyHash);
              return target.get(keyHash);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const wallets = new Proxy(db.stores.wallets, {
        get(target, property) {
          if (property === 'hold') {
            return (row: UsageRow) =>
              row.accountId === broken.accountId
                ? Promise.reject(new Error('simulated: DynamoDB is unreachable'))
                : target.hold(row);
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as WalletAdminStore;
      const stores: Stores = { ...db.stores, keys, wallets };
      ({ gateway, captured } = await startCapturedGateway(stores, {
        OPENAI_API_KEY: OPENAI_CREDENTIAL,
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        ANTHROPIC_API_KEY: ANTHROPIC_CREDENTIAL,
        ANTHROPIC_BASE_URL: upstream.url,
        COMPAT_API_KEY: COMPAT_CREDENTIAL,
      }));

      // Act: one of each outcome, the canary in every request that has content.
      const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
      const chat = '/v1/chat/completions';
      exchanges.push(
        await post(gateway, 'success (chat)', chat, bearer(main.secret), chatBody('gpt')),
        await post(gateway, 'success (chat, streamed)', chat, bearer(main.secret), chatBody('gpt', { stream: true })),
        await post(gateway, 'success (messages)', '/v1/messages', { 'x-api-key': main.secret }, messagesBody('claude')),
        await post(gateway, 'success (translated)', chat, bearer(main.secret), chatBody('claude')),
        await post(gateway, 'success (compatible)', chat, bearer(main.secret), chatBody('compat')),
        await get(gateway, 'models (OpenAI)', '/v1/models', bearer(main.secret)),
        await get(gateway, 'models (Anthropic)', '/v1/models', {
          ...bearer(main.secret),
          'anthropic-version': '2023-06-01',
        }),
        await get(gateway, 'wallet', '/v1/wallet', bearer(main.secret)),
        await post(gateway, '401 (unknown key)', chat, bearer(unknown), chatBody('gpt')),
        await post(
          gateway,
          '401 (revoked key)',
          '/v1/messages',
          { 'x-api-key': revoked.secret },
          messagesBody('claude'),
        ),
        await post(gateway, '402', chat, bearer(poor.secret), chatBody('gpt')),
        await post(gateway, '403', chat, bearer(limited.secret), chatBody('gpt')),
        await post(gateway, '404', chat, bearer(main.secret), chatBody('gpt-unknown')),
        await post(gateway, '404 (key suffix)', chat, bearer(`${main.secret}-openai/nope`), chatBody('gpt')),
      );
      upstream.enqueue({ status: 500 });
      exchanges.push(await post(gateway, '500 (upstream)', chat, bearer(main.secret), chatBody('gpt')));
      exchanges.push(
        await post(gateway, '502 (refused)', chat, bearer(main.secret), chatBody('gpt-refused')),
        await post(gateway, '500 (database down)', chat, bearer(broken.secret), chatBody('gpt')),
        await post(gateway, 'configuration (missing credential)', chat, bearer(main.secret), chatBody('gpt-nokey')),
        await post(gateway, 'configuration (no base URL)', chat, bearer(main.secret), chatBody('gpt-nourl')),
        await post(gateway, 'configuration (unknown provider)', chat, bearer(main.secret), chatBody('gpt-mystery')),
      );
      upstream.enqueue({ status: 401 });
      exchanges.push(await post(gateway, 'configuration (upstream 401)', chat, bearer(main.secret), chatBody('gpt')));
      upstream.enqueue({ status: 403 });
      exchanges.push(
        await post(
          gateway,
          'configuration (upstream 403)',
          '/v1/messages',
          { 'x-api-key': main.secret },
          messagesBody('claude'),
        ),
      );
      // Settles and reports run after each response; give them a moment to be written.
      await new Promise((done) => setTimeout(done, 500));
    });
    afterAll(async () => {
      await gateway?.close();
    });

    const logText = (): Array<[string, string]> => [
      ...captured.logs.map((line, index): [string, string] => [`log #${index}: ${line.slice(0, 160)}`, line]),
      ...captured.console.map((line, index): [string, string] => [`console #${index}: ${line.slice(0, 160)}`, line]),
    ];
    const reportText = (): Array<[string, string]> =>
      captured.reports.map((report): [string, string] => [
        `report ${report.kind}/${report.model}`,
        JSON.stringify(report),
      ]);
    const responseText = (): Array<[string, string]> =>
      exchanges.map((exchange): [string, string] => [`response to ${exchange.label}`, exchange.text]);

    it('ran every case it claims to, with the statuses it names', () => {
      expect(exchanges.map((exchange) => [exchange.label, exchange.status])).toEqual([
        ['success (chat)', 200],
        ['success (chat, streamed)', 200],
        ['success (messages)', 200],
        ['success (translated)', 200],
        ['success (compatible)', 200],
        ['models (OpenAI)', 200],
        ['models (Anthropic)', 200],
        ['wallet', 200],
        ['401 (unknown key)', 401],
        ['401 (revoked key)', 401],
        ['402', 402],
        ['403', 403],
        ['404', 404],
        ['404 (key suffix)', 404],
        ['500 (upstream)', 500],
        ['502 (refused)', 502],
        ['500 (database down)', 500],
        ['configuration (missing credential)', 500],
        ['configuration (no base URL)', 500],
        ['configuration (unknown provider)', 500],
        ['configuration (upstream 401)', 500],
        ['configuration (upstream 403)', 500],
      ]);
      expect(captured.reports.map((report) => report.kind).sort()).toEqual([
        'bad_base_url',
        'missing_credential',
        'unknown_provider',
        'upstream_auth',
        'upstream_auth',
      ]);
      expect(captured.logs.length).toBeGreaterThan(0);
    });

    it('never logs, reports or returns a key secret or a key hash', () => {
      const needles = [...clientSecrets, ...clientSecrets.map(hashKey)];
      expect(occurrences(needles, [...logText(), ...reportText(), ...responseText()])).toEqual([]);
    });

    it('never logs, reports or returns a provider credential', () => {
      const needles = [OPENAI_CREDENTIAL, ANTHROPIC_CREDENTIAL, COMPAT_CREDENTIAL];
      expect(occurrences(needles, [...logText(), ...reportText(), ...responseText()])).toEqual([]);
    });

    it('never logs or reports message content', () => {
      expect(occurrences([CANARY], [...logText(), ...reportText()])).toEqual([]);
    });

    it('does not log the content of a body that is not JSON (400)', async () => {
      // V8's JSON.parse errors quote the text they choke on (all of it up to 20 characters, else 10),
      // and the 400's message is logged: a prompt sent as plain text must not end up in the logs.
      const { secret } = await createAccountWithKey(db);
      const before = captured.logs.length;
      const response = await post(
        gateway,
        '400 (not JSON)',
        '/v1/chat/completions',
        { authorization: `Bearer ${secret}`, 'content-type': 'text/plain' },
        `hi ${CANARY}`,
      );
      expect(response.status).toBe(400);
      const lines = captured.logs.slice(before);
      expect(lines.length).toBeGreaterThan(0);
      expect(
        occurrences(
          [CANARY],
          lines.map((line, index): [string, string] => [`log #${index}: ${line}`, line]),
        ),
      ).toEqual([]);
    });

    it('loses no log field: Powertools drops reserved keys such as "message" with a warning', () => {
      const dropped = captured.logs.filter((line) => line.includes('is a reserved key and will be dropped'));
      expect(dropped).toEqual([]);
    });

    it('(e) names no provider base URL or credential in GET /v1/models or any error body', () => {
      const needles = [upstream.url, closedUrl, 'api.openai.com', 'api.anthropic.com', ...CREDENTIAL_NAMES];
      const bodies = exchanges
        .filter((exchange) => exchange.label.startsWith('models') || exchange.status >= 400)
        .map((exchange): [string, string] => [`response to ${exchange.label}`, exchange.text]);
      expect(bodies.length).toBeGreaterThan(10);
      expect(occurrences(needles, bodies)).toEqual([]);
    });

    it('(c) looks keys up only by their SHA-256 hash: the key store never sees a secret to compare', () => {
      expect(keyLookups.length).toBeGreaterThan(0);
      for (const lookup of keyLookups) expect(lookup).toMatch(/^[0-9a-f]{64}$/);
      expect(keyLookups).toContain(hashKey(clientSecrets[0] ?? ''));
      expect(
        occurrences(
          clientSecrets,
          keyLookups.map((lookup): [string, string] => ['a key lookup', lookup]),
        ),
      ).toEqual([]);
    });
  });

  it('(b) refuses a revoked key within the key-cache TTL', async () => {
    // Prepare: a 300 ms key cache, warmed by one accepted request.
    const KEY_CACHE_TTL_MS = 300;
    const MARGIN_MS = 1_500;
    const { gateway } = await startCapturedGateway(
      db.stores,
      {},
      { keyCacheTtlMs: KEY_CACHE_TTL_MS, negativeKeyCacheTtlMs: KEY_CACHE_TTL_MS },
    );
    try {
      const { secret, record } = await createAccountWithKey(db);
      const models = () => fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
      expect((await models()).status).toBe(200);
      // Act
      await db.stores.keys.revoke(record.keyId);
      const revokedAt = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - revokedAt <= KEY_CACHE_TTL_MS + MARGIN_MS) {
        status = (await models()).status;
        if (status === 200) await new Promise((done) => setTimeout(done, 20));
      }
      // Assess: refused by the deadline, and from then on.
      expect(status).toBe(401);
      expect((await models()).status).toBe(401);
    } finally {
      await gateway.close();
    }
  });

  it('(c) compares no secret with ===, ==, equals() or Buffer.compare anywhere in lambdas/ (static check)', () => {
    // Keys are looked up by SHA-256 hash in DynamoDB, so no secret is ever compared in process; this
    // reads the source to keep it so. A comparison of a secret-like value with a literal (undefined,
    // '', a constant) is a presence check, not a comparison of secrets. Should one ever be needed,
    // it must use crypto.timingSafeEqual.
    const root = join(process.cwd(), 'lambdas');
    const files = (readdirSync(root, { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join(root, file));
    const secretLike = /secret|hash|apikey|api_key|credential|token|password|signature/i;
    const literal = /^(?:undefined|null|true|false|''|""|`[^`$]*`|'[^']*'|"[^"]*"|-?\d[\d_.]*|\[\]|\{\})$/;
    const comparison = /([\w.$?[\]'"`()!-]+)\s*(===|!==|==|!=)\s*([\w.$?[\]'"`()!-]+)/g;
    const suspicious: string[] = [];
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, index) => {
        const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
        if (code.includes('timingSafeEqual')) return;
        const where = `${relative(process.cwd(), file)}:${index + 1}: ${line.trim()}`;
        if (/\.equals\(|Buffer\.compare\(|localeCompare\(/.test(code) && secretLike.test(code)) suspicious.push(where);
        for (const [, left = '', , right = ''] of code.matchAll(comparison)) {
          const operands = [left.replace(/^[(!]+|[)]+$/g, ''), right.replace(/^[(!]+|[)]+$/g, '')];
          if (operands.some((operand) => literal.test(operand))) continue;
          if (operands.some((operand) => secretLike.test(operand))) suspicious.push(where);
        }
      });
    }
    expect(files.length).toBeGreaterThan(20);
    expect(suspicious).toEqual([]);
  });

  describe('(d) the size limit is enforced before the body is parsed', () => {
    const MAX_BODY_BYTES = 64 * 1024;
    let gateway: LocalGateway;
    let secret: string;

    beforeAll(async () => {
      ({ secret } = await createAccountWithKey(db));
      ({ gateway } = await startCapturedGateway(db.stores, {}, { maxBodyBytes: MAX_BODY_BYTES }));
    });
    afterAll(async () => {
      await gateway?.close();
    });

    /** `bytes` of `{{{{…`: never JSON, so only a size check can make it anything but a 400. */
    const notJson = (bytes: number) => Buffer.alloc(bytes, 0x7b);
    const send = async (body: Buffer, chunked = false) => {
      const client = rawClient(gateway.port, { maxSockets: 1 });
      try {
        const headers = ['authorization', `Bearer ${secret}`, 'content-type', 'application/json'];
        if (!chunked) headers.push('content-length', String(body.length));
        return await client.send({ method: 'POST', path: '/v1/chat/completions', headers, body });
      } finally {
        client.close();
      }
    };

    it('answers 413 to 20 MB of invalid JSON, with a content-length or chunked (the function URL’s own 6 MB limit)', async () => {
      const huge = notJson(20 * 1024 * 1024);
      expect((await send(huge)).status).toBe(413);
      expect((await send(huge, true)).status).toBe(413);
    });

    it('answers 413 in the error envelope to invalid JSON over maxBodyBytes, and 400 at exactly the limit', async () => {
      const started = Date.now();
      const over = await send(notJson(MAX_BODY_BYTES + 1));
      const elapsed = Date.now() - started;
      expect(over.status).toBe(413);
      expect(JSON.parse(over.body)).toMatchObject({
        error: { type: 'invalid_request_error', message: expect.stringContaining(String(MAX_BODY_BYTES)) },
      });
      // Generous: "quickly" means no parse and no database call, not a benchmark.
      expect(elapsed).toBeLessThan(2_000);
      expect((await send(notJson(1024 * 1024))).status).toBe(413);
      expect((await send(notJson(MAX_BODY_BYTES))).status).toBe(400);
    });
  });
});
