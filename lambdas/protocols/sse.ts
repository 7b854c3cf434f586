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

const LF_BOUNDARY = Buffer.from('\n\n');
const CRLF_BOUNDARY = Buffer.from('\r\n\r\n');
/** Bytes a blank line can span: a boundary may straddle two chunks by up to this many bytes each side. */
const BOUNDARY_SPAN = 3;

/** The end of the last blank line in `bytes` (after it), or 0 when there is none. */
const lastBoundary = (bytes: Buffer): number => {
  const after = (at: number, length: number) => (at < 0 ? 0 : at + length);
  return Math.max(after(bytes.lastIndexOf(LF_BOUNDARY), 2), after(bytes.lastIndexOf(CRLF_BOUNDARY), 4));
};

/**
 * Splits pass-through bytes on SSE event boundaries: only whole events go to the client, so an
 * in-stream error written after a cut starts on an event boundary. Bytes are never copied: a
 * partial event waits as the chunks it came in, and goes out with the chunk that completes it.
 *
 * @example
 * const framer = eventFramer();
 * framer.push(bytes('data: 1\n\ndata: 2')); // ['data: 1\n\n']
 * framer.push(bytes('\n\n')); // ['data: 2', '\n\n']
 */
export const eventFramer = () => {
  /** The bytes after the last boundary seen, as the chunks they came in. */
  let waiting: Buffer[] = [];
  /** The last few bytes waiting, for a blank line split across two chunks. */
  const waitingTail = (): Buffer => {
    const tail: Buffer[] = [];
    let length = 0;
    for (let index = waiting.length - 1; index >= 0 && length < BOUNDARY_SPAN; index -= 1) {
      const piece = (waiting[index] as Buffer).subarray(-(BOUNDARY_SPAN - length));
      tail.unshift(piece);
      length += piece.length;
    }
    return Buffer.concat(tail);
  };
  return {
    /** The bytes completed by `chunk` (whole events), in order; none while an event is incomplete. */
    push(chunk: Uint8Array): Buffer[] {
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let end = lastBoundary(bytes);
      if (end === 0 && waiting.length > 0) {
        // Only a blank line split across the seam can end an event here (a rare, small copy).
        const tail = waitingTail();
        end = Math.max(0, lastBoundary(Buffer.concat([tail, bytes.subarray(0, BOUNDARY_SPAN)])) - tail.length);
      }
      if (end === 0) {
        waiting.push(bytes);
        return [];
      }
      const complete = [...waiting, bytes.subarray(0, end)];
      waiting = end < bytes.length ? [bytes.subarray(end)] : [];
      return complete;
    },
    /** Bytes after the last boundary (an upstream that ends without a final blank line). */
    rest(): Buffer[] {
      const rest = waiting;
      waiting = [];
      return rest;
    },
  };
};

const encoder = new TextEncoder();

/** One SSE frame; `event` omitted for OpenAI's data-only streams. Data with line breaks takes one `data:` line each. */
export const sseFrame = (data: string, event?: string): Uint8Array => {
  const lines = data.includes('\n') ? data.replaceAll('\n', '\ndata: ') : data;
  return encoder.encode(event === undefined ? `data: ${lines}\n\n` : `event: ${event}\ndata: ${lines}\n\n`);
};

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
