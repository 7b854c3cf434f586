import {
  array,
  boolean,
  enum as enum_,
  int,
  looseObject,
  minimum,
  number,
  optional,
  positive,
  safeParse,
  string,
} from 'zod/mini';
import type { KeyRecord, Route } from '../vocabulary.ts';

/** A stored key or route that is not the shape the gateway wrote: named, never used half-read. */
export class MalformedRecordError extends Error {}

const count = () => number().check(int(), minimum(0));
const positiveCount = () => number().check(int(), positive());

const PRICES = looseObject({
  input: count(),
  output: count(),
  cacheRead: optional(count()),
  cacheWrite: optional(count()),
});

const ROUTE = looseObject({
  model: string(),
  provider: string(),
  upstreamModel: optional(string()),
  baseUrl: optional(string()),
  credential: optional(string()),
  allowHttp: optional(boolean()),
  allowPrivate: optional(boolean()),
  prices: PRICES,
  defaultMaxTokens: optional(positiveCount()),
  fallbacks: optional(array(string())),
  createdAt: optional(string()),
  updatedAt: optional(string()),
});

const KEY = looseObject({
  keyHash: string(),
  keyId: string(),
  accountId: string(),
  name: optional(string()),
  models: optional(array(string())),
  expiresAt: optional(string()),
  revokedAt: optional(string()),
  createdAt: string(),
  prefix: string(),
  rpm: optional(positiveCount()),
  tpm: optional(positiveCount()),
  spendLimit: optional(positiveCount()),
  limitReset: optional(enum_(['daily', 'weekly', 'monthly', 'never'])),
});

/** What is wrong with an item, as "field: problem" pairs. */
const problems = (issues: readonly { path: readonly PropertyKey[]; message: string }[]): string =>
  issues.map((issue) => `${issue.path.map(String).join('.') || '(item)'}: ${issue.message}`).join('; ');

/**
 * A route row as the routes table holds it, checked field by field.
 *
 * @example parseRoute(Item, 'gpt-4o') // a Route, or throws MalformedRecordError naming the field
 */
export const parseRoute = (item: unknown, model: string): Route => {
  const parsed = safeParse(ROUTE, item);
  if (!parsed.success)
    throw new MalformedRecordError(`Route '${model}' is malformed: ${problems(parsed.error.issues)}`);
  // Checked above; DynamoDB items never hold `undefined`, so the optional fields are absent, not undefined.
  return parsed.data as Route;
};

/** A key row as the keys table holds it, checked field by field (the error names the key id, never its hash). */
export const parseKey = (item: unknown): KeyRecord => {
  const parsed = safeParse(KEY, item);
  if (!parsed.success) {
    const keyId = (item as { keyId?: unknown } | undefined)?.keyId;
    throw new MalformedRecordError(`Key '${String(keyId)}' is malformed: ${problems(parsed.error.issues)}`);
  }
  return parsed.data as KeyRecord;
};
