import type { Operation, Usage } from '../vocabulary.ts';
import {
  type AnthropicUsage,
  anthropicEventUsage,
  mergeAnthropicUsage,
  reasoningTokensFromAnthropic,
  usageFromAnthropic,
} from './anthropic-messages.ts';
import { observeOpenAIChatEvent, reasoningTokensFromOpenAIChat, usageFromOpenAIChat } from './openai-chat.ts';
import {
  observeResponsesEvent,
  reasoningTokensFromOpenAIResponses,
  responsesBodyChars,
  responsesEventChars,
  usageFromOpenAIResponses,
} from './openai-responses.ts';
import type { UpstreamEvent } from './sse.ts';

/**
 * What the gateway learns from an upstream answer while forwarding it: usage, and how much it said.
 * Billing settles on it; a stream translator reads its usage from it too, so both see the same numbers.
 */
export interface Observation {
  usage: Usage | undefined;
  /** Reasoning (thinking) tokens, a share of `usage.outputTokens`, when the upstream reports them. */
  reasoningTokens: number;
  /** Raw usage objects as the upstream sent them, for the ledger. */
  rawUsage: unknown[];
  /** Characters of generated text, tool arguments and thinking: the fallback when no usage comes. */
  outputChars: number;
  /** Responses streams: the last `sequence_number` seen, so an error we add continues the sequence. */
  lastSequenceNumber: number;
  /** The upstream sent its own in-stream error event: the answer did not complete. */
  failed: boolean;
  /** The stream's final event arrived (`[DONE]`, a finish reason, `message_stop`, `response.completed`…). */
  finished: boolean;
}

/** The usage part of an observation: what a translation reports back to its client. */
export type ObservedUsage = Pick<Observation, 'usage' | 'reasoningTokens'>;

const FINAL_RESPONSES_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

const chatFinished = (data: Record<string, unknown>): boolean =>
  ((data['choices'] as { finish_reason?: unknown }[] | undefined) ?? []).some((choice) => choice.finish_reason);

const length = (value: unknown): number => (typeof value === 'string' ? value.length : 0);

const chatChunkChars = (data: Record<string, unknown>): number => {
  let chars = 0;
  for (const choice of (data['choices'] as { delta?: Record<string, unknown> }[] | undefined) ?? []) {
    const delta = choice.delta ?? {};
    chars += length(delta['content']) + length(delta['reasoning_content']);
    for (const call of (delta['tool_calls'] as { function?: { arguments?: unknown } }[] | undefined) ?? []) {
      chars += length(call.function?.arguments);
    }
  }
  return chars;
};

const anthropicDeltaChars = (data: Record<string, unknown>): number => {
  const delta = data['delta'] as Record<string, unknown> | undefined;
  return delta ? length(delta['text']) + length(delta['partial_json']) + length(delta['thinking']) : 0;
};

/**
 * Watches an upstream stream's parsed events. The bytes themselves are forwarded untouched (or
 * handed to a translator); this reads the same parsed events.
 *
 * @example
 * const observer = streamObserver('messages');
 * createSseReader((e) => observer.onEvent({ event: e.event, data: parseEventData(e.data), raw: e.data }));
 */
export const streamObserver = (wire: Operation) => {
  const observation: Observation = {
    usage: undefined,
    reasoningTokens: 0,
    rawUsage: [],
    outputChars: 0,
    lastSequenceNumber: -1,
    failed: false,
    finished: false,
  };
  /** Messages streams: the usage objects seen so far, merged (`message_start`, then `message_delta`). */
  let anthropicUsage: AnthropicUsage | undefined;
  const onEvent = (event: UpstreamEvent): void => {
    const data = event.data;
    if (event.raw === '[DONE]') observation.finished = true;
    if (!data) return;
    if (
      (wire === 'messages' && event.event === 'message_stop') ||
      (wire === 'responses' && typeof data['type'] === 'string' && FINAL_RESPONSES_EVENTS.has(data['type'])) ||
      (wire === 'chat' && chatFinished(data))
    ) {
      observation.finished = true;
    }
    if (
      event.event === 'error' ||
      data['type'] === 'error' ||
      data['type'] === 'response.failed' ||
      (wire === 'chat' && data['error'])
    ) {
      observation.failed = true;
    }
    if (wire === 'messages') {
      if (event.event === 'content_block_delta') observation.outputChars += anthropicDeltaChars(data);
      const usage = anthropicEventUsage(event);
      if (usage) {
        anthropicUsage = mergeAnthropicUsage(anthropicUsage, usage);
        observation.usage = usageFromAnthropic(anthropicUsage);
        observation.reasoningTokens = reasoningTokensFromAnthropic(anthropicUsage);
        observation.rawUsage.push(usage);
      }
      return;
    }
    if (wire === 'responses') {
      observation.outputChars += responsesEventChars(data);
      if (typeof data['sequence_number'] === 'number') observation.lastSequenceNumber = data['sequence_number'];
      const usage = observeResponsesEvent(event, data);
      if (usage) {
        const raw = (data['response'] as { usage: object }).usage;
        observation.usage = usage;
        observation.reasoningTokens = reasoningTokensFromOpenAIResponses(raw);
        observation.rawUsage.push(raw);
      }
      return;
    }
    observation.outputChars += chatChunkChars(data);
    const usage = observeOpenAIChatEvent(event, data);
    if (usage) {
      observation.usage = usage;
      observation.reasoningTokens = reasoningTokensFromOpenAIChat(data['usage'] as object);
      observation.rawUsage.push(data['usage']);
    }
  };
  return { observation, onEvent };
};

/** The same reading for a whole (non-stream) answer body. */
export const observeBody = (wire: Operation, json: Record<string, unknown> | undefined): Observation => {
  const raw = json?.['usage'];
  const observation: Observation = {
    usage: undefined,
    reasoningTokens: 0,
    rawUsage: raw ? [raw] : [],
    outputChars: 0,
    lastSequenceNumber: -1,
    failed: false,
    finished: true,
  };
  if (!json || wire === 'count_tokens') return observation;
  if (raw && typeof raw === 'object') {
    if (wire === 'messages') {
      observation.usage = usageFromAnthropic(raw);
      observation.reasoningTokens = reasoningTokensFromAnthropic(raw);
    } else if (wire === 'responses') {
      observation.usage = usageFromOpenAIResponses(raw);
      observation.reasoningTokens = reasoningTokensFromOpenAIResponses(raw);
    } else {
      observation.usage = usageFromOpenAIChat(raw);
      observation.reasoningTokens = reasoningTokensFromOpenAIChat(raw);
    }
  }
  if (wire === 'responses') {
    observation.outputChars = responsesBodyChars(json);
    return observation;
  }
  if (wire === 'messages') {
    for (const block of (json['content'] as Record<string, unknown>[] | undefined) ?? []) {
      observation.outputChars +=
        length(block['text']) +
        length(block['thinking']) +
        (block['input'] ? JSON.stringify(block['input']).length : 0);
    }
  } else {
    for (const choice of (json['choices'] as { message?: Record<string, unknown> }[] | undefined) ?? []) {
      const message = choice.message ?? {};
      observation.outputChars += length(message['content']) + length(message['reasoning_content']);
      for (const call of (message['tool_calls'] as { function?: { arguments?: unknown } }[] | undefined) ?? []) {
        observation.outputChars += length(call.function?.arguments);
      }
    }
  }
  return observation;
};
