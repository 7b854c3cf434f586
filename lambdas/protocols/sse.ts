import { createParser, type EventSourceMessage } from 'eventsource-parser';

export type { EventSourceMessage };

/**
 * The one SSE decoder of the code base (eventsource-parser). Feed it raw upstream bytes as they
 * arrive; it calls `onEvent` once per complete event, however the bytes were split.
 *
 * @example
 * const reader = createSseReader((event) => observe(event.event, event.data));
 * for await (const chunk of body) reader.feed(chunk);
 */
export const createSseReader = (onEvent: (event: EventSourceMessage) => void) => {
  const decoder = new TextDecoder();
  const parser = createParser({ onEvent });
  return {
    feed(chunk: Uint8Array): void {
      parser.feed(decoder.decode(chunk, { stream: true }));
    },
  };
};

const encoder = new TextEncoder();

/** One SSE frame; `event` omitted for OpenAI's data-only streams. */
export const sseFrame = (data: string, event?: string): Uint8Array =>
  encoder.encode(event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`);

/**
 * An upstream SSE event with its data parsed, once: the gateway hands the same object to the usage
 * observer (protocols/observe.ts) and to a stream translator.
 */
export interface UpstreamEvent {
  /** The SSE `event:` field, when the upstream sent one (Anthropic always does; OpenAI Chat never). */
  event?: string | undefined;
  /** The event's `data:` field, parsed as JSON; undefined for `[DONE]` or anything not JSON. */
  data: Record<string, unknown> | undefined;
  /** The raw `data:` text (e.g. `[DONE]`). */
  raw: string;
}

/** Parses an event's JSON data, or undefined for `[DONE]` and anything not JSON. */
export const parseEventData = (data: string): Record<string, unknown> | undefined => {
  if (data === '[DONE]') return undefined;
  try {
    const parsed: unknown = JSON.parse(data);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};
