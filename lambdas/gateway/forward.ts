import { PassThrough } from 'node:stream';
import {
  ConfigurationError,
  FORWARDED_ERROR_HEADERS,
  InternalError,
  UpstreamConnectionError,
  UpstreamError,
} from '../errors.ts';
import { type AnswerCost, costedEvent } from '../protocols/answer-cost.ts';
import { anthropicStreamError } from '../protocols/anthropic-messages.ts';
import { type Bridge, type BridgeContext, bridgeFor } from '../protocols/bridges.ts';
import { type Observation, observeBody, streamObserver } from '../protocols/observe.ts';
import { openAIStreamError } from '../protocols/openai-chat.ts';
import { responsesStreamError } from '../protocols/openai-responses.ts';
import { withCap } from '../protocols/output-cap.ts';
import { createSseReader, type EventSourceMessage, eventFramer, parseEventData, sseFrame } from '../protocols/sse.ts';
import type { StreamTranslator } from '../protocols/translate/types.ts';
import { CredentialNameError, type CredentialSource } from '../providers/credentials.ts';
import { RefusedAddressError, type UpstreamGuard, type UpstreamResponse } from '../providers/http.ts';
import { PROVIDERS } from '../providers/index.ts';
import type { ProviderAdapter, UpstreamCall } from '../providers/types.ts';
import {
  CREDENTIAL_NAME_RULE,
  isProviderKind,
  type Operation,
  type Route,
  type StreamOutcome,
  type Usage,
} from '../vocabulary.ts';
import { formatUsd, usdNumber } from './money.ts';
import type { Reach } from './reach.ts';

/** What an upstream has produced so far, as observed once (protocols/observe.ts). */
export interface Progress {
  /** The usage the upstream reported, as far as it got; undefined when it reported none. */
  usage: Usage | undefined;
  /** Raw upstream usage object(s), kept for the ledger. */
  rawUsage: unknown;
  /** Characters of output seen (text, tool arguments, thinking), for estimates. */
  outputChars: number;
}

/** How an upstream exchange ended; what the wallet settles on. */
export interface Completion extends Progress {
  outcome: StreamOutcome;
  /** When the upstream's last byte (or failure) arrived. */
  endedAt: number;
}

/**
 * An answer the upstream produced, and bills for, that the gateway failed to pass on (a translator
 * that threw): the client gets a 500, and the request is still settled on the upstream's usage.
 */
export class UndeliveredAnswer extends InternalError {
  readonly completion: Completion;
  constructor(cause: unknown, completion: Completion) {
    super(cause);
    this.completion = completion;
  }
}

export interface StreamingResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | PassThrough;
}

export interface Forwarded {
  response: StreamingResponse;
  /** `performance.now()` when the upstream request went out and when its headers came back. */
  timing: { sentAt: number; headersAt: number };
  /** Resolves once the upstream is read to its end, whether or not the client stayed. */
  completion: Promise<Completion>;
}

export interface ForwardDeps {
  credentials: CredentialSource;
  env: NodeJS.ProcessEnv;
  /** What upstreams may be reached: strict on AWS, loopback allowed under the local gateway. */
  reach: Reach;
  headersTimeoutMs: number;
  /** An upstream stream that sends nothing for this long (while the client reads) is cut. */
  idleTimeoutMs: number;
  /** A client that takes nothing for this long is dropped; the upstream is still read to its end. */
  clientTimeoutMs: number;
}

export interface ForwardRequest {
  operation: Operation;
  route: Route;
  body: Record<string, unknown>;
  /** The output cap the hold was priced on: written into the upstream body, the only cap field there. */
  maxOutputTokens: number;
  clientHeaders: Readonly<Record<string, string | undefined>>;
  /** Aborts the upstream call (e.g. when the hold taken alongside it is refused). */
  signal?: AbortSignal;
  /**
   * When (epoch ms) the exchange must end so that it settles before its hold expires or the
   * invocation is killed: the upstream call is cut then, a stream with the protocol's error event.
   */
  deadlineAt?: number;
  /** Called with a stream's progress at most every `everyMs`, for checkpoints of its running cost. */
  progress?: { everyMs: number; report: (progress: Progress) => void };
  /**
   * What the ledger charges for a completed answer's usage, in nano-USD (this route's prices, the
   * wallet's discount): the answer carries it as `usage.cost` and, non-stream, `x-tollgate-cost-usd`.
   */
  price?: (usage: Usage) => number;
}

/** The adapter for a route, or the configuration error an operator must fix. */
export const adapterFor = (route: Route): ProviderAdapter => {
  if (!isProviderKind(route.provider)) {
    throw new ConfigurationError(
      'unknown_provider',
      route.model,
      `Model '${route.model}' is misconfigured on this gateway (unknown provider). The operator has been notified.`,
      `Route '${route.model}' names provider '${route.provider}'; use one of openai, anthropic, openai-compatible, echo (npx tollgate routes set).`,
    );
  }
  return PROVIDERS[route.provider];
};

/** The echo provider answers in-process: its calls reach no address at all. */
const NO_NETWORK: UpstreamGuard = { refusal: () => 'is not reachable: this provider answers in-process' };

type Upstream = { baseUrl: string | undefined; guard: UpstreamGuard };

/**
 * Each route object's checked upstream, with the env and reach it was checked under: the route
 * table's cache hands out the same object until it reloads, so a request checks nothing again.
 */
const checkedUpstreams = new WeakMap<Route, Pick<ForwardDeps, 'env' | 'reach'> & { upstream: Upstream }>();

/** The route's base URL, checked against the reach rules, and the guard its connections go through. */
const resolveUpstream = (
  route: Route,
  adapter: ProviderAdapter,
  deps: Pick<ForwardDeps, 'env' | 'reach'>,
): Upstream => {
  const checked = checkedUpstreams.get(route);
  if (checked && checked.env === deps.env && checked.reach === deps.reach) return checked.upstream;
  const upstream = checkUpstream(route, adapter, deps);
  checkedUpstreams.set(route, { env: deps.env, reach: deps.reach, upstream });
  return upstream;
};

const checkUpstream = (route: Route, adapter: ProviderAdapter, deps: Pick<ForwardDeps, 'env' | 'reach'>): Upstream => {
  if (adapter.kind === 'echo') return { baseUrl: undefined, guard: NO_NETWORK };
  const configured =
    route.baseUrl ?? (adapter.defaultBaseUrl && (deps.env[adapter.defaultBaseUrl.env] || adapter.defaultBaseUrl.url));
  const misconfigured = (why: string) =>
    new ConfigurationError(
      'bad_base_url',
      route.model,
      `Model '${route.model}' is misconfigured on this gateway (upstream URL). The operator has been notified.`,
      `Route '${route.model}': ${why} (npx tollgate routes set ${route.model} --base-url https://…).`,
    );
  if (!configured) throw misconfigured('provider openai-compatible needs a base URL');
  let url: URL;
  try {
    url = new URL(configured);
  } catch {
    throw misconfigured(`base URL '${configured}' is not a URL`);
  }
  const refusal = deps.reach.refusal(url, route);
  if (refusal !== undefined) throw misconfigured(`base URL '${configured}' is refused: ${refusal}`);
  return { baseUrl: configured, guard: deps.reach.guard(url, route) };
};

const resolveCredential = async (route: Route, adapter: ProviderAdapter, credentials: CredentialSource) => {
  const name = route.credential ?? adapter.defaultCredential;
  if (name === undefined) return undefined;
  let value: string | undefined;
  try {
    value = await credentials.get(name);
  } catch (error) {
    if (!(error instanceof CredentialNameError)) throw error;
    throw new ConfigurationError(
      'bad_credential_name',
      route.model,
      `Model '${route.model}' is misconfigured on this gateway (credential). The operator has been notified.`,
      `Route '${route.model}' names credential '${name}', which is not a credential name (${CREDENTIAL_NAME_RULE}); it was not read (npx tollgate routes set ${route.model} --credential …).`,
    );
  }
  if (value === undefined) {
    throw new ConfigurationError(
      'missing_credential',
      route.model,
      `Model '${route.model}' is not available: the gateway has no credential for its provider. The operator has been notified.`,
      `Set ${credentials.describe(name)} (provider ${route.provider}, route '${route.model}').`,
    );
  }
  return value;
};

const forwardedHeaders = (headers: UpstreamResponse['headers']): Record<string, string> => {
  const picked: Record<string, string> = {};
  for (const name of FORWARDED_ERROR_HEADERS) {
    const value = headers.get(name);
    if (value !== null) picked[name] = value;
  }
  return picked;
};

const truncate = (text: string, max = 300): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** `text` with every occurrence of `secret` replaced: an upstream may echo the credential it was sent. */
const redacted = (text: string, secret: string | undefined): string =>
  secret && secret.length >= 8 ? text.replaceAll(secret, '[redacted]') : text;

/** An upstream error status, as the client should see it: ours for operator faults, theirs otherwise. */
const upstreamFailure = async (
  response: UpstreamResponse,
  route: Route,
  credentials: CredentialSource,
  adapter: ProviderAdapter,
  credential: string | undefined,
) => {
  let body = '';
  try {
    body = redacted(await response.text(), credential);
  } catch {
    // The status is what matters; a body cut short is passed on as far as it came.
  }
  const { status } = response;
  if (status === 401 || status === 403) {
    const name = route.credential ?? adapter.defaultCredential ?? '(none)';
    return new ConfigurationError(
      'upstream_auth',
      route.model,
      `The upstream provider refused the gateway's own credential for model '${route.model}' (HTTP ${status}). This is not a problem with your API key; the operator has been notified.`,
      `Provider ${route.provider} answered ${status} to ${credentials.describe(name)}: ${truncate(body)}`,
    );
  }
  if (status === 404) {
    return new ConfigurationError(
      'upstream_model_not_found',
      route.model,
      `Model '${route.model}' is misconfigured on this gateway (the upstream does not know it). The operator has been notified.`,
      `Provider ${route.provider} answered 404 for upstream model '${route.upstreamModel ?? route.model}': ${truncate(body)} (npx tollgate routes set ${route.model} --upstream-model …).`,
    );
  }
  return new UpstreamError(status, body, forwardedHeaders(response.headers));
};

class IdleTimeout extends Error {}
class TruncatedStream extends Error {}
/** The exchange's deadline (see {@link ForwardRequest.deadlineAt}). */
class DeadlineReached extends Error {}

/** Aborts `abort` at the deadline; the returned function stops the timer. */
const armDeadline = (deadlineAt: number | undefined, abort: AbortController): (() => void) => {
  if (deadlineAt === undefined) return () => {};
  const timer = setTimeout(
    () => abort.abort(new DeadlineReached('request deadline')),
    Math.max(0, deadlineAt - Date.now()),
  );
  return () => clearTimeout(timer);
};

const rawUsageOf = (observation: Observation): unknown =>
  observation.rawUsage.length === 1
    ? observation.rawUsage[0]
    : observation.rawUsage.length
      ? observation.rawUsage
      : undefined;

/** The in-stream error event of the client's wire format (Responses: continuing its sequence). */
const streamError = (client: Operation, type: string, message: string, lastSequenceNumber: number): Uint8Array =>
  client === 'messages'
    ? anthropicStreamError(type, message)
    : client === 'responses'
      ? responsesStreamError(type, message, lastSequenceNumber + 1)
      : openAIStreamError(type, message);

/** Everything needed to call one route's upstream, resolved before anything is sent. */
interface Prepared {
  adapter: ProviderAdapter;
  bridge: Bridge;
  context: BridgeContext;
  call: Omit<UpstreamCall, 'signal'>;
}

const prepare = async (request: ForwardRequest, deps: ForwardDeps): Promise<Prepared> => {
  const { operation, route, body, clientHeaders, price } = request;
  const adapter = adapterFor(route);
  const bridge = bridgeFor(operation, adapter.protocol, route);
  const context: BridgeContext = { route, body, model: route.model };
  if (price) context.cost = (usage) => usdNumber(price(usage));
  const call = {
    operation: bridge.upstream,
    route,
    // Whatever cap fields the client or a translator wrote, the upstream reads exactly the held cap.
    body: withCap(bridge.upstream, adapter.kind, bridge.request(context), request.maxOutputTokens),
    stream: body['stream'] === true,
    ...resolveUpstream(route, adapter, deps),
    credential: await resolveCredential(route, adapter, deps.credentials),
    clientHeaders,
  };
  return { adapter, bridge, context, call };
};

/** Sends the call; throws 502 when the upstream cannot be reached or sends no headers in time. */
const send = async (
  { adapter, call }: Prepared,
  abort: AbortController,
  cancel: AbortSignal | undefined,
  headersTimeoutMs: number,
): Promise<UpstreamResponse> => {
  // The upstream call stops on our own timers (`abort`) or when the caller cancels it.
  const signal = cancel ? AbortSignal.any([abort.signal, cancel]) : abort.signal;
  const headersTimer = setTimeout(() => abort.abort(new IdleTimeout('upstream headers timeout')), headersTimeoutMs);
  try {
    return await adapter.send({ ...call, signal });
  } catch (error) {
    if (cancel?.aborted) throw cancel.reason;
    if (error instanceof RefusedAddressError) {
      throw new ConfigurationError(
        'refused_address',
        call.route.model,
        `Model '${call.route.model}' is misconfigured on this gateway (upstream address). The operator has been notified.`,
        `Route '${call.route.model}': ${error.message}; nothing was sent (npx tollgate routes set ${call.route.model} --base-url https://…).`,
      );
    }
    throw new UpstreamConnectionError(error);
  } finally {
    clearTimeout(headersTimer);
  }
};

/** An upstream error answer, in the client's protocol when a bridge translates it. */
const refusal = async ({ adapter, bridge, call }: Prepared, upstream: UpstreamResponse, deps: ForwardDeps) => {
  const failure = await upstreamFailure(upstream, call.route, deps.credentials, adapter, call.credential);
  if (!(failure instanceof UpstreamError) || !bridge.error) return failure;
  const translated = bridge.error(failure.status, failure.body);
  return new UpstreamError(translated.status, translated.body, {
    ...failure.headers,
    'content-type': 'application/json',
  });
};

/** A non-stream answer: read whole (within the idle timeout), observed once, translated if need be. */
const whole = async (
  { bridge, context }: Prepared,
  upstream: UpstreamResponse,
  contentType: string,
  abort: AbortController,
  idleTimeoutMs: number,
  price: ForwardRequest['price'],
): Promise<Pick<Forwarded, 'response' | 'completion'>> => {
  const bodyTimer = setTimeout(() => abort.abort(new IdleTimeout('upstream body timeout')), idleTimeoutMs);
  let text: string;
  try {
    text = await upstream.text();
  } catch (error) {
    throw new UpstreamConnectionError(error);
  } finally {
    clearTimeout(bodyTimer);
  }
  const json = parseEventData(text);
  if (!json) throw new UpstreamConnectionError(new Error('upstream answered 200 with a body that is not JSON'));
  const progress = progressOf(observeBody(bridge.upstream, json));
  let answer = json;
  if (bridge.response) {
    try {
      answer = bridge.response(json, context);
    } catch (error) {
      throw new UndeliveredAnswer(error, { outcome: 'upstream_error', ...progress, endedAt: Date.now() });
    }
  }
  // The answer's cost, as the ledger will settle it: in its usage (copied: the raw usage is the
  // ledger's) and in a header.
  const headers: Record<string, string> = { 'content-type': bridge.response ? 'application/json' : contentType };
  const usage = answer['usage'];
  const nano = progress.usage && price ? price(progress.usage) : undefined;
  let body = bridge.response ? JSON.stringify(answer) : text;
  if (nano !== undefined && typeof usage === 'object' && usage !== null && !Array.isArray(usage)) {
    body = JSON.stringify({ ...answer, usage: { ...usage, cost: usdNumber(nano) } });
    headers['x-tollgate-cost-usd'] = formatUsd(nano);
  }
  return {
    response: { statusCode: upstream.status, headers, body },
    completion: Promise.resolve({ outcome: 'completed', ...progress, endedAt: Date.now() }),
  };
};

/** A stream answer: bytes flow to the client through `pump`, which reads the upstream to its end. */
const streamed = (
  { bridge, context, call }: Prepared,
  upstream: UpstreamResponse,
  contentType: string,
  abort: AbortController,
  deps: ForwardDeps,
  request: ForwardRequest,
): Pick<Forwarded, 'response' | 'completion'> => {
  const out = new PassThrough();
  out.on('error', () => {}); // a dropped client's error is for whoever pipes `out`; never an uncaught one
  const rewriter = bridge.stream?.(context);
  const completion = pump(upstream.body, out, rewriter, abort, {
    client: request.operation,
    upstream: call.operation,
    idleTimeoutMs: deps.idleTimeoutMs,
    clientTimeoutMs: deps.clientTimeoutMs,
    progress: request.progress,
    deadlineAt: request.deadlineAt,
    cost: context.cost,
  });
  return {
    response: {
      statusCode: upstream.status,
      headers: {
        'content-type': rewriter ? 'text/event-stream; charset=utf-8' : contentType,
        'cache-control': 'no-cache',
      },
      body: out,
    },
    completion,
  };
};

/**
 * Calls one route's upstream and hands back the response to stream to the client, plus a promise
 * of how the exchange ended. The client's wire format reaches the upstream's through a bridge
 * (protocols/bridges.ts): unchanged bytes when both speak the same, translated otherwise. Errors
 * before the response starts throw (the error middleware renders them); after the first byte they
 * become the protocol's in-stream error event. The upstream is read to its end even when the client
 * hangs up, so its final usage is known (DESIGN §4).
 *
 * @example const { response, completion } = await forward({ operation: 'chat', route, body, clientHeaders }, deps);
 */
export const forward = async (request: ForwardRequest, deps: ForwardDeps): Promise<Forwarded> => {
  const prepared = await prepare(request, deps);
  // Past the deadline (a fallback after a route that ran out the clock): an upstream called now
  // would generate an answer no one receives or pays for.
  if (request.deadlineAt !== undefined && Date.now() >= request.deadlineAt) {
    throw new UpstreamConnectionError(new DeadlineReached('request deadline passed before the upstream call'));
  }
  const abort = new AbortController();
  const stopDeadline = armDeadline(request.deadlineAt, abort);
  try {
    const sentAt = performance.now();
    const upstream = await send(prepared, abort, request.signal, deps.headersTimeoutMs);
    const timing = { sentAt, headersAt: performance.now() };
    if (!upstream.ok) throw await refusal(prepared, upstream, deps);

    const { stream } = prepared.call;
    const contentType = upstream.headers.get('content-type') ?? (stream ? 'text/event-stream' : 'application/json');
    if (stream && !contentType.includes('text/event-stream')) {
      // Asked for a stream, answered with something else (an HTML error page, a proxy's body…):
      // nothing sensible can be streamed to the client.
      abort.abort(new Error('not an event stream'));
      throw new UpstreamConnectionError(new Error(`upstream answered a stream request with ${contentType}`));
    }
    if (!stream) {
      const answer = await whole(prepared, upstream, contentType, abort, deps.idleTimeoutMs, request.price);
      stopDeadline();
      return { ...answer, timing };
    }
    const answer = streamed(prepared, upstream, contentType, abort, deps, request);
    void answer.completion.then(stopDeadline); // a completion never rejects (pump catches)
    return { ...answer, timing };
  } catch (error) {
    stopDeadline();
    throw error;
  }
};

/**
 * Waits until `out` can take more, or is gone: true; false when it takes nothing for `timeoutMs`, or
 * when the exchange's deadline comes first (`abort` with {@link DeadlineReached}): no waiting past it.
 */
const writable = (out: PassThrough, timeoutMs: number, abort: AbortSignal): Promise<boolean> =>
  new Promise((done) => {
    const finish = (drained: boolean) => () => {
      clearTimeout(timer);
      out.off('drain', onDrain);
      out.off('close', onDrain);
      abort.removeEventListener('abort', onDeadline);
      done(drained);
    };
    const onDrain = finish(true);
    const onDeadline = () => {
      if (abort.reason instanceof DeadlineReached) finish(false)();
    };
    const timer = setTimeout(finish(false), timeoutMs);
    out.once('drain', onDrain);
    out.once('close', onDrain);
    abort.addEventListener('abort', onDeadline);
    if (abort.aborted) onDeadline();
  });

interface PumpOptions {
  client: Operation;
  upstream: Operation;
  idleTimeoutMs: number;
  clientTimeoutMs: number;
  progress: ForwardRequest['progress'];
  deadlineAt: number | undefined;
  /** Same-protocol streams: the event with the final usage gets `cost` in it (answer-cost.ts). */
  cost: AnswerCost | undefined;
}

/**
 * After the last write: a client that does not take the rest within `clientTimeoutMs` (or by the
 * deadline) is dropped, so that the response ends, the request settles and the invocation stops,
 * instead of waiting on a reader that never comes back.
 */
const dropIfNotTaken = (out: PassThrough, clientTimeoutMs: number, deadlineAt: number | undefined): void => {
  if (out.readableEnded || out.destroyed) return;
  const waitMs = Math.max(0, Math.min(clientTimeoutMs, (deadlineAt ?? Number.POSITIVE_INFINITY) - Date.now()));
  const timer = setTimeout(
    () =>
      out.destroy(new Error(`the client did not take the end of the answer within ${waitMs / 1000} s and was dropped`)),
    waitMs,
  );
  const taken = () => clearTimeout(timer);
  out.once('end', taken);
  out.once('close', taken);
};

const progressOf = (observation: Observation): Progress => ({
  usage: observation.usage,
  rawUsage: rawUsageOf(observation),
  outputChars: observation.outputChars,
});

/** The in-stream error message for how a stream broke. */
const breakMessage = (error: unknown, abort: AbortController, idleTimeoutMs: number): string => {
  if (error instanceof TruncatedStream) return 'Upstream stream ended before its final event';
  const reason: unknown = abort.signal.reason;
  if (reason instanceof DeadlineReached) {
    return "The request reached the gateway's time limit and was ended; the output so far is billed";
  }
  if (reason instanceof IdleTimeout) {
    return `Upstream stream stalled for ${(idleTimeoutMs / 1000).toFixed(idleTimeoutMs < 10_000 ? 1 : 0)} s and was cut`;
  }
  return 'Upstream connection failed mid-stream';
};

/**
 * Reads the upstream to its end. Each event is parsed once and fed to the usage observer; bytes go
 * to the client as they arrive — whole events unchanged, or re-framed per event by `rewriter`, which
 * reads the same parsed event and the same observation billing settles on.
 *
 * The idle timer measures the upstream only: it pauses while the client is not taking bytes. A
 * client that takes nothing for `clientTimeoutMs` is dropped, and a client that leaves stops the
 * writing, never the reading — the usage is still read and billed.
 */
const pump = async (
  body: AsyncIterable<Uint8Array>,
  out: PassThrough,
  rewriter: StreamTranslator | undefined,
  abort: AbortController,
  options: PumpOptions,
): Promise<Completion> => {
  const { idleTimeoutMs, clientTimeoutMs, progress } = options;
  const observer = streamObserver(options.upstream);
  const pendingFrames: Uint8Array[] = [];
  // Same-protocol streams pass the upstream's bytes on unchanged, except the chunk that completes
  // the event with the final usage: its events are re-framed, that one with `cost` added.
  const cost = rewriter ? undefined : options.cost;
  /** The events the current chunk completed (when priced), one of them maybe with its cost. */
  const completed: EventSourceMessage[] = [];
  let costed = false;
  const reader = createSseReader((message) => {
    const event = { event: message.event, data: parseEventData(message.data), raw: message.data };
    observer.onEvent(event);
    if (rewriter) pendingFrames.push(...rewriter.push(event, observer.observation));
    else if (cost) {
      const priced = costedEvent(options.upstream, event, observer.observation, cost);
      completed.push(priced ? { ...message, data: JSON.stringify(priced) } : message);
      if (priced) costed = true;
    }
  });
  const framer = rewriter ? undefined : eventFramer();
  /** The bytes one upstream chunk completes: the framer's, or the re-framed events when one got a cost. */
  const passOn = (value: Uint8Array): Uint8Array[] => {
    const bytes = framer?.push(value) ?? [];
    // The framer and the reader end events on the same blank lines; if they ever disagree (bytes
    // still waiting), the bytes go on unchanged, without the cost, rather than twice.
    const frames = costed && bytes.length > 0 ? completed.map((event) => sseFrame(event.data, event.event)) : bytes;
    completed.length = 0;
    costed = false;
    return frames;
  };
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(new IdleTimeout('upstream idle timeout')), idleTimeoutMs);
  };
  const clientGone = () => out.destroyed;
  const send = async (chunks: readonly Uint8Array[]) => {
    for (const chunk of chunks) {
      if (clientGone()) continue;
      if (out.write(chunk)) continue;
      clearTimeout(idle); // waiting on the client is not the upstream stalling
      if (!(await writable(out, clientTimeoutMs, abort.signal))) {
        // Dropped, as on a disconnect: the upstream is still read to its end and its usage billed
        // (past the deadline, the request settles now on what is known).
        out.destroy(
          new Error(
            abort.signal.reason instanceof DeadlineReached
              ? 'the client took no bytes when the request reached its deadline and was dropped'
              : `the client took no bytes for ${clientTimeoutMs / 1000} s and was dropped`,
          ),
        );
      }
      armIdle();
    }
  };
  let reportedAt = Date.now();
  const report = () => {
    if (!progress || Date.now() - reportedAt < progress.everyMs) return;
    reportedAt = Date.now();
    progress.report(progressOf(observer.observation));
  };
  let outcome: StreamOutcome = 'completed';
  try {
    armIdle();
    for await (const value of body) {
      armIdle();
      reader.feed(value);
      await send(rewriter ? pendingFrames.splice(0) : passOn(value));
      report();
    }
    const { observation } = observer;
    // A stream that ended without its final event (or was never SSE at all) did not complete.
    if (!observation.finished && !observation.failed) throw new TruncatedStream();
    await send(rewriter ? rewriter.end(observation) : (framer?.rest() ?? []));
  } catch (error) {
    outcome = 'upstream_error';
    const message = breakMessage(error, abort, idleTimeoutMs);
    // A partial event is dropped: the error event starts on an event boundary.
    framer?.rest();
    const failure = rewriter
      ? rewriter.fail('api_error', message, observer.observation)
      : [streamError(options.client, 'api_error', message, observer.observation.lastSequenceNumber)];
    await send(failure);
  } finally {
    clearTimeout(idle);
    if (!clientGone()) {
      out.end();
      dropIfNotTaken(out, clientTimeoutMs, options.deadlineAt);
    }
  }
  const { observation } = observer;
  // The upstream's own in-stream error ends the answer early: it did not complete.
  if (outcome === 'completed' && observation.failed) outcome = 'upstream_error';
  if (outcome === 'completed' && clientGone()) outcome = 'client_disconnected';
  return { outcome, ...progressOf(observation), endedAt: Date.now() };
};
