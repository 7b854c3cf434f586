import { type AttributeValue, DynamoDBClient, type DynamoDBClientConfig } from './sdk/client-dynamodb.ts';
import { DynamoDBDocumentClient } from './sdk/lib-dynamodb.ts';
import { NumberValueImpl as NumberValue, unmarshall } from './sdk/util-dynamodb.ts';

/** What a call that hit its deadline throws is recognised by (for callers that may not import errors.ts). */
export { isDatabaseTimeout } from '../errors.ts';

export interface DynamoOptions {
  /** DynamoDB Local's URL; absent on AWS. */
  endpoint?: string;
  region?: string;
  /** Each attempt's deadline in ms (connect, response headers, socket idle); see {@link databaseDeadlineMs}. */
  attemptTimeoutMs?: number;
}

/** Attempts per DynamoDB call: one retry, so a stalled database costs at most two attempt timeouts. */
export const DYNAMODB_MAX_ATTEMPTS = 2;
/** `TOLLGATE_DYNAMODB_TIMEOUT`'s default: each attempt may take 2.5 s. */
export const DEFAULT_DYNAMODB_ATTEMPT_TIMEOUT_MS = 2_500;
/**
 * The SDK's longest wait before its retry (standard mode, @smithy/core retry): a random share of
 * 1 s after throttling, of 50 ms after anything else.
 */
const MAX_RETRY_BACKOFF_MS = 1_000;

/**
 * How long a DynamoDB call may take before it throws, at most: every attempt's timeout plus the
 * backoff before the retry. With the defaults, 2 × 2.5 s + 1 s = 6 s.
 */
export const databaseDeadlineMs = ({ attemptTimeoutMs = DEFAULT_DYNAMODB_ATTEMPT_TIMEOUT_MS }: DynamoOptions = {}) =>
  DYNAMODB_MAX_ATTEMPTS * attemptTimeoutMs + (DYNAMODB_MAX_ATTEMPTS - 1) * MAX_RETRY_BACKOFF_MS;

/**
 * The low-level client's configuration: a real deadline on every call. `throwOnRequestTimeout` makes
 * the request timeout throw (without it the Node handler only logs a warning and waits on); the
 * socket timeout bounds a response whose body stalls after its headers. Timeouts throw a
 * `TimeoutError`, which the SDK retries once.
 */
export const dynamoClientConfig = ({
  endpoint,
  region,
  attemptTimeoutMs = DEFAULT_DYNAMODB_ATTEMPT_TIMEOUT_MS,
}: DynamoOptions = {}): DynamoDBClientConfig => {
  const config: DynamoDBClientConfig = {
    region: region ?? process.env['AWS_REGION'] ?? 'us-east-1',
    requestHandler: {
      connectionTimeout: Math.min(attemptTimeoutMs, 2_000),
      requestTimeout: attemptTimeoutMs,
      socketTimeout: attemptTimeoutMs,
      throwOnRequestTimeout: true,
    },
    maxAttempts: DYNAMODB_MAX_ATTEMPTS,
  };
  if (endpoint) {
    config.endpoint = endpoint;
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return config;
};

/**
 * One document client per process, keep-alive on, every call bounded by {@link databaseDeadlineMs}.
 * Locally it points at DynamoDB Local with throwaway credentials (DynamoDB Local accepts any).
 */
export const createDocumentClient = (options: DynamoOptions = {}): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(dynamoClientConfig(options)), {
    marshallOptions: { removeUndefinedValues: true },
  });

/** Reads `TOLLGATE_DYNAMODB_ENDPOINT`, `AWS_REGION` and `TOLLGATE_DYNAMODB_TIMEOUT` (seconds per attempt). */
export const dynamoOptionsFromEnv = (env: NodeJS.ProcessEnv = process.env): DynamoOptions => {
  const options: DynamoOptions = {};
  if (env['TOLLGATE_DYNAMODB_ENDPOINT']) options.endpoint = env['TOLLGATE_DYNAMODB_ENDPOINT'];
  if (env['AWS_REGION']) options.region = env['AWS_REGION'];
  const timeout = env['TOLLGATE_DYNAMODB_TIMEOUT'];
  if (timeout !== undefined && timeout.trim() !== '') {
    const seconds = Number(timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new RangeError(`TOLLGATE_DYNAMODB_TIMEOUT: expected a number of seconds > 0, got '${timeout}'`);
    }
    options.attemptTimeoutMs = seconds * 1000;
  }
  return options;
};

/**
 * Unmarshalls an item read with a plain (non-document) command, every number kept as its exact
 * decimal text in a {@link NumberValue}: nothing passes through a JS `number` on the way. Send the
 * plain command (`GetItemCommand`, `QueryCommand` of `@aws-sdk/client-dynamodb`) through the
 * document client as is; the document client's own reads turn large numbers into rounded ones.
 */
export const unmarshallExact = (item: Record<string, AttributeValue>): Record<string, unknown> =>
  unmarshall(item, { wrapNumbers: true });

const INTEGER = /^-?\d+$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The decimal text of a DynamoDB number as {@link unmarshallExact} reads it, or undefined for a non-number. */
export const numberText = (value: unknown): string | undefined => {
  if (value instanceof NumberValue) return value.value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
};

/**
 * The JS number a DynamoDB number stands for when it is an integer a JS number holds exactly
 * (|n| ≤ 2^53 − 1); undefined for anything else (a fraction, a larger integer, a non-number), which
 * callers refuse rather than round.
 */
export const safeInteger = (value: unknown): number | undefined => {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  const text = numberText(value);
  if (text === undefined || !INTEGER.test(text)) return undefined;
  const exact = BigInt(text);
  return exact > MAX_SAFE || exact < -MAX_SAFE ? undefined : Number(exact);
};

/**
 * A value read by {@link unmarshallExact} with every number turned back into a JS number, for
 * free-form data that is no amount (an upstream's raw usage, kept as it came).
 */
export const plainNumbers = (value: unknown): unknown => {
  if (value instanceof NumberValue) return Number(value.value);
  if (Array.isArray(value)) return value.map(plainNumbers);
  if (value instanceof Set) return new Set([...value].map(plainNumbers));
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plainNumbers(inner)]));
  }
  return value;
};
