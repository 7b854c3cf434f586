/**
 * A stream translator turns the upstream protocol's parsed SSE events into the client protocol's
 * SSE frames, one event at a time. It is pure (no I/O), so recorded fixtures can be fed through it.
 *
 * The gateway parses upstream bytes with the one SSE decoder (protocols/sse.ts), calls `push` for
 * each event, writes whatever frames come back, and calls `end` once the upstream is done (or
 * `fail` when it broke mid-stream).
 */
export interface UpstreamEvent {
  /** The SSE `event:` field, when the upstream sent one (Anthropic always does; OpenAI Chat never). */
  event?: string | undefined;
  /** The event's `data:` field, parsed as JSON; undefined for `[DONE]` or anything not JSON. */
  data: Record<string, unknown> | undefined;
  /** The raw `data:` text (e.g. `[DONE]`). */
  raw: string;
}

export interface StreamTranslator {
  /** Frames (complete `event:`/`data:` SSE frames, UTF-8) to send for one upstream event. */
  push(event: UpstreamEvent): Uint8Array[];
  /** Frames that close the client's stream properly after the upstream ended normally. */
  end(): Uint8Array[];
  /** Frames for a failure mid-stream: the client protocol's in-stream error event. */
  fail(type: string, message: string): Uint8Array[];
}

/** An upstream error response rendered for a client of the other protocol (status kept). */
export interface TranslatedError {
  status: number;
  body: string;
}
