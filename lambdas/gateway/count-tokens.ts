import { ESTIMATE_CHARS_PER_TOKEN } from './billing.ts';

/**
 * `POST /v1/messages/count_tokens` for a route whose upstream cannot count: a documented local
 * estimate of one token per 4 characters of the system prompt, messages and tools as JSON. It costs
 * no network and no database call, so agents may call it many times a second at start-up.
 */
export const estimateCountTokens = (body: Record<string, unknown>): { input_tokens: number } => {
  const counted = JSON.stringify([body['system'] ?? '', body['messages'] ?? [], body['tools'] ?? []]);
  return { input_tokens: Math.max(1, Math.ceil(counted.length / ESTIMATE_CHARS_PER_TOKEN)) };
};
