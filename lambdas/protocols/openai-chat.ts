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

interface OpenAIUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
}

/** `prompt_tokens` includes `cached_tokens`: split them so each is priced once. */
export const usageFromOpenAIChat = (usage: OpenAIUsage): Usage => {
  const cached = count(usage.prompt_tokens_details?.cached_tokens);
  return {
    inputTokens: Math.max(0, count(usage.prompt_tokens) - cached),
    outputTokens: count(usage.completion_tokens),
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
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
