/**
 * The error contract (DESIGN §5). One subclass a row; {@link renderError} writes any of them in the
 * client's protocol envelope. Upstream errors are carried as they came ({@link UpstreamError}).
 */
import type { Protocol } from './vocabulary.ts';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'configuration_error'
  | 'api_error';

export abstract class GatewayError extends Error {
  abstract readonly status: number;
  abstract readonly type: ErrorType;
  /** OpenAI-envelope extras, where they help a client. */
  code?: string;
  param?: string;
  headers: Record<string, string> = {};
}

export class InvalidRequestError extends GatewayError {
  readonly status: number = 400;
  readonly type = 'invalid_request_error';
}
export class PayloadTooLargeError extends InvalidRequestError {
  override readonly status = 413;
}
export class AuthenticationError extends GatewayError {
  readonly status = 401;
  readonly type = 'authentication_error';
  constructor(message = 'Invalid or missing API key') {
    super(message);
  }
}
export class BillingError extends GatewayError {
  readonly status = 402;
  readonly type = 'billing_error';
}
export class PermissionError extends GatewayError {
  readonly status = 403;
  readonly type = 'permission_error';
}
export class NotFoundError extends GatewayError {
  readonly status = 404;
  readonly type = 'not_found_error';
}
export class RateLimitError extends GatewayError {
  readonly status = 429;
  readonly type = 'rate_limit_error';
}

/** What an operator must fix; reported, and never blamed on the client's key. */
export type ConfigurationErrorKind =
  | 'missing_credential'
  | 'unknown_provider'
  | 'bad_base_url'
  | 'bad_credential_name'
  | 'refused_address'
  | 'missing_price'
  | 'upstream_auth'
  | 'upstream_model_not_found'
  /** A Stripe webhook event that could not be credited (not USD, unknown account, a failure). */
  | 'payment_webhook';

export class ConfigurationError extends GatewayError {
  readonly status = 500;
  readonly type = 'configuration_error';
  readonly kind: ConfigurationErrorKind;
  readonly model: string;
  /** What the operator should do; goes into the report, not to the client. */
  readonly hint: string;

  constructor(kind: ConfigurationErrorKind, model: string, message: string, hint: string) {
    super(message);
    this.kind = kind;
    this.model = model;
    this.hint = hint;
  }
}

/** The upstream could not be reached, or broke before its response started. */
export class UpstreamConnectionError extends GatewayError {
  readonly status = 502;
  readonly type = 'api_error';
  constructor(cause?: unknown) {
    super('Upstream connection failed', { cause });
  }
}

/** The gateway's own database could not answer (DynamoDB down, throttled or unreachable). */
export class ServiceUnavailableError extends GatewayError {
  readonly status = 503;
  readonly type = 'api_error';
  constructor(cause?: unknown) {
    super("The gateway's database is unavailable right now; nothing was charged. Retry shortly.", { cause });
    this.headers['retry-after'] = '5';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/** The names a timed-out DynamoDB call throws with: the Node handler's deadlines, DynamoDB's own. */
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/**
 * A DynamoDB call that hit its deadline (store/client.ts): a connection, request or socket timeout,
 * or a {@link ServiceUnavailableError} caused by one.
 */
export const isDatabaseTimeout = (error: unknown): boolean => {
  if (error instanceof ServiceUnavailableError) return isDatabaseTimeout(error.cause);
  if (error === null || typeof error !== 'object') return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (typeof name === 'string' && TIMEOUT_NAMES.has(name)) || code === 'ETIMEDOUT';
};

/** An AWS SDK service error, or a network failure reaching it: the store is unavailable, not the request wrong. */
const isStoreFailure = (error: unknown): boolean => {
  if (error === null || typeof error !== 'object') return false;
  const { $metadata, code, name } = error as { $metadata?: unknown; code?: unknown; name?: unknown };
  return (
    $metadata !== undefined ||
    (typeof code === 'string' && NETWORK_CODES.has(code)) ||
    (typeof name === 'string' && TIMEOUT_NAMES.has(name))
  );
};

/** Anything we did not expect: rendered generically, the original kept as `cause` for the logs. */
export class InternalError extends GatewayError {
  readonly status = 500;
  readonly type = 'api_error';
  constructor(cause?: unknown) {
    super('Internal error', { cause });
  }
}

/** An upstream's own error response, forwarded with its status, body and rate-limit headers. */
export class UpstreamError extends Error {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;

  constructor(status: number, body: string, headers: Record<string, string>) {
    super(`Upstream answered ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

export interface RenderedError {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Headers of an upstream error worth passing on (`retry-after` above all). */
export const FORWARDED_ERROR_HEADERS = [
  'content-type',
  'retry-after',
  'retry-after-ms',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'anthropic-ratelimit-requests-limit',
  'anthropic-ratelimit-requests-remaining',
  'anthropic-ratelimit-requests-reset',
  'anthropic-ratelimit-tokens-limit',
  'anthropic-ratelimit-tokens-remaining',
  'anthropic-ratelimit-tokens-reset',
  'request-id',
  'x-request-id',
] as const;

export const toGatewayError = (error: unknown): GatewayError | UpstreamError => {
  if (error instanceof GatewayError || error instanceof UpstreamError) return error;
  return isStoreFailure(error) ? new ServiceUnavailableError(error) : new InternalError(error);
};

/** The JSON body of an error in the client's protocol. */
export const errorBody = (error: GatewayError, protocol: Protocol): Record<string, unknown> => {
  if (protocol === 'anthropic') {
    return { type: 'error', error: { type: error.type, message: error.message } };
  }
  const inner: Record<string, unknown> = { message: error.message, type: error.type };
  inner['param'] = error.param ?? null;
  inner['code'] = error.code ?? null;
  return { error: inner };
};

/** Renders any thrown value as an HTTP response in the client's protocol envelope. */
export const renderError = (thrown: unknown, protocol: Protocol): RenderedError => {
  const error = toGatewayError(thrown);
  if (error instanceof UpstreamError) {
    return {
      statusCode: error.status,
      headers: { 'content-type': 'application/json', ...error.headers },
      body: error.body,
    };
  }
  return {
    statusCode: error.status,
    headers: { 'content-type': 'application/json', ...error.headers },
    body: JSON.stringify(errorBody(error, protocol)),
  };
};
