import type { Operation, Usage } from '../vocabulary.ts';
import { anthropicEventType } from './anthropic-messages.ts';
import type { Observation } from './observe.ts';
import type { UpstreamEvent } from './sse.ts';

/**
 * An answer's exact cost for its final usage, in USD, as the JSON number `usage.cost` carries (the
 * ledger's nano-USD cost, discount applied: the gateway builds it from the answering route's prices).
 */
export type AnswerCost = (usage: Usage) => number;

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const COSTED_RESPONSES_EVENTS = new Set(['response.completed', 'response.incomplete']);

/**
 * `usage` with `cost` added, for the usage object a client-format answer carries (OpenAI's usage
 * accounting field, also used on Anthropic answers); `usage` itself when no usage was reported.
 */
export const withCost = <T extends object>(usage: T, observed: Usage | undefined, cost: AnswerCost | undefined) =>
  observed && cost ? { ...usage, cost: cost(observed) } : usage;

/**
 * A same-protocol stream event that carries the answer's final usage, with `cost` added to it — or
 * undefined for every other event. Chat: the chunk with usage, once a finish reason is in; Messages:
 * `message_delta` (the cost of the usage merged from `message_start` on); Responses:
 * `response.completed` / `response.incomplete`. `observation` must already include `event`.
 *
 * @example
 * observer.onEvent(event);
 * const costed = costedEvent('messages', event, observer.observation, cost); // message_delta: { …, usage: { …, cost: 0.0105 } }
 */
export const costedEvent = (
  wire: Operation,
  event: UpstreamEvent,
  observation: Observation,
  cost: AnswerCost,
): Json | undefined => {
  const { data } = event;
  const usage = observation.usage;
  if (!data || !usage) return undefined;
  if (wire === 'chat') {
    // Only once a finish reason is in: a vendor that reports usage on every chunk is priced on its last.
    if (!observation.finished || (event.event !== undefined && event.event !== 'message')) return undefined;
    if (!isRecord(data['usage'])) return undefined;
    return { ...data, usage: withCost(data['usage'], usage, cost) };
  }
  if (wire === 'messages') {
    if (anthropicEventType(event) !== 'message_delta' || !isRecord(data['usage'])) return undefined;
    return { ...data, usage: withCost(data['usage'], usage, cost) };
  }
  if (wire === 'responses') {
    const response = data['response'];
    if (typeof data['type'] !== 'string' || !COSTED_RESPONSES_EVENTS.has(data['type'])) return undefined;
    if (!isRecord(response) || !isRecord(response['usage'])) return undefined;
    return { ...data, response: { ...response, usage: withCost(response['usage'], usage, cost) } };
  }
  return undefined;
};
