import type { Usage } from '../vocabulary.ts';
import type { EventSourceMessage, UpstreamEvent } from './sse.ts';
import { sseFrame } from './sse.ts';
import { count } from './usage.ts';
import * as zm from './zod.ts';

/**
 * What Tollgate needs of an OpenAI Responses request; every other field passes through as sent.
 * `input` is optional because OpenAI accepts a request built from a stored `prompt` alone.
 * https://platform.openai.com/docs/api-reference/responses/create
 */
export const ResponsesRequest = zm.looseObject({
  model: zm.optional(zm.nonEmpty()),
  input: zm.optional(zm.union([zm.string(), zm.array(zm.looseObject({}))])),
  stream: zm.nullish(zm.boolean()),
  max_output_tokens: zm.nullish(zm.positiveInt()),
});
export type ResponsesRequest = zm.z.infer<typeof ResponsesRequest>;

interface ResponsesUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  input_tokens_details?: { cached_tokens?: unknown } | null;
  output_tokens_details?: { reasoning_tokens?: unknown } | null;
}

/**
 * Responses usage → Tollgate's usage. `input_tokens` includes `input_tokens_details.cached_tokens`
 * (split so each is priced once); `output_tokens` already includes the reasoning tokens.
 *
 * @example
 * usageFromOpenAIResponses({ input_tokens: 110, input_tokens_details: { cached_tokens: 100 }, output_tokens: 20 });
 * // { inputTokens: 10, outputTokens: 20, cacheReadTokens: 100, cacheWriteTokens: 0 }
 */
export const usageFromOpenAIResponses = (usage: ResponsesUsage): Usage => {
  const cached = count(usage.input_tokens_details?.cached_tokens);
  return {
    inputTokens: Math.max(0, count(usage.input_tokens) - cached),
    outputTokens: count(usage.output_tokens),
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
  };
};

/** Reasoning tokens, a share of `output_tokens`, where the upstream reports them. */
export const reasoningTokensFromOpenAIResponses = (usage: ResponsesUsage): number =>
  count(usage.output_tokens_details?.reasoning_tokens);

/** The lifecycle events whose `response` carries the final usage. */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * Reads the usage a Responses stream reports: the `response.usage` of its final event
 * (`response.completed`, `response.incomplete` or `response.failed`); undefined for every other event.
 *
 * @example
 * const reader = createSseReader((event) => {
 *   usage = observeResponsesEvent(event, parseEventData(event.data)) ?? usage;
 * });
 */
export const observeResponsesEvent = (
  event: EventSourceMessage | UpstreamEvent,
  data: Record<string, unknown> | undefined,
): Usage | undefined => {
  const type = typeof data?.['type'] === 'string' ? data['type'] : event.event;
  if (type === undefined || !FINAL_EVENTS.has(type)) return undefined;
  const response = data?.['response'] as { usage?: unknown } | undefined;
  const usage = response?.usage;
  return usage && typeof usage === 'object' ? usageFromOpenAIResponses(usage as ResponsesUsage) : undefined;
};

const length = (value: unknown): number => (typeof value === 'string' ? value.length : 0);

/** Delta events whose `delta` is generated text, tool arguments or reasoning. */
const DELTA_EVENTS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
]);

/** Characters generated in one Responses stream event: the fallback measure when no usage comes. */
export const responsesEventChars = (data: Record<string, unknown> | undefined): number =>
  data && typeof data['type'] === 'string' && DELTA_EVENTS.has(data['type']) ? length(data['delta']) : 0;

/** Characters generated in a whole `response` object (text, refusals, tool arguments, reasoning). */
export const responsesBodyChars = (json: Record<string, unknown> | undefined): number => {
  let chars = 0;
  for (const item of (json?.['output'] as Record<string, unknown>[] | undefined) ?? []) {
    chars += length(item['arguments']) + length(item['input']);
    for (const part of [
      ...((item['content'] as Record<string, unknown>[] | undefined) ?? []),
      ...((item['summary'] as Record<string, unknown>[] | undefined) ?? []),
    ]) {
      chars += length(part['text']) + length(part['refusal']);
    }
  }
  return chars;
};

/**
 * The in-stream `error` event an OpenAI Responses client raises as an APIError. Responses events are
 * numbered: pass the next `sequence_number` (one above the last event the client received).
 *
 * @example responsesStreamError('api_error', 'Upstream connection failed', 42);
 */
export const responsesStreamError = (type: string, message: string, sequenceNumber: number): Uint8Array =>
  sseFrame(
    JSON.stringify({ type: 'error', code: type, message, param: null, sequence_number: sequenceNumber }),
    'error',
  );
