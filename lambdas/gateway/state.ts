import type { Operation, Protocol, Route } from '../vocabulary.ts';
import type { Authenticated } from './auth.ts';
import type { HoldHandle } from './billing.ts';
import type { Forwarded } from './forward.ts';

/** What the client asked for, by method and path. */
export type Endpoint = Operation | 'models' | 'wallet' | 'health';

const OPERATIONS: ReadonlySet<string> = new Set<Operation>([
  'chat',
  'messages',
  'responses',
  'embeddings',
  'count_tokens',
]);

/** Endpoints that call an upstream (everything but models, wallet and health). */
export const isOperation = (endpoint: Endpoint | undefined): endpoint is Operation =>
  endpoint !== undefined && OPERATIONS.has(endpoint);

/** Per-request state the middlewares build up, in one typed place. */
export interface GatewayState {
  requestId: string;
  startedAt: number;
  /** `performance.now()` when the request reached the handler chain, for overhead accounting. */
  startedPerf: number;
  /** The envelope errors are answered in. */
  protocol: Protocol;
  endpoint?: Endpoint;
  auth?: Authenticated;
  body?: Record<string, unknown>;
  /** The body as sent, for the hold's input estimate. */
  bodyText?: string;
  route?: Route;
  /** Routes to try, in order, when the chosen one's upstream fails before the first byte. */
  fallbacks?: Route[];
  hold?: HoldHandle;
  /** The route whose upstream answered (a fallback, or `route`). */
  answeredBy?: Route;
  forwarded?: Forwarded;
  /** The error the request failed with, if it did (the settle needs to know). */
  failure?: unknown;
  /** The status answered to the client. */
  status?: number;
  /** The gateway's own time on the request (see `x-tollgate-overhead-ms`). */
  overheadMs?: number;
}

const states = new WeakMap<object, GatewayState>();

/** The state of the invocation a Lambda context belongs to. */
export const stateOf = (context: object): GatewayState => {
  const state = states.get(context);
  if (!state) throw new Error('request state read before the request-context middleware ran');
  return state;
};

/** The state, or undefined when the request never got as far as opening it. */
export const peekState = (context: object): GatewayState | undefined => states.get(context);

export const setState = (context: object, state: GatewayState): GatewayState => {
  states.set(context, state);
  return state;
};
