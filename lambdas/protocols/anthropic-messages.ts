import type { Usage } from '../vocabulary.ts';
import { sseFrame, type UpstreamEvent } from './sse.ts';
import { count } from './usage.ts';
import * as zm from './zod.ts';

/**
 * What Tollgate needs of an Anthropic Messages request; every other field passes through as sent.
 * https://docs.anthropic.com/en/api/messages
 */
export const MessagesRequest = zm.looseObject({
  model: zm.optional(zm.nonEmpty()),
  messages: zm.messageList(),
  max_tokens: zm.positiveInt(),
  stream: zm.optional(zm.boolean()),
});
export type MessagesRequest = zm.z.infer<typeof MessagesRequest>;

/** What Tollgate needs of a count_tokens request (no max_tokens: nothing is generated). */
export const CountTokensRequest = zm.looseObject({
  model: zm.optional(zm.nonEmpty()),
  messages: zm.messageList(),
});
export type CountTokensRequest = zm.z.infer<typeof CountTokensRequest>;

/** Anthropic's usage object (a response's `usage`, a stream's `message_start` and `message_delta` usage). */
export interface AnthropicUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  output_tokens_details?: unknown;
}

/** `input_tokens` already excludes cache reads and writes. */
export const usageFromAnthropic = (usage: AnthropicUsage): Usage => ({
  inputTokens: count(usage.input_tokens),
  outputTokens: count(usage.output_tokens),
  cacheReadTokens: count(usage.cache_read_input_tokens),
  cacheWriteTokens: count(usage.cache_creation_input_tokens),
});

/** Thinking tokens, a share of `output_tokens`, where the upstream reports them (`output_tokens_details`). */
export const reasoningTokensFromAnthropic = (usage: AnthropicUsage): number =>
  count((usage.output_tokens_details as { thinking_tokens?: unknown } | null | undefined)?.thinking_tokens);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A Messages stream event's type: its SSE `event:` name (Anthropic always sends one), else its data's `type`. */
export const anthropicEventType = ({ event, data }: UpstreamEvent): string | undefined =>
  event ?? (typeof data?.['type'] === 'string' ? data['type'] : undefined);

/** The usage object a Messages stream event carries: `message_start`'s `message.usage`, `message_delta`'s `usage`. */
export const anthropicEventUsage = (event: UpstreamEvent): AnthropicUsage | undefined => {
  const type = anthropicEventType(event);
  const usage =
    type === 'message_start' && isObject(event.data?.['message'])
      ? event.data['message']['usage']
      : type === 'message_delta'
        ? event.data?.['usage']
        : undefined;
  return isObject(usage) ? usage : undefined;
};

const USAGE_COUNTS = [
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
] as const;

/**
 * Folds one usage object of a Messages stream into the usage known so far: `message_start` carries
 * the input side, `message_delta` cumulative counts. Later counts win field by field; a count absent
 * or null leaves the known one (as the Anthropic SDK's `MessageStream` reads them).
 *
 * @example
 * mergeAnthropicUsage({ input_tokens: 12, output_tokens: 1 }, { input_tokens: null, output_tokens: 40 });
 * // { input_tokens: 12, output_tokens: 40 }
 */
export const mergeAnthropicUsage = (known: AnthropicUsage | undefined, next: AnthropicUsage): AnthropicUsage => {
  const merged: AnthropicUsage = { ...known };
  for (const key of USAGE_COUNTS) if (typeof next[key] === 'number') merged[key] = next[key];
  if (isObject(next.output_tokens_details)) merged.output_tokens_details = next.output_tokens_details;
  return merged;
};

/** The in-stream error event an Anthropic client raises as an APIError. */
export const anthropicStreamError = (type: string, message: string): Uint8Array =>
  sseFrame(JSON.stringify({ type: 'error', error: { type, message } }), 'error');
