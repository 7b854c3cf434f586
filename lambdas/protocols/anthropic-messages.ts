import type { Usage } from '../vocabulary.ts';
import type { EventSourceMessage } from './sse.ts';
import { sseFrame } from './sse.ts';
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

interface AnthropicUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
}

/** `input_tokens` already excludes cache reads and writes. */
export const usageFromAnthropic = (usage: AnthropicUsage): Usage => ({
  inputTokens: count(usage.input_tokens),
  outputTokens: count(usage.output_tokens),
  cacheReadTokens: count(usage.cache_read_input_tokens),
  cacheWriteTokens: count(usage.cache_creation_input_tokens),
});

/**
 * Folds one Messages stream event into the usage known so far: `message_start` carries the input
 * side, `message_delta` the cumulative output (and, on some upstreams, updated input counts).
 */
export const observeAnthropicEvent = (
  event: EventSourceMessage,
  data: Record<string, unknown> | undefined,
  known: Usage | undefined,
): Usage | undefined => {
  if (event.event === 'message_start') {
    const message = data?.message as { usage?: AnthropicUsage } | undefined;
    return message?.usage ? usageFromAnthropic(message.usage) : known;
  }
  if (event.event === 'message_delta') {
    const usage = data?.usage as AnthropicUsage | undefined;
    if (!usage) return known;
    const delta = usageFromAnthropic(usage);
    const base = known ?? delta;
    return {
      inputTokens: usage.input_tokens === undefined ? base.inputTokens : delta.inputTokens,
      outputTokens: delta.outputTokens,
      cacheReadTokens: usage.cache_read_input_tokens === undefined ? base.cacheReadTokens : delta.cacheReadTokens,
      cacheWriteTokens:
        usage.cache_creation_input_tokens === undefined ? base.cacheWriteTokens : delta.cacheWriteTokens,
    };
  }
  return known;
};

/** The in-stream error event an Anthropic client raises as an APIError. */
export const anthropicStreamError = (type: string, message: string): Uint8Array =>
  sseFrame(JSON.stringify({ type: 'error', error: { type, message } }), 'error');
