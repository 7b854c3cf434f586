import type { CountTokensRequest, MessagesRequest } from '../protocols/anthropic-messages.ts';
import type { ChatCompletionRequest, EmbeddingsRequest } from '../protocols/openai-chat.ts';
import type { ResponsesRequest } from '../protocols/openai-responses.ts';
import type { Operation, Protocol, Route } from '../vocabulary.ts';
import type { Authenticated } from './auth.ts';
import type { Exchange } from './exchange.ts';
import type { SpendTerms } from './spend-guard.ts';

/** What the client asked for, by method and path. */
export type Endpoint = Operation | 'models' | 'wallet' | 'key' | 'generation' | 'health';

const OPERATIONS: ReadonlySet<string> = new Set<Operation>([
  'chat',
  'messages',
  'responses',
  'embeddings',
  'count_tokens',
]);

/** Endpoints that call an upstream (everything but models, wallet and health). */
export const isOperation = (endpoint: Endpoint): endpoint is Operation => OPERATIONS.has(endpoint);

/** A validated request body, typed by the schema of its endpoint (parse-body's output). */
export type ParsedRequest = { text: string } & (
  | { operation: 'chat'; body: ChatCompletionRequest }
  | { operation: 'messages'; body: MessagesRequest }
  | { operation: 'responses'; body: ResponsesRequest }
  | { operation: 'embeddings'; body: EmbeddingsRequest }
  | { operation: 'count_tokens'; body: CountTokensRequest }
);

/** Where a request goes (route-request's output): the chosen route and, in order, its fallbacks. */
export interface Routing {
  route: Route;
  /** Routes to try when the chosen one's upstream fails before the first byte; all allowed for the key. */
  fallbacks: readonly Route[];
}

/**
 * One request's state, in one typed place. The first five fields exist from the start; each later
 * one is the output of one middleware, in chain order (authenticate → parse-body → route-request →
 * guard-spend → the exchange). A stage reads what it needs through {@link required}, so a chain wired in the
 * wrong order fails loudly instead of skipping a check.
 */
export interface GatewayState {
  requestId: string;
  startedAt: number;
  /** `performance.now()` when the request reached the handler chain, for overhead accounting. */
  startedPerf: number;
  /** The envelope errors are answered in. */
  protocol: Protocol;
  endpoint: Endpoint;
  auth?: Authenticated;
  request?: ParsedRequest;
  routing?: Routing;
  /** The output cap and the client fields allowed to reach the upstream (guard-spend). */
  spend?: SpendTerms;
  /** The request's life after routing (hold → forward → stream → settle); absent for other endpoints. */
  exchange?: Exchange;
  /** Set when an answered exchange's metrics are recorded as it ends (app.ts); `requestEnd` waits for it. */
  recorded?: Promise<void>;
  /** The error the request was answered with, if any (for logs and metrics). */
  failure?: unknown;
  /** The status answered to the client. */
  status?: number;
}

type Stage = 'auth' | 'request' | 'routing' | 'spend';

/**
 * A stage's output that an earlier middleware must have produced. Throws (a 500, logged) when the
 * chain is wired in the wrong order — never silently skips.
 *
 * @example const { route } = required(state, 'routing', 'rate-limit');
 */
export const required = <S extends Stage>(
  state: GatewayState,
  stage: S,
  reader: string,
): NonNullable<GatewayState[S]> => {
  const value = state[stage];
  if (value === undefined) throw new Error(`${reader} ran before the middleware that sets '${stage}'`);
  return value as NonNullable<GatewayState[S]>;
};

const states = new WeakMap<object, GatewayState>();

/** The state of the invocation a Lambda context belongs to. */
export const stateOf = (context: object): GatewayState => {
  const state = states.get(context);
  if (!state) throw new Error('request state read before the request-context middleware ran');
  return state;
};

/** The state, or undefined when the request never got as far as opening it (an unknown path). */
export const peekState = (context: object): GatewayState | undefined => states.get(context);

export const setState = (context: object, state: GatewayState): GatewayState => {
  states.set(context, state);
  return state;
};
