import type { Usage } from '../vocabulary.ts';
import type { EventSourceMessage, UpstreamEvent } from './sse.ts';
import { sseFrame } from './sse.ts';
import { count } from './usage.ts';
import * as zm from './zod.ts';

/**
 * What Tollgate needs of an OpenAI Chat Completions request; every other field passes through as sent.
 * https://platform.openai.com/docs/api-reference/chat/create
 */
export const ChatCompletionRequest = zm.looseObject({
  model: zm.optional(zm.nonEmpty()),
  messages: zm.messageList(),
  stream: zm.nullish(zm.boolean()),
  max_tokens: zm.nullish(zm.positiveInt()),
  max_completion_tokens: zm.nullish(zm.positiveInt()),
  stream_options: zm.nullish(zm.looseObject({ include_usage: zm.optional(zm.boolean()) })),
});
export type ChatCompletionRequest = zm.z.infer<typeof ChatCompletionRequest>;

/** What Tollgate needs of an OpenAI Embeddings request. https://platform.openai.com/docs/api-reference/embeddings */
export const EmbeddingsRequest = zm.looseObject({
  model: zm.optional(zm.nonEmpty()),
  input: zm.union([zm.string(), zm.nonEmptyList(zm.union([zm.string(), zm.number(), zm.array(zm.number())]))]),
});
export type EmbeddingsRequest = zm.z.infer<typeof EmbeddingsRequest>;

interface OpenAIUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown; cache_write_tokens?: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: unknown } | null;
  /** DeepSeek's name for cache hits. */
  prompt_cache_hit_tokens?: unknown;
}

/**
 * `prompt_tokens` includes the cached tokens (and, on upstreams that report them, cache writes):
 * split them out so each token is priced once.
 */
export const usageFromOpenAIChat = (usage: OpenAIUsage): Usage => {
  const cached = count(usage.prompt_tokens_details?.cached_tokens) || count(usage.prompt_cache_hit_tokens);
  const written = count(usage.prompt_tokens_details?.cache_write_tokens);
  return {
    inputTokens: Math.max(0, count(usage.prompt_tokens) - cached - written),
    outputTokens: count(usage.completion_tokens),
    cacheReadTokens: cached,
    cacheWriteTokens: written,
  };
};

/** Reasoning tokens, a share of `completion_tokens`, where the upstream reports them. */
export const reasoningTokensFromOpenAIChat = (usage: OpenAIUsage): number =>
  count(usage.completion_tokens_details?.reasoning_tokens);

/** Reads the usage a Chat Completions stream reports (its usage chunk), if it reports one. */
export const observeOpenAIChatEvent = (
  event: EventSourceMessage | UpstreamEvent,
  data: Record<string, unknown> | undefined,
): Usage | undefined => {
  if (event.event !== undefined && event.event !== 'message') return undefined;
  const usage = data?.['usage'];
  return usage && typeof usage === 'object' ? usageFromOpenAIChat(usage as OpenAIUsage) : undefined;
};

/** The in-stream error event an OpenAI client raises as an APIError. */
export const openAIStreamError = (type: string, message: string): Uint8Array =>
  sseFrame(JSON.stringify({ error: { message, type, param: null, code: null } }));
