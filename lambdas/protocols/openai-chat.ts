import { z } from 'zod';
import type { EventSourceMessage } from './sse.ts';
import { sseFrame } from './sse.ts';
import { count, type Usage } from './usage.ts';

const positiveInt = z.number().int().positive();

/**
 * What Tollgate needs of an OpenAI Chat Completions request; every other field passes through as sent.
 * https://platform.openai.com/docs/api-reference/chat/create
 */
export const ChatCompletionRequest = z.looseObject({
  model: z.string().min(1).optional(),
  messages: z.array(z.looseObject({ role: z.string() })).min(1),
  stream: z.boolean().nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** What Tollgate needs of an OpenAI Embeddings request. https://platform.openai.com/docs/api-reference/embeddings */
export const EmbeddingsRequest = z.looseObject({
  model: z.string().min(1).optional(),
  input: z.union([z.string(), z.array(z.union([z.string(), z.number(), z.array(z.number())])).min(1)]),
});

interface OpenAIUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown; cache_write_tokens?: unknown } | null;
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

/** Reads the usage a Chat Completions stream reports (its usage chunk), if it reports one. */
export const observeOpenAIChatEvent = (
  event: EventSourceMessage,
  data: Record<string, unknown> | undefined,
): Usage | undefined => {
  if (event.event !== undefined && event.event !== 'message') return undefined;
  const usage = data?.usage;
  return usage && typeof usage === 'object' ? usageFromOpenAIChat(usage as OpenAIUsage) : undefined;
};

/** The in-stream error event an OpenAI client raises as an APIError. */
export const openAIStreamError = (type: string, message: string): Uint8Array =>
  sseFrame(JSON.stringify({ error: { message, type, param: null, code: null } }));
