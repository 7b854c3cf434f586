import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import { costOf, quoteHold } from '../../lambdas/gateway/pricing.ts';
import type { Route } from '../../lambdas/vocabulary.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, obeyCap, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * The hold bounds the spend (issue 10): for every endpoint × provider kind × stream/not × way of
 * asking for output, the upstream — an `obey-cap` fake that generates exactly the cap it receives,
 * or a million tokens when it receives none — is sent exactly the cap that was held, in the one
 * field its endpoint reads, and the account is debited at most its hold.
 *
 * Every pair of the three generating endpoints and the three upstream provider kinds is bridged;
 * the only pairing refused by design is Chat's `n > 1` on an Anthropic route (400: Messages answers
 * one choice). The built-in echo provider answers in-process and reaches no upstream.
 */

// $1 in / $2 out per million tokens; an account of $0.05 and no credit affords 25,000 output tokens.
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const CENT = 10_000_000;
const ACCOUNT = { nano: 5 * CENT, creditLimitNano: 0 };
/** $0.001 of balance and $0.05 of credit: a request of 5,000 output tokens ends below zero, within the limit. */
const ON_CREDIT = { nano: CENT / 10, creditLimitNano: 5 * CENT };

type Endpoint = 'chat' | 'messages' | 'responses';
type Kind = 'openai' | 'anthropic' | 'openai-compatible';
const KINDS: readonly Kind[] = ['openai', 'anthropic', 'openai-compatible'];

const PATHS: Record<Endpoint, string> = {
  chat: '/v1/chat/completions',
  messages: '/v1/messages',
  responses: '/v1/responses',
};

/** The route each provider kind is reached by, and the max output it assumes when a request names none. */
const ROUTES: Record<Kind, { model: string; defaultMaxTokens: number | undefined }> = {
  openai: { model: 'cap-openai', defaultMaxTokens: undefined }, // the gateway's fallback: 4,096
  anthropic: { model: 'cap-anthropic', defaultMaxTokens: 1_000 },
  'openai-compatible': { model: 'cap-compatible', defaultMaxTokens: 2_000 },
};
const FALLBACK_MAX_TOKENS = 4_096;

/** Where each (client endpoint, provider kind) pair reaches the upstream, and the one cap field sent there. */
const UPSTREAM: Record<Endpoint, Record<Kind, { path: string; field: string }>> = {
  chat: {
    openai: { path: '/v1/chat/completions', field: 'max_completion_tokens' },
    anthropic: { path: '/v1/messages', field: 'max_tokens' },
    'openai-compatible': { path: '/v1/chat/completions', field: 'max_tokens' },
  },
  messages: {
    openai: { path: '/v1/chat/completions', field: 'max_completion_tokens' },
    anthropic: { path: '/v1/messages', field: 'max_tokens' },
    'openai-compatible': { path: '/v1/chat/completions', field: 'max_tokens' },
  },
  responses: {
    openai: { path: '/v1/responses', field: 'max_output_tokens' },
    anthropic: { path: '/v1/messages', field: 'max_tokens' },
    'openai-compatible': { path: '/v1/responses', field: 'max_output_tokens' },
  },
};

/** One way of asking for output, and what the gateway must make of it. */
interface Variant {
  endpoint: Endpoint;
  name: string;
  fields: Record<string, unknown>;
  /** The cap the upstream must receive (per choice): a number, or the route's default max output. */
  cap?: number | 'route default';
  /** Parallel choices the hold covers (Chat's `n`). */
  choices?: number;
  /** Refused before anything reaches the upstream, on every route or only on `on`. */
  refused?: { status: 400 | 402; on?: Kind };
  account?: typeof ON_CREDIT;
}

const VARIANTS: Variant[] = [
  { endpoint: 'chat', name: 'no cap field', fields: {}, cap: 'route default' },
  { endpoint: 'chat', name: 'max_tokens 50', fields: { max_tokens: 50 }, cap: 50 },
  { endpoint: 'chat', name: 'max_completion_tokens 40', fields: { max_completion_tokens: 40 }, cap: 40 },
  {
    endpoint: 'chat',
    name: 'max_tokens 64000 + max_completion_tokens 1',
    fields: { max_tokens: 64_000, max_completion_tokens: 1 },
    cap: 1,
  },
  {
    endpoint: 'chat',
    name: 'foreign max_output_tokens 64000 + max_tokens 7',
    fields: { max_output_tokens: 64_000, max_tokens: 7 },
    cap: 7,
  },
  {
    endpoint: 'chat',
    name: 'only a foreign max_output_tokens 1',
    fields: { max_output_tokens: 1 },
    cap: 'route default',
  },
  {
    endpoint: 'chat',
    name: 'n 100 × max_tokens 100',
    fields: { n: 100, max_tokens: 100 },
    cap: 100,
    choices: 100,
    // Messages answers one choice: n > 1 is refused rather than billed for one and held for 100.
    refused: { status: 400, on: 'anthropic' },
  },
  {
    endpoint: 'chat',
    name: 'max_tokens 64000 (past the balance)',
    fields: { max_tokens: 64_000 },
    refused: { status: 402 },
  },
  {
    endpoint: 'chat',
    name: 'max_tokens 5000 on credit',
    fields: { max_tokens: 5_000 },
    cap: 5_000,
    account: ON_CREDIT,
  },

  { endpoint: 'messages', name: 'no cap field (max_tokens is required)', fields: {}, refused: { status: 400 } },
  { endpoint: 'messages', name: 'max_tokens 50', fields: { max_tokens: 50 }, cap: 50 },
  {
    endpoint: 'messages',
    name: 'max_tokens 64000 + max_completion_tokens 1 (past the balance)',
    fields: { max_tokens: 64_000, max_completion_tokens: 1 },
    refused: { status: 402 },
  },
  {
    endpoint: 'messages',
    name: 'max_tokens 3 + foreign max_completion_tokens 64000 + max_output_tokens 64000',
    fields: { max_tokens: 3, max_completion_tokens: 64_000, max_output_tokens: 64_000 },
    cap: 3,
  },
  { endpoint: 'messages', name: 'max_tokens 20 + a foreign n 100', fields: { max_tokens: 20, n: 100 }, cap: 20 },
  {
    endpoint: 'messages',
    name: 'max_tokens 5000 on credit',
    fields: { max_tokens: 5_000 },
    cap: 5_000,
    account: ON_CREDIT,
  },

  { endpoint: 'responses', name: 'no cap field', fields: {}, cap: 'route default' },
  { endpoint: 'responses', name: 'max_output_tokens 50', fields: { max_output_tokens: 50 }, cap: 50 },
  {
    endpoint: 'responses',
    name: 'max_tokens 1 + max_output_tokens 64000 (past the balance)',
    fields: { max_tokens: 1, max_output_tokens: 64_000 },
    refused: { status: 402 },
  },
  {
    endpoint: 'responses',
    name: 'max_output_tokens 5 + foreign max_tokens 64000 + max_completion_tokens 64000',
    fields: { max_output_tokens: 5, max_tokens: 64_000, max_completion_tokens: 64_000 },
    cap: 5,
  },
  { endpoint: 'responses', name: 'only a foreign max_tokens 1', fields: { max_tokens: 1 }, cap: 'route default' },
  {
    endpoint: 'responses',
    name: 'max_output_tokens 30 + a foreign n 100',
    fields: { max_output_tokens: 30, n: 100 },
    cap: 30,
  },
  {
    endpoint: 'responses',
    name: 'max_output_tokens 5000 on credit',
    fields: { max_output_tokens: 5_000 },
    cap: 5_000,
    account: ON_CREDIT,
  },
];

const CASES = VARIANTS.flatMap((variant) =>
  KINDS.flatMap((kind) => [false, true].map((stream) => ({ ...variant, kind, stream }))),
).map((c, index) => ({ ...c, mode: c.stream ? 'stream' : 'non-stream', tag: `#case-${index}#` }));

/**
 * The client's request body: the endpoint's own shape, the variant's fields, and the stream flag.
 * The prompt carries the case's tag, so the case finds its own upstream request while others run.
 */
const bodyFor = (
  c: Pick<Variant, 'endpoint' | 'fields'> & { stream: boolean; tag: string },
  model: string,
): Record<string, unknown> => {
  const prompt = `How many tokens may you write? ${c.tag}`;
  const content = c.endpoint === 'responses' ? { input: prompt } : { messages: [{ role: 'user', content: prompt }] };
  return { model, ...content, ...c.fields, ...(c.stream ? { stream: true } : {}) };
};

/** A primary route whose upstream always fails (500), falling back to the Anthropic route. */
const FAILING = { model: 'cap-failing-openai', upstreamModel: 'fail-500', fallbacks: [ROUTES.anthropic.model] };

/** Requests that fall back to another provider kind: the cap was fixed on the primary route, and stays. */
const FALLBACK_CASES = (
  [
    { endpoint: 'chat', fields: {}, cap: FALLBACK_MAX_TOKENS, first: '/v1/chat/completions' },
    { endpoint: 'messages', fields: { max_tokens: 50 }, cap: 50, first: '/v1/chat/completions' },
    { endpoint: 'responses', fields: {}, cap: FALLBACK_MAX_TOKENS, first: '/v1/responses' },
  ] as const
).flatMap((c) =>
  [false, true].map((stream, index) => ({
    ...c,
    stream,
    mode: stream ? 'stream' : 'non-stream',
    tag: `#fallback-${c.endpoint}-${index}#`,
  })),
);

describe('the hold bounds the spend: every endpoint × provider kind × stream, whatever cap fields are sent', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    for (const kind of KINDS) {
      const { model, defaultMaxTokens } = ROUTES[kind];
      const route: Route = { model, provider: kind, upstreamModel: 'obey-cap', prices: PRICES };
      if (defaultMaxTokens !== undefined) route.defaultMaxTokens = defaultMaxTokens;
      if (kind === 'openai-compatible') route.baseUrl = `${upstream.url}/v1`;
      await putRoute(db, route);
    }
    await putRoute(db, { ...FAILING, provider: 'openai', prices: PRICES });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** Sends a body as a fresh account's client; what came back, what reached the upstream, the ledger after the settle. */
  const exchange = async (endpoint: Endpoint, body: Record<string, unknown>, tag: string, account = ACCOUNT) => {
    const { accountId, secret } = await createAccountWithKey(db, account);
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    if (endpoint === 'messages') headers['anthropic-version'] = '2023-06-01';
    const response = await fetch(`${gateway.url}${PATHS[endpoint]}`, { method: 'POST', headers, body: text });
    const answer = await response.text();
    const rows = await settledUsage(db, accountId, 0);
    return {
      text,
      response,
      answer,
      rows,
      requests: upstream.requests.filter((request) => JSON.stringify(request.body).includes(tag)),
      wallet: await db.stores.wallets.get(accountId),
      difference: (await audit(db, accountId)).difference,
    };
  };

  /** The one settled row: held on `cap` × `choices`, debited the exact price of that output, within the hold. */
  const expectBilledWithinHold = (
    expect: ExpectStatic,
    { text, rows, wallet }: Awaited<ReturnType<typeof exchange>>,
    account: typeof ACCOUNT,
    held: { tokens: number; choices: number },
    inputTokens: number,
  ) => {
    const [row] = rows;
    expect(rows).toHaveLength(1);
    expect(row?.hold).toBe(quoteHold(text, JSON.parse(text), held, PRICES).amount);
    const usage = { inputTokens, outputTokens: held.tokens * held.choices, cacheReadTokens: 0, cacheWriteTokens: 0 };
    expect(row?.usage).toEqual(usage);
    expect(row?.outcome).toBe('completed');
    expect(row?.cost).toBe(costOf(usage, PRICES));
    expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
    expect(row?.overrun).toBeUndefined();
    expect(row?.estimated).toBeUndefined();
    expect(wallet?.balance).toBe(account.nano - (row?.cost ?? 0));
    expect(wallet?.balance).toBeGreaterThanOrEqual(-account.creditLimitNano);
  };

  it.concurrent.for(CASES)('$endpoint → $kind, $mode, $name', async (c, { expect }) => {
    // Prepare
    const account = c.account ?? ACCOUNT;
    const route = ROUTES[c.kind];

    // Act
    const sent = await exchange(c.endpoint, bodyFor(c, route.model), c.tag, account);
    const { response, answer, rows, requests, wallet } = sent;

    // Assess
    expect(sent.difference).toBe(0);
    const refused = c.refused && (c.refused.on === undefined || c.refused.on === c.kind) ? c.refused : undefined;
    if (refused || c.cap === undefined) {
      expect(response.status, answer).toBe(refused?.status);
      expect(requests).toEqual([]);
      expect(rows.every((row) => row.cost === 0)).toBe(true);
      expect(wallet?.balance).toBe(account.nano);
      return;
    }
    expect(response.status, answer).toBe(200);
    if (c.stream) expect(response.headers.get('content-type')).toContain('text/event-stream');

    // The upstream received exactly one cap field, the one its endpoint reads, holding the held cap.
    const cap = c.cap === 'route default' ? (route.defaultMaxTokens ?? FALLBACK_MAX_TOKENS) : c.cap;
    const choices = c.choices ?? 1;
    expect(requests).toHaveLength(1);
    const [received] = requests;
    expect(received?.path).toBe(UPSTREAM[c.endpoint][c.kind].path);
    const obeyed = obeyCap(received?.endpoint ?? 'unknown', received?.body);
    expect(obeyed.fields).toEqual([UPSTREAM[c.endpoint][c.kind].field]);
    expect({ tokens: obeyed.tokens, choices: obeyed.choices }).toEqual({ tokens: cap, choices });

    // The hold was priced on that very cap; the debit is the exact price of what was generated.
    expectBilledWithinHold(expect, sent, account, { tokens: cap, choices }, obeyed.inputTokens);
  });

  it.concurrent.for(FALLBACK_CASES)(
    '$endpoint → openai failing → anthropic fallback, $mode: the fallback gets the held cap',
    async (c, { expect }) => {
      // Act
      const sent = await exchange(c.endpoint, bodyFor(c, FAILING.model), c.tag);

      // Assess
      expect(sent.difference).toBe(0);
      expect(sent.response.status, sent.answer).toBe(200);
      expect(sent.requests.map((request) => request.path)).toEqual([c.first, '/v1/messages']);
      for (const request of sent.requests) {
        const obeyed = obeyCap(request.endpoint, request.body);
        expect(obeyed.fields).toHaveLength(1);
        expect(obeyed.tokens).toBe(c.cap);
      }
      const answered = obeyCap('messages', sent.requests[1]?.body);
      expect(sent.rows[0]).toMatchObject({ model: ROUTES.anthropic.model, fallbackFrom: FAILING.model });
      expectBilledWithinHold(expect, sent, ACCOUNT, { tokens: c.cap, choices: 1 }, answered.inputTokens);
    },
  );
});
