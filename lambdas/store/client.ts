import { type AttributeValue, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NumberValueImpl as NumberValue, unmarshall } from '@aws-sdk/util-dynamodb';

export interface DynamoOptions {
  /** DynamoDB Local's URL; absent on AWS. */
  endpoint?: string;
  region?: string;
}

/**
 * One document client per process, keep-alive on. Locally it points at DynamoDB Local with
 * throwaway credentials (DynamoDB Local accepts any).
 */
export const createDocumentClient = ({ endpoint, region }: DynamoOptions = {}): DynamoDBDocumentClient => {
  const config: DynamoDBClientConfig = {
    region: region ?? process.env['AWS_REGION'] ?? 'us-east-1',
    // The SDK's Node handler keeps connections alive by default; bound how long a call may hang.
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
    maxAttempts: 3,
  };
  if (endpoint) {
    config.endpoint = endpoint;
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
};

export const dynamoOptionsFromEnv = (env: NodeJS.ProcessEnv = process.env): DynamoOptions => {
  const options: DynamoOptions = {};
  if (env['TOLLGATE_DYNAMODB_ENDPOINT']) options.endpoint = env['TOLLGATE_DYNAMODB_ENDPOINT'];
  if (env['AWS_REGION']) options.region = env['AWS_REGION'];
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
