import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../lambdas/store/dynamodb-local.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, type Scenario, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

const IDLE_TIMEOUT_MS = 300;
const HEADERS_TIMEOUT_MS = 600;
/** Far beyond every timeout above: an answer later than this is no answer. */
const ANSWER_WITHIN_MS = 3_000;
/** $1 / $2 per million tokens: the fake's default usage (10 in, 20 out) costs exactly this. */
const REPORTED_USAGE_COST = 10 * 1_000 + 20 * 2_000;

type Protocol = 'openai' | 'anthropic';

interface Pair {
  name: string;
  path: string;
  model: string;
  /** A route of the same upstream protocol whose base URL refuses connections. */
  refused: string;
  client: Protocol;
  upstream: Protocol;
  translated: boolean;
}

const PAIRS: Pair[] = [
  {
    name: 'OpenAI chat → OpenAI',
    path: '/v1/chat/completions',
    model: 'gpt',
    refused: 'gpt-refused',
    client: 'openai',
    upstream: 'openai',
    translated: false,
  },
  {
    name: 'Anthropic messages → Anthropic',
    path: '/v1/messages',
    model: 'claude',
    refused: 'claude-refused',
    client: 'anthropic',
    upstream: 'anthropic',
    translated: false,
  },
  {
    name: 'OpenAI chat → Anthropic, translated',
    path: '/v1/chat/completions',
    model: 'claude',
    refused: 'claude-refused',
    client: 'openai',
    upstream: 'anthropic',
    translated: true,
  },
  {
    name: 'Anthropic messages → OpenAI, translated',
    path: '/v1/messages',
    model: 'gpt',
    refused: 'gpt-refused',
    client: 'anthropic',
    upstream: 'openai',
    translated: true,
  },
];
const PASSTHROUGH = PAIRS.filter((pair) => !pair.translated);
const TRANSLATED = PAIRS.filter((pair) => pair.translated);

interface Answer {
  /** 0 when no answer came within {@link ANSWER_WITHIN_MS}. */
  status: number;
  contentType: string;
  text: string;
  accountId: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** The SSE events of a body, as a client's parser would see them. */
const sseEvents = (text: string) =>
  text
    .split(/\r?\n\r?\n/)
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of frame.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      return { event, data: data.join('\n') };
    });

/** The message of the stream's in-stream error event, in the client's protocol, if there is one. */
const inStreamError = (text: string, client: Protocol): string | undefined => {
  for (const { event, data } of sseEvents(text)) {
    const json = parse(data);
    if (!isRecord(json) || !isRecord(json['error'])) continue;
    if (client === 'anthropic' && (event !== 'error' || json['type'] !== 'error')) continue;
    if (typeof json['error']['message'] === 'string') return json['error']['message'];
  }
  return undefined;
};

/** The answer's text, assembled from the stream's deltas as each SDK would. */
const streamedText = (text: string, client: Protocol): string =>
  sseEvents(text)
    .map(({ data }) => parse(data))
    .map((json) => {
      if (!isRecord(json)) return '';
      if (client === 'anthropic') {
        return json['type'] === 'content_block_delta' &&
          isRecord(json['delta']) &&
          typeof json['delta']['text'] === 'string'
          ? json['delta']['text']
          : '';
      }
      const [choice] = Array.isArray(json['choices']) ? json['choices'] : [];
      return isRecord(choice) && isRecord(choice['delta']) && typeof choice['delta']['content'] === 'string'
        ? choice['delta']['content']
        : '';
    })
    .join('');

/** The error object of a body in the client's envelope. */
const envelopeError = (text: string, client: Protocol): Record<string, unknown> | undefined => {
  const json = parse(text);
  if (!isRecord(json) || !isRecord(json['error'])) return undefined;
  if (client === 'anthropic' && json['type'] !== 'error') return undefined;
  return json['error'];
};

describe('upstream faults: each answers as documented and leaves the ledger right', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    const closed = await freePort();
    await putRoute(db, { model: 'gpt', provider: 'openai' });
    await putRoute(db, { model: 'claude', provider: 'anthropic' });
    await putRoute(db, {
      model: 'gpt-refused',
      provider: 'openai-compatible',
      baseUrl: `http://127.0.0.1:${closed}/v1`,
    });
    await putRoute(db, { model: 'claude-refused', provider: 'anthropic', baseUrl: `http://127.0.0.1:${closed}` });
    gateway = await startTestGateway(
      db,
      {
        OPENAI_API_KEY: 'sk-upstream-openai',
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        ANTHROPIC_API_KEY: 'sk-ant-upstream',
        ANTHROPIC_BASE_URL: upstream.url,
      },
      { upstreamIdleTimeoutMs: IDLE_TIMEOUT_MS, upstreamHeadersTimeoutMs: HEADERS_TIMEOUT_MS },
    );
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** One request from a fresh account, with `scenario` queued for the upstream when given. */
  const call = async (
    pair: Pair,
    { stream, scenario, model = pair.model }: { stream: boolean; scenario?: Scenario; model?: string },
  ): Promise<Answer> => {
    const { accountId, secret } = await createAccountWithKey(db);
    if (scenario) upstream.enqueue(scenario);
    const body = { model, stream, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
    try {
      const response = await fetch(`${gateway.url}${pair.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
      });
      const text = await response.text();
      return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, accountId };
    } catch (error) {
      const text = `no answer within ${ANSWER_WITHIN_MS} ms (${(error as Error).name})`;
      return { status: 0, contentType: '', text, accountId };
    }
  };

  /** The request's one usage row, once settled; the account's audit must balance with nothing pending. */
  const settled = async ({ accountId }: Answer): Promise<UsageRow> => {
    const [row] = await settledUsage(db, accountId, 1, 5_000);
    expect(await audit(db, accountId)).toMatchObject({ difference: 0, pendingRows: 0 });
    if (!row) throw new Error('no usage row');
    return row;
  };

  const expect502 = async (pair: Pair, answer: Answer) => {
    expect({ status: answer.status, text: answer.text }).toMatchObject({ status: 502 });
    expect(envelopeError(answer.text, pair.client)).toMatchObject({
      type: 'api_error',
      message: 'Upstream connection failed',
    });
    expect(await settled(answer)).toMatchObject({ outcome: 'upstream_error', cost: 0 });
  };

  /** An answer any client can parse: an error in its envelope, a stream of JSON events, or a JSON body. */
  const expectWellFormed = (answer: Answer, pair: Pair) => {
    expect(answer.status, answer.text).toBeGreaterThanOrEqual(200);
    if (answer.status >= 400) {
      expect(envelopeError(answer.text, pair.client), answer.text).toBeDefined();
    } else if (answer.contentType.includes('text/event-stream')) {
      for (const { data } of sseEvents(answer.text)) if (data !== '[DONE]') expect(parse(data), data).toBeDefined();
    } else {
      expect(parse(answer.text), answer.text).toBeDefined();
    }
  };

  describe('before the response starts: 502 api_error "Upstream connection failed", hold released in full', () => {
    it.each(PAIRS)('connection refused ($name), streamed and not', async (pair) => {
      for (const stream of [true, false]) await expect502(pair, await call(pair, { stream, model: pair.refused }));
    });

    it.each(PAIRS)('reset before the headers ($name), streamed and not', async (pair) => {
      for (const stream of [true, false]) {
        await expect502(pair, await call(pair, { stream, scenario: { resetBeforeHeaders: true } }));
      }
    });

    it.each(PAIRS)('no headers within upstreamHeadersTimeoutMs ($name), streamed and not', async (pair) => {
      for (const stream of [true, false]) {
        await expect502(pair, await call(pair, { stream, scenario: { stallBeforeHeaders: true } }));
      }
    });

    it.each(PAIRS)('a non-stream body reset half-way ($name)', async (pair) => {
      await expect502(pair, await call(pair, { stream: false, scenario: { resetAfterChunks: 4 } }));
    });

    it.each(PAIRS)('a non-stream body that stalls half-way past upstreamIdleTimeoutMs ($name)', async (pair) => {
      // The client has had no byte yet, so the stall is still a 502; the hold must not wait for the Lambda timeout.
      await expect502(pair, await call(pair, { stream: false, scenario: { stallAfterChunks: 4 } }));
    });
  });

  describe('after the first byte: the protocol’s in-stream error event, then the end', () => {
    it.each(PAIRS)(
      'reset mid-stream ($name): "Upstream connection failed mid-stream", the output streamed is billed',
      async (pair) => {
        const answer = await call(pair, { stream: true, scenario: { resetAfterChunks: 4 } });
        expect(answer.status).toBe(200);
        expect(streamedText(answer.text, pair.client)).not.toBe('');
        expect(inStreamError(answer.text, pair.client)).toBe('Upstream connection failed mid-stream');
        const row = await settled(answer);
        expect(row.outcome).toBe('upstream_error');
        // Output reached the client, so the request is billed by the estimate, within the hold. OpenAI
        // streams report usage only at the end; Anthropic's message_start already reported the input.
        expect(row).toMatchObject({ estimated: true });
        expect(row.cost).toBeGreaterThan(0);
        expect(row.cost).toBeLessThanOrEqual(row.hold);
        if (pair.upstream === 'anthropic') expect(row).toMatchObject({ usage: { inputTokens: 10 } });
      },
    );

    it.each(PAIRS)('stalls past upstreamIdleTimeoutMs ($name): cut with an error saying it stalled', async (pair) => {
      const answer = await call(pair, { stream: true, scenario: { stallAfterChunks: 4 } });
      expect(answer.status).toBe(200);
      expect(inStreamError(answer.text, pair.client)).toMatch(/stalled/);
      expect((await settled(answer)).outcome).toBe('upstream_error');
    });

    it.each(PAIRS)('the upstream’s own in-stream error ($name): passed on, settled as upstream_error', async (pair) => {
      const answer = await call(pair, { stream: true, scenario: { errorAfterChunks: 4 } });
      expect(answer.status).toBe(200);
      expect(inStreamError(answer.text, pair.client)).toBeDefined();
      const row = await settled(answer);
      // Output was streamed before the error: billed by the estimate, within the hold.
      expect(row.outcome).toBe('upstream_error');
      expect(row.cost).toBeGreaterThan(0);
      expect(row.cost).toBeLessThanOrEqual(row.hold);
    });
  });

  describe('garbage from the upstream', () => {
    it.each(PASSTHROUGH)(
      'a non-JSON SSE event and then the end, without a final event ($name): forwarded, then ended with an in-stream error',
      async (pair) => {
        const answer = await call(pair, { stream: true, scenario: { garbage: 'json' } });
        expect(answer.status).toBe(200);
        expect(answer.text).toMatch(pair.client === 'openai' ? /chatcmpl-garbage/ : /"index":0,/);
        expect(inStreamError(answer.text, pair.client)).toContain('ended before its final event');
        expect(await settled(answer)).toMatchObject({ outcome: 'upstream_error' });
      },
    );

    it.each(TRANSLATED)('a non-JSON SSE event mid-stream ($name): ended with an in-stream error', async (pair) => {
      const answer = await call(pair, { stream: true, scenario: { garbage: 'json' } });
      expect(answer.status).toBe(200);
      expect(inStreamError(answer.text, pair.client)).toBeDefined();
      await settled(answer);
    });

    it.each(PAIRS)('a stream that is not SSE at all ($name): an error for the client, nothing billed', async (pair) => {
      const answer = await call(pair, { stream: true, scenario: { garbage: 'sse' } });
      // Either a 502 before the first byte or a 200 that ends with an in-stream error; never a quiet success.
      if (answer.status === 502) expect(envelopeError(answer.text, pair.client)).toMatchObject({ type: 'api_error' });
      else
        expect({ status: answer.status, error: inStreamError(answer.text, pair.client) }).toMatchObject({
          status: 200,
          error: expect.any(String),
        });
      expect(await settled(answer)).toMatchObject({ outcome: 'upstream_error', cost: 0 });
    });

    it.each(PAIRS)('a non-stream 200 whose body is not JSON ($name): 502, nothing billed', async (pair) => {
      for (const garbage of ['json', 'sse'] as const) {
        await expect502(pair, await call(pair, { stream: false, scenario: { garbage } }));
      }
    });
  });

  describe('200 with an error body', () => {
    const errorBody = (pair: Pair) =>
      pair.upstream === 'openai'
        ? { error: { message: 'boom', type: 'server_error', param: null, code: null } }
        : { type: 'error', error: { type: 'overloaded_error', message: 'boom' } };

    it.each(PASSTHROUGH)(
      '($name), not streamed: forwarded as sent with its 200; the ledger stays consistent',
      async (pair) => {
        const answer = await call(pair, { stream: false, scenario: { body: errorBody(pair) } });
        expect(answer.status).toBe(200);
        expect(parse(answer.text)).toEqual(errorBody(pair));
        await settled(answer);
      },
    );

    it.each(TRANSLATED)(
      '($name), not streamed: a well-formed empty answer in the client’s shape; the ledger stays consistent',
      async (pair) => {
        const answer = await call(pair, { stream: false, scenario: { body: errorBody(pair) } });
        expect(answer.status).toBe(200);
        expect(parse(answer.text)).toMatchObject(
          pair.client === 'openai'
            ? { object: 'chat.completion', choices: [{ index: 0 }] }
            : { type: 'message', role: 'assistant' },
        );
        await settled(answer);
      },
    );

    it.each(PAIRS)('($name), asked to stream: a well-formed answer; the ledger stays consistent', async (pair) => {
      const answer = await call(pair, { stream: true, scenario: { body: errorBody(pair) } });
      expectWellFormed(answer, pair);
      await settled(answer);
    });
  });

  it.each(PAIRS)(
    'a slow drip (20 chunks, 50 ms apart) ($name): every chunk delivered, exact usage billed',
    async (pair) => {
      const chunks = Array.from({ length: 20 }, (_, index) => `c${index} `);
      const answer = await call(pair, { stream: true, scenario: { chunks, chunkDelayMs: 50 } });
      expect(answer.status).toBe(200);
      expect(streamedText(answer.text, pair.client)).toBe(chunks.join(''));
      expect(inStreamError(answer.text, pair.client)).toBeUndefined();
      const row = await settled(answer);
      expect(row).toMatchObject({ outcome: 'completed', cost: REPORTED_USAGE_COST });
      expect(row.estimated).toBeUndefined();
    },
  );

  it('still answers /health after every fault', async () => {
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });
});
