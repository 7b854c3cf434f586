/**
 * A fake LLM provider on 127.0.0.1 for the gateway's tests and benchmark: it speaks the OpenAI
 * (Chat Completions, Responses, Embeddings, Models) and Anthropic (Messages, count_tokens, Models)
 * wire formats, streamed and not, and misbehaves on demand.
 *
 * Every body below is typed against the official SDKs' own types, so a field the SDKs do not know,
 * or a required one we forgot, fails the type-check.
 *
 * Behaviour per request comes from, later winning: `options.defaults` → the magic model name →
 * `enqueue(...)` (next request only, FIFO) or else the `script(...)` hook.
 *
 * Magic model names (combine with `+`, e.g. `tool-call+slow-20`; a `provider/` prefix is ignored):
 *
 * | model | behaviour |
 * |---|---|
 * | `fail-<status>` (`fail-400`…`fail-599`, e.g. `fail-401`, `fail-429`, `fail-500`, `fail-529`) | that status with the protocol's real error body (`retry-after: 1` on 429) |
 * | `reset-before-headers` | TCP reset before any response byte |
 * | `reset-mid-stream` | 4 SSE events (or half a JSON body), then the socket is destroyed |
 * | `stall-before-headers` | never answers; the socket stays open |
 * | `stall` / `stall-mid-stream` | 4 SSE events (or half a JSON body), then silence; the socket stays open |
 * | `error-mid-stream` | 4 SSE events, then the protocol's in-stream error event, then the end |
 * | `garbage` | 1 valid SSE event then a `data:` that is not JSON (non-stream: a truncated JSON body) |
 * | `garbage-sse` | a 200 whose body is HTML, not SSE (non-stream: HTML with `text/html`) |
 * | `no-usage` | no usage anywhere (no usage chunk, no `usage` fields) |
 * | `tool-call` | one tool call `get_weather({"city":"Paris"})` |
 * | `tool-calls` / `parallel-tool-calls` | two calls: `get_weather({"city":"Paris"})`, `get_time({"timezone":"Europe/Paris"})` |
 * | `thinking` | a thinking/reasoning block before the text; `reasoningTokens: 8` |
 * | `max-tokens` | stops on the token limit (`length` / `max_tokens` / Responses `incomplete`) |
 * | `cached` | usage with `cachedTokens: 100`, `cacheCreationTokens: 50` |
 * | `obey-cap` | generates exactly the output cap it received, × `n` choices on chat, and stops on the limit; usage reports that many output tokens. With no cap it reports 1,000,000 per choice, the leak a missing cap causes (see {@link obeyCap}) |
 * | `slow-<ms>` | `chunkDelayMs: <ms>` |
 * | `ttfb-<ms>` | `ttfbMs: <ms>` |
 *
 * Any other model answers normally: `"fake reply to: <last user text>"` in several chunks.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message, MessageTokensCount, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { ModelInfo } from '@anthropic-ai/sdk/resources/models';
import type { ErrorResponse as AnthropicErrorResponse } from '@anthropic-ai/sdk/resources/shared';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { CreateEmbeddingResponse, Embedding } from 'openai/resources/embeddings';
import type { Model as OpenAIModel } from 'openai/resources/models';
import type {
  Response,
  ResponseErrorEvent,
  ResponseOutputItem,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';

// ─── public types ────────────────────────────────────────────────────────────────────────────────

/** Which wire format a request (and so its errors) speaks: decided by path (and `anthropic-version` on GET /v1/models). */
export type FakeProtocol = 'openai' | 'anthropic';

/** The endpoint a request hit; `unknown` answers the protocol's 404. */
export type FakeEndpoint = 'chat' | 'responses' | 'embeddings' | 'messages' | 'count_tokens' | 'models' | 'unknown';

/**
 * Token counts in one provider-neutral shape, rendered per protocol:
 * - `inputTokens`: input neither read from nor written to a cache (Anthropic `input_tokens`).
 *   OpenAI `prompt_tokens` / `input_tokens` = `inputTokens + cachedTokens + cacheCreationTokens`.
 * - `cachedTokens`: cache reads (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`).
 * - `cacheCreationTokens`: cache writes (Anthropic `cache_creation_input_tokens` and
 *   `cache_creation.ephemeral_5m_input_tokens`; OpenAI `cache_write_tokens`, in chat only when > 0).
 * - `outputTokens`: all output, reasoning included (OpenAI `completion_tokens`, Anthropic `output_tokens`).
 * - `reasoningTokens`: the reasoning share of `outputTokens` (OpenAI `reasoning_tokens`, Anthropic
 *   `output_tokens_details.thinking_tokens`).
 */
export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  cacheCreationTokens: number;
  reasoningTokens: number;
}

/** Token counts when nothing overrides them. */
export const DEFAULT_USAGE: Readonly<FakeUsage> = Object.freeze({
  inputTokens: 10,
  outputTokens: 20,
  cachedTokens: 0,
  cacheCreationTokens: 0,
  reasoningTokens: 0,
});

/** Anthropic's `output_tokens` in `message_start`, before the real count arrives in `message_delta`. */
export const ANTHROPIC_START_OUTPUT_TOKENS = 1;

/** A tool call in the answer. `arguments` as an object is JSON-encoded; as a string it is sent verbatim. */
export interface FakeToolCall {
  name: string;
  arguments?: Record<string, unknown> | string;
  /** Defaults to a deterministic `call_…` (OpenAI) / `toolu_…` (Anthropic) id. */
  id?: string;
}

/** Fields of the error body; the rest comes from the protocol's real body for the status. */
export interface FakeError {
  message?: string;
  /** OpenAI `error.type` / Anthropic `error.type`. */
  type?: string;
  /** OpenAI only. */
  code?: string | null;
  /** OpenAI only. */
  param?: string | null;
}

/** What one request should get. Every field is optional; absent fields keep the normal behaviour. */
export interface Scenario {
  /** HTTP status. ≥ 400 without `body`: the protocol's real error body for it (and `retry-after: 1` on 429). */
  status?: number;
  /** Sent verbatim instead of the generated answer (a string as-is, anything else as JSON), any `stream`. */
  body?: unknown;
  /** Extra/overriding response headers (lower-case names); an empty string removes a default header. */
  headers?: Record<string, string>;
  /** Tailors the generated error body (with `status` ≥ 400) or the in-stream error (with `errorAfterChunks`). */
  error?: FakeError;
  /** The answer text; default `"fake reply to: <last user text, first 120 chars>"` (none when `toolCalls` is set). */
  text?: string;
  /** The answer as explicit pieces, one content delta each (overrides `text`). */
  chunks?: string[];
  /** Tool calls in the answer (after any text); stop reason becomes `tool_calls` / `tool_use`. */
  toolCalls?: FakeToolCall[];
  /** Thinking text: an Anthropic thinking block (with signature) or a Responses reasoning item; chat ignores it. */
  thinking?: string;
  /** Overrides token counts (merged over `DEFAULT_USAGE`). */
  usage?: Partial<FakeUsage>;
  /** Send no usage at all. */
  omitUsage?: boolean;
  /** Stop on the token limit: `length` / `max_tokens` / Responses `incomplete`. */
  maxTokensReached?: boolean;
  /**
   * Generate exactly the output cap the request carries ({@link obeyCap}): × `n` choices on chat, stopped
   * on the limit, usage reporting that many output tokens (a short text stands for them). Overrides
   * `usage.inputTokens`/`outputTokens` and `maxTokensReached`.
   */
  obeyCap?: boolean;
  /** Delay before each SSE event after the first. */
  chunkDelayMs?: number;
  /** Delay before the status line and headers. */
  ttfbMs?: number;
  /** Reset the TCP connection (RST) before any response byte. */
  resetBeforeHeaders?: boolean;
  /** Never answer; keep the socket open. */
  stallBeforeHeaders?: boolean;
  /** Destroy the socket after this many SSE events (0: right after the headers). Non-stream: after half the body. */
  resetAfterChunks?: number;
  /** Stop sending after this many SSE events and keep the socket open. Non-stream: after half the body. */
  stallAfterChunks?: number;
  /** Send the protocol's in-stream error event after this many SSE events, then end. Stream only. */
  errorAfterChunks?: number;
  /** `true`/`'json'`: invalid JSON (SSE data or body). `'sse'`: a body that is not SSE at all. */
  garbage?: boolean | 'json' | 'sse';
  /** Raw SSE frames (e.g. a recorded fixture) written one `res.write` each instead of the generated stream. */
  rawFrames?: string[];
}

/** What the fake received. `body` is parsed JSON, or the raw string when it is not JSON, or undefined when empty. */
export interface RecordedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  /** The query string including `?`, or ''. */
  query: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** `Date.now()` when the body had been read. */
  receivedAt: number;
  protocol: FakeProtocol;
  endpoint: FakeEndpoint;
  /** `body.model` when it is a string. */
  model: string | undefined;
  stream: boolean;
  /** The credentials presented, so tests can check the gateway used the operator's provider key. */
  auth: {
    authorization?: string;
    apiKey?: string;
    /** The `Bearer` token or else the `x-api-key` value. */
    key?: string;
  };
}

export type ScenarioScript = (request: RecordedRequest) => Scenario | undefined;

export interface FakeUpstreamOptions {
  /** 0 (default): a free port. */
  port?: number;
  /** When set, a request whose Bearer token / x-api-key differs gets the provider's real 401. */
  requireKey?: string;
  /** Applied to every request, below magic models and per-test scenarios. */
  defaults?: Scenario;
  /** Keep `requests` (default true); a benchmark turns it off to stay flat in memory. */
  record?: boolean;
  /** Model ids listed by GET /v1/models; default a few names plus the fixed magic names. */
  models?: string[];
  /** Embedding length when the request has no `dimensions` (default 8). */
  embeddingDimensions?: number;
}

export interface FakeUpstream {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash; OpenAI clients want `${url}/v1`). */
  readonly url: string;
  readonly port: number;
  /** Every request received since start / `reset()`, in arrival order (the same array throughout). */
  readonly requests: RecordedRequest[];
  /** The most recent request, recorded or not. */
  readonly lastRequest: RecordedRequest | undefined;
  /** Requests received since start / `reset()`, also when not recorded. */
  readonly requestCount: number;
  /** Sets (or clears with `undefined`) the per-request hook; its scenario applies when the queue is empty. */
  script(hook: ScenarioScript | undefined): void;
  /** Queues scenarios for the next requests, one each, in order; they win over `script`. */
  enqueue(...scenarios: Scenario[]): void;
  /** Forgets requests, the queue and the script. */
  reset(): void;
  /** Stops listening and destroys open sockets (stalled ones included). */
  close(): Promise<void>;
}

// ─── magic models ────────────────────────────────────────────────────────────────────────────────

const WEATHER_CALL: FakeToolCall = { name: 'get_weather', arguments: { city: 'Paris' } };
const TIME_CALL: FakeToolCall = { name: 'get_time', arguments: { timezone: 'Europe/Paris' } };
const MID_STREAM = 4;

const FIXED_MAGIC: Readonly<Record<string, Scenario>> = {
  'reset-before-headers': { resetBeforeHeaders: true },
  'reset-mid-stream': { resetAfterChunks: MID_STREAM },
  'stall-before-headers': { stallBeforeHeaders: true },
  stall: { stallAfterChunks: MID_STREAM },
  'stall-mid-stream': { stallAfterChunks: MID_STREAM },
  'error-mid-stream': { errorAfterChunks: MID_STREAM },
  garbage: { garbage: 'json' },
  'garbage-sse': { garbage: 'sse' },
  'no-usage': { omitUsage: true },
  'tool-call': { toolCalls: [WEATHER_CALL] },
  'tool-calls': { toolCalls: [WEATHER_CALL, TIME_CALL] },
  'parallel-tool-calls': { toolCalls: [WEATHER_CALL, TIME_CALL] },
  thinking: { thinking: 'The user wants a reply. I will echo their words.', usage: { reasoningTokens: 8 } },
  'max-tokens': { maxTokensReached: true },
  'obey-cap': { obeyCap: true },
  cached: { usage: { cachedTokens: 100, cacheCreationTokens: 50 } },
};

/** The fixed magic model names (besides `fail-<status>`, `slow-<ms>`, `ttfb-<ms>`). */
export const MAGIC_MODELS: readonly string[] = Object.keys(FIXED_MAGIC);

/**
 * The scenario a model name asks for, or undefined for an ordinary model.
 *
 * @example
 * scenarioForModel('fail-429'); // { status: 429 }
 * scenarioForModel('tool-call+slow-20'); // { toolCalls: [...], chunkDelayMs: 20 }
 */
export const scenarioForModel = (model: string | undefined): Scenario | undefined => {
  if (!model) return undefined;
  let found: Scenario | undefined;
  for (const part of model.split('+')) {
    const name = part.slice(part.lastIndexOf('/') + 1);
    const match = /^(fail|slow|ttfb)-(\d+)$/.exec(name);
    let piece: Scenario | undefined = FIXED_MAGIC[name];
    if (match?.[1] === 'fail' && Number(match[2]) >= 400 && Number(match[2]) <= 599)
      piece = { status: Number(match[2]) };
    if (match?.[1] === 'slow') piece = { chunkDelayMs: Number(match[2]) };
    if (match?.[1] === 'ttfb') piece = { ttfbMs: Number(match[2]) };
    if (piece) found = mergeScenarios(found, piece);
  }
  return found;
};

const mergeScenarios = (...layers: (Scenario | undefined)[]): Scenario => {
  let merged: Scenario = {};
  for (const layer of layers) {
    if (!layer) continue;
    const usage = merged.usage || layer.usage ? { ...merged.usage, ...layer.usage } : undefined;
    const headers = merged.headers || layer.headers ? { ...merged.headers, ...layer.headers } : undefined;
    merged = { ...merged, ...layer };
    if (usage) merged.usage = usage;
    if (headers) merged.headers = headers;
  }
  return merged;
};

// ─── obey-cap ────────────────────────────────────────────────────────────────────────────────────

/** Output tokens per choice an `obey-cap` upstream reports for a request that carries no cap. */
export const UNCAPPED_OUTPUT_TOKENS = 1_000_000;

/** Every field any wire format caps generated tokens with. */
const CAP_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

/** The cap field(s) each generating endpoint reads, first wins: Chat's newer name supersedes its older one. */
const CAP_READ: Partial<Record<FakeEndpoint, readonly (typeof CAP_FIELDS)[number][]>> = {
  chat: ['max_completion_tokens', 'max_tokens'],
  messages: ['max_tokens'],
  responses: ['max_output_tokens'],
};

/** What an `obey-cap` upstream reads from a request and generates for it. */
export interface ObeyedCap {
  /** The cap per choice, from the field the endpoint reads; undefined when there is none (or it is not a positive whole number). */
  tokens: number | undefined;
  /** Chat's `n` (1 when absent); other endpoints always generate one answer. */
  choices: number;
  /** Every cap field present in the body, of any wire format: a capped upstream body has exactly one. */
  fields: string[];
  /** Output tokens generated and reported: `tokens × choices`, or {@link UNCAPPED_OUTPUT_TOKENS} × choices. */
  outputTokens: number;
  /** Input tokens reported: the last user text / 4 (at least 1), below any estimate made from the whole body. */
  inputTokens: number;
}

const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/**
 * The output an `obey-cap` upstream generates for a request body on `endpoint`: exactly its cap
 * (Chat `max_completion_tokens ?? max_tokens`, Messages `max_tokens`, Responses `max_output_tokens`)
 * × Chat's `n`, or {@link UNCAPPED_OUTPUT_TOKENS} per choice when the body carries no cap.
 *
 * @example obeyCap('chat', { max_tokens: 100, n: 3, messages }).outputTokens // 300
 * @example obeyCap('responses', { max_tokens: 100 }).outputTokens // 1_000_000 (Responses reads max_output_tokens)
 */
export const obeyCap = (endpoint: FakeEndpoint, body: unknown): ObeyedCap => {
  const fields = isRecord(body) ? body : {};
  let tokens: number | undefined;
  for (const field of CAP_READ[endpoint] ?? []) tokens ??= positiveInt(fields[field]);
  const choices = endpoint === 'chat' ? (positiveInt(fields['n']) ?? 1) : 1;
  return {
    tokens,
    choices,
    fields: Object.keys(fields).filter((field) => (CAP_FIELDS as readonly string[]).includes(field)),
    outputTokens: (tokens ?? UNCAPPED_OUTPUT_TOKENS) * choices,
    inputTokens: Math.max(1, Math.ceil(lastUserText(fields).length / 4)),
  };
};

// ─── server ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Starts the fake provider on 127.0.0.1.
 *
 * @example
 * const upstream = await startFakeUpstream({ requireKey: 'sk-upstream' });
 * const openai = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-upstream', maxRetries: 0 });
 * upstream.enqueue({ status: 429 });
 * await expect(openai.chat.completions.create({ model: 'm', messages: [] })).rejects.toThrow(OpenAI.RateLimitError);
 * await upstream.close();
 */
export const startFakeUpstream = async (options: FakeUpstreamOptions = {}): Promise<FakeUpstream> => {
  const requests: RecordedRequest[] = [];
  const queue: Scenario[] = [];
  const record = options.record ?? true;
  let hook: ScenarioScript | undefined;
  let lastRequest: RecordedRequest | undefined;
  let requestCount = 0;
  let sequence = 0;

  const server = createServer((req, res) => {
    sequence += 1;
    const id = String(sequence).padStart(6, '0');
    handle(req, res, id).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('fake upstream failed');
      } else {
        res.destroy();
      }
    });
  });
  // Longer than any client's idle keep-alive, so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;

  const handle = async (req: IncomingMessage, res: ServerResponse, id: string): Promise<void> => {
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    const raw = await readBody(req);
    const request = describeRequest(req, raw);
    requestCount += 1;
    lastRequest = request;
    if (record) requests.push(request);
    const ctx: Context = { req, res, request, id, signal: closed.signal, options };

    if (options.requireKey !== undefined && request.auth.key !== options.requireKey) {
      return sendError(ctx, 401, authError(request));
    }
    const perTest = queue.length > 0 ? queue.shift() : hook?.(request);
    const scenario = mergeScenarios(options.defaults, scenarioForModel(request.model), perTest);
    ctx.scenario = scenario;

    if (scenario.ttfbMs) await pause(scenario.ttfbMs, closed.signal);
    if (closed.signal.aborted) return;
    if (scenario.resetBeforeHeaders) {
      req.socket.resetAndDestroy();
      return;
    }
    if (scenario.stallBeforeHeaders) return untilClosed(closed.signal);
    if (scenario.status !== undefined && scenario.status >= 400 && scenario.body === undefined) {
      return sendError(ctx, scenario.status, scenario.error ?? {});
    }
    if (scenario.body !== undefined) {
      const text = typeof scenario.body === 'string' ? scenario.body : JSON.stringify(scenario.body);
      const type = typeof scenario.body === 'string' && request.stream ? SSE_TYPE : JSON_TYPE;
      return sendBody(ctx, scenario.status ?? 200, type, text);
    }
    if (raw.length > 0 && typeof request.body === 'string' && request.method === 'POST') {
      return sendError(ctx, 400, invalidJsonError(request.protocol));
    }
    return answer(ctx);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get lastRequest() {
      return lastRequest;
    },
    get requestCount() {
      return requestCount;
    },
    script(next) {
      hook = next;
    },
    enqueue(...scenarios) {
      queue.push(...scenarios);
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      hook = undefined;
      lastRequest = undefined;
      requestCount = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
};

// ─── request plumbing ────────────────────────────────────────────────────────────────────────────

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  request: RecordedRequest;
  id: string;
  signal: AbortSignal;
  options: FakeUpstreamOptions;
  scenario?: Scenario;
}

const JSON_TYPE = 'application/json';
const SSE_TYPE = 'text/event-stream; charset=utf-8';

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const ENDPOINTS: Record<string, FakeEndpoint> = {
  'POST /v1/chat/completions': 'chat',
  'POST /v1/responses': 'responses',
  'POST /v1/embeddings': 'embeddings',
  'POST /v1/messages': 'messages',
  'POST /v1/messages/count_tokens': 'count_tokens',
  'GET /v1/models': 'models',
};

const describeRequest = (req: IncomingMessage, raw: Buffer): RecordedRequest => {
  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const method = req.method ?? 'GET';
  const text = raw.toString('utf8');
  let body: unknown = text.length > 0 ? text : undefined;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      // Kept as the raw string: the answer is the provider's 400.
    }
  }
  const fields = isRecord(body) ? body : {};
  const endpoint = ENDPOINTS[`${method} ${path}`] ?? 'unknown';
  const anthropic = path.startsWith('/v1/messages') || (endpoint === 'models' && req.headers['anthropic-version']);
  const auth: RecordedRequest['auth'] = {};
  const authorization = req.headers.authorization;
  const apiKey = header(req.headers, 'x-api-key');
  if (authorization) auth.authorization = authorization;
  if (apiKey) auth.apiKey = apiKey;
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
  const key = bearer ?? apiKey;
  if (key) auth.key = key;
  return {
    method,
    path,
    query: queryAt === -1 ? '' : target.slice(queryAt),
    headers: req.headers,
    body,
    receivedAt: Date.now(),
    protocol: anthropic ? 'anthropic' : 'openai',
    endpoint,
    model: typeof fields['model'] === 'string' ? fields['model'] : undefined,
    stream: fields['stream'] === true,
    auth,
  };
};

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const pause = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

const untilClosed = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });

const baseHeaders = (ctx: Context, contentType: string): Record<string, string> => {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (ctx.request.protocol === 'anthropic') headers['request-id'] = `req_fake${ctx.id}`;
  else headers['x-request-id'] = `req_fake${ctx.id}`;
  if (contentType === SSE_TYPE) headers['cache-control'] = 'no-cache';
  return headers;
};

const writeHead = (ctx: Context, status: number, headers: Record<string, string>): void => {
  for (const [name, value] of Object.entries(ctx.scenario?.headers ?? {})) {
    if (value === '') delete headers[name];
    else headers[name] = value;
  }
  ctx.res.writeHead(status, headers);
};

/** Sends a whole body, honouring reset/stall (after half of it) and garbage. */
const sendBody = async (ctx: Context, status: number, contentType: string, text: string): Promise<void> => {
  const scenario = ctx.scenario ?? {};
  const headers = baseHeaders(ctx, contentType);
  const cut = scenario.resetAfterChunks ?? scenario.stallAfterChunks;
  headers['content-length'] = String(Buffer.byteLength(text));
  writeHead(ctx, status, headers);
  if (cut === undefined) {
    ctx.res.end(text);
    return;
  }
  ctx.res.flushHeaders();
  if (cut > 0) await write(ctx.res, text.slice(0, Math.floor(text.length / 2)));
  if (scenario.resetAfterChunks !== undefined) ctx.res.destroy();
  else await untilClosed(ctx.signal);
};

const write = (res: ServerResponse, chunk: string): Promise<void> =>
  new Promise((resolve) => {
    res.write(chunk, () => resolve());
  });

/** Writes SSE frames one `res.write` each, honouring cadence, reset, stall, in-stream errors and garbage. */
const sendStream = async (ctx: Context, frames: string[], errorFrame: (sent: number) => string): Promise<void> => {
  const { res, signal } = ctx;
  const scenario = ctx.scenario ?? {};
  writeHead(ctx, scenario.status ?? 200, baseHeaders(ctx, SSE_TYPE));
  res.flushHeaders();
  let pending: Promise<void> = Promise.resolve();
  for (let index = 0; index <= frames.length; index += 1) {
    if (index === scenario.stallAfterChunks) return untilClosed(signal);
    if (index === scenario.resetAfterChunks) {
      // The frames already written reach the client, then the connection dies without a chunked terminator.
      await pending;
      res.destroy();
      return;
    }
    if (index === scenario.errorAfterChunks) {
      res.end(errorFrame(index));
      return;
    }
    const frame = frames[index];
    if (frame === undefined) break;
    if (index > 0 && scenario.chunkDelayMs) await pause(scenario.chunkDelayMs, signal);
    if (res.destroyed) return;
    pending = write(res, frame);
  }
  res.end();
};

// ─── errors ──────────────────────────────────────────────────────────────────────────────────────

interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const OPENAI_ERRORS: Record<number, OpenAIErrorBody['error']> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', param: null, code: null },
  401: {
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
  403: {
    message: 'You are not allowed to sample from this model',
    type: 'invalid_request_error',
    param: null,
    code: null,
  },
  404: {
    message: 'The model does not exist or you do not have access to it.',
    type: 'invalid_request_error',
    param: null,
    code: 'model_not_found',
  },
  429: {
    message: 'Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.',
    type: 'requests',
    param: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    param: null,
    code: null,
  },
  503: {
    message: 'The engine is currently overloaded, please try again later.',
    type: 'server_error',
    param: null,
    code: null,
  },
};

const ANTHROPIC_ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: 'invalid_request_error', message: 'Invalid request.' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  402: { type: 'billing_error', message: 'Your credit balance is too low to access the Anthropic API.' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'Not found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'Number of requests has exceeded your per-minute rate limit.' },
  500: { type: 'api_error', message: 'Internal server error' },
  504: { type: 'timeout_error', message: 'Request timed out.' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

const openAIError = (status: number, error: FakeError): OpenAIErrorBody['error'] => {
  const base = OPENAI_ERRORS[status] ?? (status >= 500 ? OPENAI_ERRORS[500] : OPENAI_ERRORS[400]);
  return {
    message: error.message ?? base?.message ?? 'Error',
    type: error.type ?? base?.type ?? 'invalid_request_error',
    param: error.param !== undefined ? error.param : (base?.param ?? null),
    code: error.code !== undefined ? error.code : (base?.code ?? null),
  };
};

const anthropicError = (status: number, error: FakeError): { type: string; message: string } => {
  const base = ANTHROPIC_ERRORS[status] ?? (status >= 500 ? ANTHROPIC_ERRORS[500] : ANTHROPIC_ERRORS[400]);
  return { type: error.type ?? base?.type ?? 'api_error', message: error.message ?? base?.message ?? 'Error' };
};

const sendError = (ctx: Context, status: number, error: FakeError): Promise<void> => {
  const { request } = ctx;
  if (status === 429) ctx.scenario = { ...ctx.scenario, headers: { 'retry-after': '1', ...ctx.scenario?.headers } };
  if (request.protocol === 'anthropic') {
    const detail = anthropicError(status, error);
    const body: AnthropicErrorResponse = {
      type: 'error',
      error: detail as AnthropicErrorResponse['error'],
      request_id: `req_fake${ctx.id}`,
    };
    return sendBody(ctx, status, JSON_TYPE, JSON.stringify(body));
  }
  const body: OpenAIErrorBody = { error: openAIError(status, error) };
  return sendBody(ctx, status, JSON_TYPE, JSON.stringify(body));
};

const authError = (request: RecordedRequest): FakeError => {
  const key = request.auth.key;
  if (request.protocol === 'anthropic') {
    return key ? { message: 'invalid x-api-key' } : { message: 'x-api-key header is required' };
  }
  if (!key) {
    return {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      code: null,
    };
  }
  const masked = key.length > 8 ? `${key.slice(0, 3)}*****${key.slice(-4)}` : '*****';
  return {
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
  };
};

const invalidJsonError = (protocol: FakeProtocol): FakeError =>
  protocol === 'anthropic'
    ? { message: 'There was an error parsing the body of your request as JSON.' }
    : {
        message:
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      };

// ─── the answer ──────────────────────────────────────────────────────────────────────────────────

interface ResolvedToolCall {
  id: string;
  name: string;
  arguments: string;
  pieces: string[];
  input: Record<string, unknown>;
}

interface Answer {
  model: string;
  created: number;
  text: string | undefined;
  pieces: string[];
  toolCalls: ResolvedToolCall[];
  thinking: string | undefined;
  thinkingPieces: string[];
  usage: FakeUsage | undefined;
  truncated: boolean;
  /** Chat choices, each the same answer (`n`). */
  choices: number;
}

const MAX_PIECES = 16;
const ECHO_LIMIT = 120;

/** Splits text at word boundaries into at most `max` pieces that join back to the text. */
const splitText = (text: string, max = MAX_PIECES): string[] => {
  const words = text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
  if (words.length <= max) return words;
  const size = Math.ceil(words.length / max);
  const pieces: string[] = [];
  for (let at = 0; at < words.length; at += size) pieces.push(words.slice(at, at + size).join(''));
  return pieces;
};

const splitEvenly = (text: string, count: number): string[] => {
  const size = Math.max(1, Math.ceil(text.length / count));
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
};

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) =>
      isRecord(part) && typeof part['text'] === 'string' && part['type'] !== 'tool_result' ? part['text'] : '',
    )
    .filter(Boolean)
    .join(' ');
};

/** The last user turn's text in a chat / messages / responses request body. */
const lastUserText = (body: Record<string, unknown>): string => {
  if (typeof body['input'] === 'string') return body['input'];
  const turns = Array.isArray(body['messages']) ? body['messages'] : Array.isArray(body['input']) ? body['input'] : [];
  for (let index = turns.length - 1; index >= 0; index -= 1) {
    const turn: unknown = turns[index];
    if (isRecord(turn) && turn['role'] === 'user') return textOf(turn['content']);
  }
  return '';
};

const resolveAnswer = (ctx: Context): Answer => {
  const scenario = ctx.scenario ?? {};
  const body = isRecord(ctx.request.body) ? ctx.request.body : {};
  const toolCalls = (scenario.toolCalls ?? []).map((call, index): ResolvedToolCall => {
    const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {});
    let input: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(args);
      if (isRecord(parsed)) input = parsed;
    } catch {
      // Anthropic needs an object; unparsable arguments stay verbatim for OpenAI only.
    }
    const prefix = ctx.request.protocol === 'anthropic' ? 'toolu_fake' : 'call_fake';
    return {
      id: call.id ?? `${prefix}${ctx.id}_${index}`,
      name: call.name,
      arguments: args,
      pieces: splitEvenly(args, 3),
      input,
    };
  });
  const obeyed = scenario.obeyCap ? obeyCap(ctx.request.endpoint, body) : undefined;
  let text = scenario.chunks?.join('') ?? scenario.text;
  if (text === undefined && obeyed) {
    text = obeyed.tokens === undefined ? 'no cap, so on and on' : `${obeyed.tokens} tokens, as capped`;
  }
  if (text === undefined && toolCalls.length === 0) {
    const echo = lastUserText(body).slice(0, ECHO_LIMIT);
    text = `fake reply to: ${echo}`.trimEnd();
  }
  const thinking = scenario.thinking;
  return {
    model: typeof body['model'] === 'string' ? body['model'] : 'fake-model',
    created: Math.floor(Date.now() / 1000),
    text,
    pieces: scenario.chunks ?? (text === undefined ? [] : splitText(text)),
    toolCalls,
    thinking,
    thinkingPieces: thinking === undefined ? [] : splitText(thinking, 4),
    usage: scenario.omitUsage
      ? undefined
      : {
          ...DEFAULT_USAGE,
          ...scenario.usage,
          ...(obeyed ? { inputTokens: obeyed.inputTokens, outputTokens: obeyed.outputTokens } : {}),
        },
    truncated: obeyed ? obeyed.tokens !== undefined : scenario.maxTokensReached === true,
    choices: obeyed?.choices ?? 1,
  };
};

const answer = (ctx: Context): Promise<void> => {
  const { request } = ctx;
  const scenario = ctx.scenario ?? {};
  const json = (value: unknown): Promise<void> => {
    if (scenario.garbage === 'sse') return sendBody(ctx, 200, 'text/html', HTML_GARBAGE);
    const text = JSON.stringify(value);
    return sendBody(ctx, scenario.status ?? 200, JSON_TYPE, scenario.garbage ? text.slice(0, text.length >> 1) : text);
  };
  const stream = (frames: string[], errorFrame: (sent: number) => string): Promise<void> => {
    if (scenario.rawFrames) return sendStream(ctx, scenario.rawFrames, errorFrame);
    if (scenario.garbage === 'sse') return sendStream(ctx, [HTML_GARBAGE], errorFrame);
    if (scenario.garbage) return sendStream(ctx, [...frames.slice(0, 1), garbageFrame(request.endpoint)], errorFrame);
    return sendStream(ctx, frames, errorFrame);
  };

  switch (request.endpoint) {
    case 'chat': {
      const ans = resolveAnswer(ctx);
      const errorFrame = (): string => sse(undefined, { error: openAIError(500, scenario.error ?? {}) });
      return request.stream ? stream(chatFrames(ctx, ans), errorFrame) : json(chatCompletion(ctx, ans));
    }
    case 'responses': {
      const ans = resolveAnswer(ctx);
      const events = responseEvents(ctx, ans);
      const errorFrame = (sent: number): string => {
        const error = openAIError(500, scenario.error ?? {});
        const event: ResponseErrorEvent = {
          type: 'error',
          code: error.code ?? 'server_error',
          message: error.message,
          param: error.param,
          sequence_number: sent,
        };
        return sse('error', event);
      };
      if (!request.stream) return json(events.final);
      return stream(
        events.stream.map((event) => sse(event.type, event)),
        errorFrame,
      );
    }
    case 'messages': {
      const ans = resolveAnswer(ctx);
      const errorFrame = (): string =>
        sse('error', { type: 'error', error: anthropicError(529, scenario.error ?? {}) });
      if (!request.stream) return json(anthropicMessage(ctx, ans));
      return stream(
        anthropicEvents(ctx, ans).map((event) => sse(event.type, event)),
        errorFrame,
      );
    }
    case 'embeddings':
      return json(embeddings(ctx));
    case 'count_tokens': {
      const usage = { ...DEFAULT_USAGE, ...scenario.usage };
      const count: MessageTokensCount = {
        input_tokens: usage.inputTokens + usage.cachedTokens + usage.cacheCreationTokens,
      };
      return json(count);
    }
    case 'models':
      return json(modelList(ctx));
    default: {
      const message =
        request.protocol === 'anthropic' ? 'Not Found' : `Invalid URL (${request.method} ${request.path})`;
      return sendError(ctx, 404, { message, code: null });
    }
  }
};

const sse = (event: string | undefined, data: unknown): string =>
  `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

const HTML_GARBAGE = '<html>\n<head><title>502 Bad Gateway</title></head>\n<body>upstream garbage</body>\n</html>\n';

const garbageFrame = (endpoint: FakeEndpoint): string => {
  if (endpoint === 'messages') return 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\n\n';
  if (endpoint === 'responses') return 'event: response.output_text.delta\ndata: {"type":"response.output_text.de\n\n';
  return 'data: {"id":"chatcmpl-garbage","object":"chat.completion.chunk","choices":[{"delta":{"content":\n\n';
};

// ─── OpenAI Chat Completions ─────────────────────────────────────────────────────────────────────

const chatUsage = (usage: FakeUsage): CompletionUsage => {
  const prompt = usage.inputTokens + usage.cachedTokens + usage.cacheCreationTokens;
  const promptDetails: NonNullable<CompletionUsage['prompt_tokens_details']> = {
    cached_tokens: usage.cachedTokens,
    audio_tokens: 0,
  };
  if (usage.cacheCreationTokens > 0) promptDetails.cache_write_tokens = usage.cacheCreationTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
    prompt_tokens_details: promptDetails,
    completion_tokens_details: {
      reasoning_tokens: usage.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
};

const chatFinish = (ans: Answer): ChatCompletion.Choice['finish_reason'] =>
  ans.truncated ? 'length' : ans.toolCalls.length > 0 ? 'tool_calls' : 'stop';

const chatCompletion = (ctx: Context, ans: Answer): ChatCompletion => {
  const message: ChatCompletion.Choice['message'] = {
    role: 'assistant',
    content: ans.text ?? null,
    refusal: null,
    annotations: [],
  };
  if (ans.toolCalls.length > 0) {
    message.tool_calls = ans.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  const completion: ChatCompletion = {
    id: `chatcmpl-fake${ctx.id}`,
    object: 'chat.completion',
    created: ans.created,
    model: ans.model,
    choices: Array.from({ length: ans.choices }, (_, index) => ({
      index,
      message,
      logprobs: null,
      finish_reason: chatFinish(ans),
    })),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
  if (ans.usage) completion.usage = chatUsage(ans.usage);
  return completion;
};

const chatFrames = (ctx: Context, ans: Answer): string[] => {
  const body = isRecord(ctx.request.body) ? ctx.request.body : {};
  const streamOptions = isRecord(body['stream_options']) ? body['stream_options'] : {};
  const includeUsage = streamOptions['include_usage'] === true && ans.usage !== undefined;
  const chunk = (
    choices: ChatCompletionChunk['choices'],
    usage?: ChatCompletionChunk['usage'],
  ): ChatCompletionChunk => {
    const value: ChatCompletionChunk = {
      id: `chatcmpl-fake${ctx.id}`,
      object: 'chat.completion.chunk',
      created: ans.created,
      model: ans.model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
      choices,
    };
    // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
    if (includeUsage) value.usage = usage ?? null;
    return value;
  };
  const chunks: ChatCompletionChunk[] = [];
  const [firstCall] = ans.toolCalls;
  // With `n` choices, each choice's deltas follow the one before, as their `index` tells them apart.
  for (let at = 0; at < ans.choices; at += 1) {
    const delta = (
      value: ChatCompletionChunk.Choice.Delta,
      finish: ChatCompletionChunk.Choice['finish_reason'] = null,
    ): ChatCompletionChunk['choices'] => [{ index: at, delta: value, logprobs: null, finish_reason: finish }];
    if (ans.text === undefined && firstCall) {
      chunks.push(
        chunk(
          delta({
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              { index: 0, id: firstCall.id, type: 'function', function: { name: firstCall.name, arguments: '' } },
            ],
          }),
        ),
      );
    } else {
      chunks.push(chunk(delta({ role: 'assistant', content: '', refusal: null })));
    }
    for (const piece of ans.pieces) chunks.push(chunk(delta({ content: piece })));
    ans.toolCalls.forEach((call, index) => {
      if (!(ans.text === undefined && index === 0)) {
        chunks.push(
          chunk(
            delta({
              tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
            }),
          ),
        );
      }
      for (const piece of call.pieces) {
        chunks.push(chunk(delta({ tool_calls: [{ index, function: { arguments: piece } }] })));
      }
    });
    chunks.push(chunk(delta({}, chatFinish(ans))));
  }
  if (includeUsage && ans.usage) chunks.push(chunk([], chatUsage(ans.usage)));
  return [...chunks.map((value) => sse(undefined, value)), 'data: [DONE]\n\n'];
};

// ─── OpenAI Responses ────────────────────────────────────────────────────────────────────────────

type WireResponse = Omit<Response, 'output_text'>;
type WireEvent = ResponseStreamEvent;

const responseUsage = (usage: FakeUsage): ResponseUsage => {
  const input = usage.inputTokens + usage.cachedTokens + usage.cacheCreationTokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cachedTokens, cache_write_tokens: usage.cacheCreationTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: input + usage.outputTokens,
  };
};

/** The Responses answer: its final object and the event sequence that streams it. */
const responseEvents = (ctx: Context, ans: Answer): { final: WireResponse; stream: WireEvent[] } => {
  const body = isRecord(ctx.request.body) ? ctx.request.body : {};
  const responseId = `resp_fake${ctx.id}`;
  const status = ans.truncated ? 'incomplete' : 'completed';
  const output: ResponseOutputItem[] = [];
  const events: WireEvent[] = [];
  const shell = (state: NonNullable<Response['status']>, items: ResponseOutputItem[]): WireResponse => {
    const value: WireResponse = {
      id: responseId,
      object: 'response',
      created_at: ans.created,
      status: state,
      background: false,
      completed_at: state === 'completed' ? ans.created : null,
      error: null,
      incomplete_details: state === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      instructions: typeof body['instructions'] === 'string' ? body['instructions'] : null,
      max_output_tokens: typeof body['max_output_tokens'] === 'number' ? body['max_output_tokens'] : null,
      max_tool_calls: null,
      model: ans.model,
      output: items,
      parallel_tool_calls: true,
      previous_response_id: null,
      prompt_cache_key: null,
      prompt_cache_retention: null,
      reasoning: { effort: null, summary: null },
      safety_identifier: null,
      service_tier: 'default',
      temperature: 1,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_logprobs: 0,
      top_p: 1,
      truncation: 'disabled',
      metadata: {},
      access_programs: null,
    };
    if (state !== 'in_progress' && ans.usage) value.usage = responseUsage(ans.usage);
    return value;
  };
  const emit = (event: DistributiveOmit<WireEvent, 'sequence_number'>): void => {
    events.push({ ...event, sequence_number: events.length } as WireEvent);
  };

  emit({ type: 'response.created', response: shell('in_progress', []) as Response });
  emit({ type: 'response.in_progress', response: shell('in_progress', []) as Response });

  if (ans.thinking !== undefined) {
    const item_id = `rs_fake${ctx.id}`;
    const output_index = output.length;
    emit({ type: 'response.output_item.added', output_index, item: { id: item_id, type: 'reasoning', summary: [] } });
    emit({
      type: 'response.reasoning_summary_part.added',
      item_id,
      output_index,
      summary_index: 0,
      part: { type: 'summary_text', text: '' },
    });
    for (const delta of ans.thinkingPieces) {
      emit({ type: 'response.reasoning_summary_text.delta', item_id, output_index, summary_index: 0, delta });
    }
    const text = ans.thinking;
    emit({ type: 'response.reasoning_summary_text.done', item_id, output_index, summary_index: 0, text });
    emit({
      type: 'response.reasoning_summary_part.done',
      item_id,
      output_index,
      summary_index: 0,
      part: { type: 'summary_text', text },
    });
    const item: ResponseOutputItem = { id: item_id, type: 'reasoning', summary: [{ type: 'summary_text', text }] };
    output.push(item);
    emit({ type: 'response.output_item.done', output_index, item });
  }

  if (ans.text !== undefined) {
    const item_id = `msg_fake${ctx.id}`;
    const output_index = output.length;
    const itemStatus = ans.truncated ? 'incomplete' : 'completed';
    emit({
      type: 'response.output_item.added',
      output_index,
      item: { id: item_id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    });
    const place = { item_id, output_index, content_index: 0 };
    emit({
      type: 'response.content_part.added',
      ...place,
      part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
    });
    for (const delta of ans.pieces) emit({ type: 'response.output_text.delta', ...place, delta, logprobs: [] });
    const text = ans.text;
    emit({ type: 'response.output_text.done', ...place, text, logprobs: [] });
    const part = { type: 'output_text' as const, text, annotations: [], logprobs: [] };
    emit({ type: 'response.content_part.done', ...place, part });
    const item: ResponseOutputItem = {
      id: item_id,
      type: 'message',
      status: itemStatus,
      role: 'assistant',
      content: [part],
    };
    output.push(item);
    emit({ type: 'response.output_item.done', output_index, item });
  }

  ans.toolCalls.forEach((call, index) => {
    const item_id = `fc_fake${ctx.id}_${index}`;
    const output_index = output.length;
    const base = { id: item_id, type: 'function_call' as const, call_id: call.id, name: call.name };
    emit({
      type: 'response.output_item.added',
      output_index,
      item: { ...base, arguments: '', status: 'in_progress' },
    });
    for (const delta of call.pieces) {
      emit({ type: 'response.function_call_arguments.delta', item_id, output_index, delta });
    }
    emit({ type: 'response.function_call_arguments.done', item_id, output_index, arguments: call.arguments });
    const item: ResponseOutputItem = { ...base, arguments: call.arguments, status: 'completed' };
    output.push(item);
    emit({ type: 'response.output_item.done', output_index, item });
  });

  const final = shell(status, output);
  emit({
    type: status === 'incomplete' ? 'response.incomplete' : 'response.completed',
    response: final as Response,
  });
  return { final, stream: events };
};

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// ─── OpenAI Embeddings and Models ────────────────────────────────────────────────────────────────

type EmbeddingsWire = Omit<CreateEmbeddingResponse, 'data' | 'usage'> & {
  data: Array<Omit<Embedding, 'embedding'> & { embedding: number[] | string }>;
  usage?: CreateEmbeddingResponse['usage'];
};

const embeddings = (ctx: Context): EmbeddingsWire => {
  const body = isRecord(ctx.request.body) ? ctx.request.body : {};
  const scenario = ctx.scenario ?? {};
  // A list of token ids is one input; any other list is one input per element.
  const inputs: unknown[] =
    Array.isArray(body['input']) && !body['input'].every((x) => typeof x === 'number')
      ? body['input']
      : [body['input']];
  const dimensions =
    typeof body['dimensions'] === 'number' ? body['dimensions'] : (ctx.options.embeddingDimensions ?? 8);
  const base64 = body['encoding_format'] === 'base64';
  const result: EmbeddingsWire = {
    object: 'list',
    data: inputs.map((input, index) => {
      const vector = fakeVector(JSON.stringify(input ?? ''), dimensions);
      const embedding = base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector);
      return { object: 'embedding', index, embedding };
    }),
    model: typeof body['model'] === 'string' ? body['model'] : 'fake-embedding',
  };
  if (!scenario.omitUsage) {
    const usage = { ...DEFAULT_USAGE, ...scenario.usage };
    result.usage = { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens };
  }
  return result;
};

/** Deterministic values that are exact in float32, so float and base64 answers agree. */
const fakeVector = (seed: string, dimensions: number): Float32Array => {
  let hash = 0;
  for (let index = 0; index < seed.length; index += 1) hash = (hash * 31 + seed.charCodeAt(index)) >>> 0;
  const vector = new Float32Array(dimensions);
  for (let index = 0; index < dimensions; index += 1) {
    vector[index] = (((hash >>> (index % 24)) + index * 37) % 256) / 256 - 0.5;
  }
  return vector;
};

const DEFAULT_MODELS = ['gpt-4o-mini', 'text-embedding-3-small', 'claude-sonnet-4-5', 'fake-model'];

const modelList = (ctx: Context): unknown => {
  const ids = ctx.options.models ?? [...DEFAULT_MODELS, ...MAGIC_MODELS, 'fail-429', 'fail-500', 'fail-529'];
  if (ctx.request.protocol === 'anthropic') {
    const data: ModelInfo[] = ids.map((id) => ({
      type: 'model',
      id,
      display_name: id,
      created_at: '2025-01-01T00:00:00Z',
      capabilities: null,
      deprecated_at: null,
      lifecycle: 'active',
      line: null,
      max_input_tokens: 200_000,
      max_tokens: 64_000,
      retires_at: null,
    }));
    return { data, has_more: false, first_id: ids[0] ?? null, last_id: ids.at(-1) ?? null };
  }
  const data: OpenAIModel[] = ids.map((id) => ({ id, object: 'model', created: 1_735_689_600, owned_by: 'fake' }));
  return { object: 'list', data };
};

// ─── Anthropic Messages ──────────────────────────────────────────────────────────────────────────

type AnthropicUsage = Message['usage'];

const anthropicUsage = (usage: FakeUsage, outputTokens: number): AnthropicUsage => ({
  input_tokens: usage.inputTokens,
  cache_creation_input_tokens: usage.cacheCreationTokens,
  cache_read_input_tokens: usage.cachedTokens,
  cache_creation: { ephemeral_5m_input_tokens: usage.cacheCreationTokens, ephemeral_1h_input_tokens: 0 },
  output_tokens: outputTokens,
  output_tokens_details: usage.reasoningTokens > 0 ? { thinking_tokens: usage.reasoningTokens } : null,
  server_tool_use: null,
  service_tier: 'standard',
  inference_geo: null,
  speed: null,
});

const stopReason = (ans: Answer): Message['stop_reason'] =>
  ans.truncated ? 'max_tokens' : ans.toolCalls.length > 0 ? 'tool_use' : 'end_turn';

const signatureOf = (thinking: string): string => Buffer.from(`fake-signature:${thinking.length}`).toString('base64');

const anthropicContent = (ans: Answer): Message['content'] => {
  const content: Message['content'] = [];
  if (ans.thinking !== undefined) {
    content.push({ type: 'thinking', thinking: ans.thinking, signature: signatureOf(ans.thinking) });
  }
  if (ans.text !== undefined) content.push({ type: 'text', text: ans.text, citations: null });
  for (const call of ans.toolCalls) {
    content.push({ type: 'tool_use', id: call.id, name: call.name, input: call.input, caller: { type: 'direct' } });
  }
  return content;
};

const anthropicMessage = (ctx: Context, ans: Answer): Message | Omit<Message, 'usage'> => {
  const message: Omit<Message, 'usage'> = {
    id: `msg_fake${ctx.id}`,
    type: 'message',
    role: 'assistant',
    model: ans.model,
    content: anthropicContent(ans),
    stop_reason: stopReason(ans),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
  };
  return ans.usage ? { ...message, usage: anthropicUsage(ans.usage, ans.usage.outputTokens) } : message;
};

/** The Messages stream events, plus the `ping` Anthropic sends that the SDK types leave out. */
type AnthropicFrame = RawMessageStreamEvent | { type: 'ping' };

const anthropicEvents = (ctx: Context, ans: Answer): AnthropicFrame[] => {
  const start = anthropicMessage(ctx, ans);
  const events: AnthropicFrame[] = [];
  const usage = ans.usage;
  const message = {
    ...start,
    content: [],
    stop_reason: null,
    ...(usage
      ? {
          usage: {
            ...anthropicUsage(usage, Math.min(ANTHROPIC_START_OUTPUT_TOKENS, usage.outputTokens)),
            output_tokens_details: null,
          },
        }
      : {}),
  };
  events.push({ type: 'message_start', message: message as Message });
  let index = 0;
  const block = (first: RawMessageStreamEvent, deltas: RawMessageStreamEvent[]): void => {
    events.push(first);
    // Anthropic sends one ping right after the first content_block_start.
    if (index === 0) events.push({ type: 'ping' });
    events.push(...deltas, { type: 'content_block_stop', index });
    index += 1;
  };
  if (ans.thinking !== undefined) {
    const at = index;
    block(
      { type: 'content_block_start', index: at, content_block: { type: 'thinking', thinking: '', signature: '' } },
      [
        ...ans.thinkingPieces.map(
          (thinking): RawMessageStreamEvent => ({
            type: 'content_block_delta',
            index: at,
            delta: { type: 'thinking_delta', thinking },
          }),
        ),
        {
          type: 'content_block_delta',
          index: at,
          delta: { type: 'signature_delta', signature: signatureOf(ans.thinking) },
        },
      ],
    );
  }
  if (ans.text !== undefined) {
    const at = index;
    block(
      { type: 'content_block_start', index: at, content_block: { type: 'text', text: '', citations: null } },
      ans.pieces.map((text) => ({ type: 'content_block_delta', index: at, delta: { type: 'text_delta', text } })),
    );
  }
  for (const call of ans.toolCalls) {
    const at = index;
    block(
      {
        type: 'content_block_start',
        index: at,
        content_block: { type: 'tool_use', id: call.id, name: call.name, input: {}, caller: { type: 'direct' } },
      },
      call.pieces.map((partial_json) => ({
        type: 'content_block_delta',
        index: at,
        delta: { type: 'input_json_delta', partial_json },
      })),
    );
  }
  const delta = { stop_reason: stopReason(ans), stop_sequence: null, stop_details: null, container: null };
  if (usage) {
    events.push({
      type: 'message_delta',
      delta,
      usage: {
        input_tokens: usage.inputTokens,
        cache_creation_input_tokens: usage.cacheCreationTokens,
        cache_read_input_tokens: usage.cachedTokens,
        output_tokens: usage.outputTokens,
        output_tokens_details: usage.reasoningTokens > 0 ? { thinking_tokens: usage.reasoningTokens } : null,
        server_tool_use: null,
      },
    });
  } else {
    events.push({ type: 'message_delta', delta } as RawMessageStreamEvent);
  }
  events.push({ type: 'message_stop' });
  return events;
};
