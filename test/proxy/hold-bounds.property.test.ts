import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/errors.ts';
import { type Hold, settlementFor } from '../../lambdas/gateway/billing.ts';
import type { Completion } from '../../lambdas/gateway/forward.ts';
import { costOf, FULL_PRICE_PPM, type HoldQuote, quoteHold } from '../../lambdas/gateway/pricing.ts';
import { type OutputCap, spendTerms } from '../../lambdas/gateway/spend-guard.ts';
import type { ParsedRequest } from '../../lambdas/gateway/state.ts';
import { MessagesRequest } from '../../lambdas/protocols/anthropic-messages.ts';
import { bridgeFor } from '../../lambdas/protocols/bridges.ts';
import { ChatCompletionRequest } from '../../lambdas/protocols/openai-chat.ts';
import { ResponsesRequest } from '../../lambdas/protocols/openai-responses.ts';
import { withCap } from '../../lambdas/protocols/output-cap.ts';
import { PROVIDERS } from '../../lambdas/providers/index.ts';
import type { Operation, Prices, Route, Usage } from '../../lambdas/vocabulary.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, obeyCap, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { usageRow } from '../support/rows.ts';

/**
 * Property (issue 10): whatever mix of cap fields, `n`, translation direction and stream flag a
 * request carries, the upstream's cap is at most the held cap, and the debit at most the hold.
 * Many runs at the unit level, through the very functions the gateway uses (spend-guard, the
 * bridge, withCap, quoteHold, settlementFor); fewer end to end, through the gateway.
 */

/** Fixed so a failure replays; set HOLD_BOUNDS_SEED to explore further. */
const SEED = Number(process.env['HOLD_BOUNDS_SEED'] ?? 20_260_310);

type Endpoint = 'chat' | 'messages' | 'responses';
type Kind = 'openai' | 'anthropic' | 'openai-compatible';

const SCHEMAS = { chat: ChatCompletionRequest, messages: MessagesRequest, responses: ResponsesRequest } as const;

/** A cap field's value: mostly a plausible cap, sometimes one no wallet covers, sometimes not a cap at all. */
const capValue = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(64_000, 1_000_000, 2 ** 31, Number.MAX_SAFE_INTEGER, 1e300) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 0, -1, 1.5, '100', true) },
);
const nValue = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 128 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 129, 1_000, -1, 2.5, '3', null) },
);

/** One request as a client may send it, and where it is routed. */
const draw = fc.record({
  endpoint: fc.constantFrom<Endpoint>('chat', 'messages', 'responses'),
  kind: fc.constantFrom<Kind>('openai', 'anthropic', 'openai-compatible'),
  stream: fc.boolean(),
  caps: fc.record(
    { max_tokens: capValue, max_completion_tokens: capValue, max_output_tokens: capValue },
    { requiredKeys: [] },
  ),
  n: fc.option(nValue, { nil: undefined }),
  reasoning: fc.option(fc.constantFrom('low', 'high'), { nil: undefined }),
  /** Chat's `stream_options`: the gateway asks for the usage chunk whatever the client asked. */
  streamOptions: fc.option(fc.constantFrom<unknown>({ include_usage: false }, { include_usage: true }, null), {
    nil: undefined,
  }),
  text: fc.string({ maxLength: 200 }),
});
type Draw = typeof draw extends fc.Arbitrary<infer T> ? T : never;

/** The client's body: the endpoint's shape, the drawn cap fields and `n`, and reasoning in the endpoint's words. */
const bodyOf = (d: Draw, model: string, text = d.text): Record<string, unknown> => {
  const body: Record<string, unknown> =
    d.endpoint === 'responses' ? { model, input: text } : { model, messages: [{ role: 'user', content: text }] };
  Object.assign(body, d.caps);
  if (d.n !== undefined) body['n'] = d.n;
  if (d.stream) body['stream'] = true;
  if (d.streamOptions !== undefined && d.endpoint === 'chat') body['stream_options'] = d.streamOptions;
  if (d.reasoning && d.endpoint === 'chat') body['reasoning_effort'] = d.reasoning;
  if (d.reasoning && d.endpoint === 'responses') body['reasoning'] = { effort: d.reasoning };
  if (d.reasoning && d.endpoint === 'messages') body['thinking'] = { type: 'enabled', budget_tokens: 1_024 };
  return body;
};

type Decision =
  /** `held`: refused by the bridge, after the hold was taken (a hold the wallet cannot cover answers 402 first). */
  | { status: 400; held?: HoldQuote }
  | { status: 402 }
  | { status: 200; cap: OutputCap; quote: HoldQuote; upstream: Operation; upstreamBody: Record<string, unknown> };

/**
 * What the gateway decides for a request, step by step as its chain does: parse-body's schema (400),
 * guard-spend's `spendTerms` (400), the hold's quote (402 when no wallet could hold it), then
 * `forward.ts` prepare: the bridge's request with `withCap` over it (400 when the bridge refuses,
 * once the hold is taken).
 */
const decide = (text: string, endpoint: Endpoint, route: Route, prices: Prices, discountPpm: number): Decision => {
  const parsed = SCHEMAS[endpoint].safeParse(JSON.parse(text));
  if (!parsed.success) return { status: 400 };
  const request = { operation: endpoint, body: parsed.data, text } as ParsedRequest;
  let cap: OutputCap;
  try {
    cap = spendTerms(request, route, {}).cap;
  } catch (error) {
    if (error instanceof InvalidRequestError) return { status: 400 };
    throw error;
  }
  const quote = quoteHold(text, request.body, cap, prices, discountPpm);
  if (!Number.isSafeInteger(quote.amount)) return { status: 402 };
  try {
    const adapter = PROVIDERS[route.provider as Kind];
    const bridge = bridgeFor(endpoint, adapter.protocol, route);
    const upstreamBody = withCap(
      bridge.upstream,
      adapter.kind,
      bridge.request({ route, body: request.body, model: route.model }),
      cap.tokens,
    );
    return { status: 200, cap, quote, upstream: bridge.upstream, upstreamBody };
  } catch (error) {
    if (error instanceof InvalidRequestError) return { status: 400, held: quote };
    throw error;
  }
};

/** How the upstream exchange ended: completed (or the client left) with the usage the fake reports, or broken. */
const ending = fc.oneof(
  fc.record({ outcome: fc.constantFrom('completed' as const, 'client_disconnected' as const) }),
  fc.record({
    outcome: fc.constant('upstream_error' as const),
    /** The share of the output the usage had reported when the stream broke; undefined: no usage at all. */
    reported: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    outputChars: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50_000_000 })),
  }),
);

const usageOf = (inputTokens: number, outputTokens: number): Usage => ({
  inputTokens,
  outputTokens,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

describe('property: the upstream cap is at most the held cap, and the debit at most the hold', () => {
  it('holds for random bodies through spend-guard, the bridges, withCap and settlementFor', () => {
    let reached = 0;
    fc.assert(
      fc.property(
        draw,
        fc.option(fc.integer({ min: 1, max: 200_000 }), { nil: undefined }),
        fc.record({
          input: fc.integer({ min: 0, max: 20_000_000_000 }),
          output: fc.integer({ min: 1, max: 80_000_000_000 }),
          cacheWrite: fc.option(fc.integer({ min: 0, max: 25_000_000_000 }), { nil: undefined }),
        }),
        fc.integer({ min: 1, max: FULL_PRICE_PPM }),
        ending,
        (d, defaultMaxTokens, drawnPrices, discountPpm, end) => {
          // Prepare
          const prices: Prices = { input: drawnPrices.input, output: drawnPrices.output };
          if (drawnPrices.cacheWrite !== undefined) prices.cacheWrite = drawnPrices.cacheWrite;
          const route: Route = { model: 'm', provider: d.kind, upstreamModel: 'obey-cap', prices };
          if (defaultMaxTokens !== undefined) route.defaultMaxTokens = defaultMaxTokens;
          const text = JSON.stringify(bodyOf(d, 'm'));

          // Act
          const decision = decide(text, d.endpoint, route, prices, discountPpm);
          if (decision.status !== 200) return;
          reached += 1;
          const { cap, quote } = decision;
          const obeyed = obeyCap(decision.upstream, decision.upstreamBody);
          const hold: Hold = {
            row: { ...usageRow('acct', 'req', new Date(0), quote.amount), prices, discountPpm },
            quote,
            committed: Promise.resolve(),
            bodyChars: text.length,
          };
          const full = usageOf(obeyed.inputTokens, obeyed.outputTokens);
          const result: Completion =
            end.outcome === 'upstream_error'
              ? {
                  outcome: end.outcome,
                  usage:
                    end.reported === undefined
                      ? undefined
                      : usageOf(obeyed.inputTokens, Math.floor(obeyed.outputTokens * end.reported)),
                  rawUsage: undefined,
                  outputChars: end.outputChars,
                  endedAt: 0,
                }
              : { outcome: end.outcome, usage: full, rawUsage: undefined, outputChars: 1, endedAt: 0 };
          const settlement = settlementFor(hold, result);

          // Assess: one cap field upstream, at most the held cap, × at most the held choices.
          expect(obeyed.fields).toHaveLength(1);
          expect(obeyed.tokens).toBeDefined();
          expect(obeyed.tokens).toBeLessThanOrEqual(cap.tokens);
          expect(obeyed.choices).toBeLessThanOrEqual(cap.choices);
          expect(obeyed.outputTokens).toBeLessThanOrEqual(quote.maxOutputTokens);
          expect(obeyed.inputTokens).toBeLessThanOrEqual(quote.inputTokens);
          // The debit: at most the hold, exact when usage is final, released only when nothing was produced.
          expect(settlement.cost).toBeLessThanOrEqual(quote.amount);
          expect(settlement.overrun).toBeUndefined();
          if (end.outcome !== 'upstream_error') {
            expect(settlement.cost).toBe(costOf(full, prices, discountPpm));
          } else {
            const reported = result.usage;
            if (reported) expect(settlement.cost).toBeGreaterThanOrEqual(costOf(reported, prices, discountPpm));
            if (end.outputChars > 0 || (reported?.outputTokens ?? 0) > 0) expect(settlement.cost).toBeGreaterThan(0);
            if (!reported && end.outputChars === 0) expect(settlement.cost).toBe(0);
          }
        },
      ),
      { seed: SEED, numRuns: 3_000 },
    );
    // Most draws must get through to an upstream, or the property says little.
    expect(reached).toBeGreaterThan(1_000);
  });
});

describe('property, end to end: the gateway sends the obey-cap upstream no more than it held for', () => {
  const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
  const ROUTES: Record<Kind, Route> = {
    openai: { model: 'prop-openai', provider: 'openai', upstreamModel: 'obey-cap', prices: PRICES },
    anthropic: {
      model: 'prop-anthropic',
      provider: 'anthropic',
      upstreamModel: 'obey-cap',
      prices: PRICES,
      defaultMaxTokens: 1_000,
    },
    'openai-compatible': {
      model: 'prop-compatible',
      provider: 'openai-compatible',
      upstreamModel: 'obey-cap',
      prices: PRICES,
      defaultMaxTokens: 2_000,
    },
  };
  const PATHS: Record<Endpoint, string> = {
    chat: '/v1/chat/completions',
    messages: '/v1/messages',
    responses: '/v1/responses',
  };
  const CENT = 10_000_000;

  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    ROUTES['openai-compatible'].baseUrl = `${upstream.url}/v1`;
    for (const route of Object.values(ROUTES)) await putRoute(db, route);
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('holds for random bodies sent through the gateway, with $0.05 and no credit or $0.05 of credit', async () => {
    let run = 0;
    let served = 0;
    await fc.assert(
      fc.asyncProperty(draw, fc.constantFrom(0, 5 * CENT), async (d, creditLimitNano) => {
        // Prepare
        run += 1;
        const tag = `#run-${run}#`;
        const route = ROUTES[d.kind];
        const { accountId, secret } = await createAccountWithKey(db, { nano: 5 * CENT, creditLimitNano });
        const text = JSON.stringify(bodyOf(d, route.model, `${tag} ${d.text}`));
        const headers: Record<string, string> = {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
        };
        const predicted = decide(text, d.endpoint, route, PRICES, FULL_PRICE_PPM);

        // Act
        const response = await fetch(`${gateway.url}${PATHS[d.endpoint]}`, { method: 'POST', headers, body: text });
        const answer = await response.text();

        // Assess
        const rows = await settledUsage(db, accountId, 0);
        const requests = upstream.requests.filter((request) => JSON.stringify(request.body).includes(tag));
        const wallet = await db.stores.wallets.get(accountId);
        expect((await audit(db, accountId)).difference).toBe(0);
        expect(wallet?.balance).toBeGreaterThanOrEqual(-creditLimitNano);
        const held = predicted.status === 200 ? predicted.quote : predicted.status === 400 ? predicted.held : undefined;
        const unaffordable = held !== undefined && held.amount > 5 * CENT + creditLimitNano;
        expect(response.status, answer).toBe(unaffordable ? 402 : predicted.status);
        if (response.status !== 200) {
          expect(requests).toEqual([]);
          expect(rows.every((row) => row.cost === 0)).toBe(true);
          expect(wallet?.balance).toBe(5 * CENT);
          return;
        }
        served += 1;
        expect(requests).toHaveLength(1);
        const obeyed = obeyCap(requests[0]?.endpoint ?? 'unknown', requests[0]?.body);
        expect(obeyed.fields).toHaveLength(1);
        expect(obeyed.tokens).toBeDefined();
        const [row] = rows;
        expect(rows).toHaveLength(1);
        // The hold covers all the upstream was allowed to generate…
        const allowed = quoteHold(
          text,
          JSON.parse(text),
          { tokens: obeyed.tokens ?? 0, choices: obeyed.choices },
          PRICES,
        );
        expect(row?.hold).toBeGreaterThanOrEqual(allowed.amount);
        // …and the debit, the exact price of what it generated, stays within it.
        expect(row?.outcome).toBe('completed');
        expect(row?.cost).toBe(costOf(usageOf(obeyed.inputTokens, obeyed.outputTokens), PRICES));
        expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
        expect(row?.overrun).toBeUndefined();
        expect(row?.estimated).toBeUndefined();
        expect(wallet?.balance).toBe(5 * CENT - (row?.cost ?? 0));
      }),
      { seed: SEED, numRuns: 40 },
    );
    // About half the draws are served (23 of 40 with the fixed seed); the rest are refused before the upstream.
    expect(served).toBeGreaterThan(10);
  });
});
