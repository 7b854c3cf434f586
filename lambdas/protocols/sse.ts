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
