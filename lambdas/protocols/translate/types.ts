import type { Observation } from '../observe.ts';
import type { UpstreamEvent } from '../sse.ts';

export type { UpstreamEvent };

/**
 * A stream translator turns the upstream protocol's parsed SSE events into the client protocol's
 * SSE frames, one event at a time. It is pure (no I/O), so recorded fixtures can be fed through it.
 *
 * The gateway decodes upstream bytes with the one SSE decoder (protocols/sse.ts), parses each event
 * once, folds it into the exchange's {@link Observation} (protocols/observe.ts), then calls `push`
 * with the same event and that observation, writes whatever frames come back, and calls `end` once
 * the upstream is done (or `fail` when it broke mid-stream). A translator reads usage from the
 * observation, never from the events: billing and the client see the same numbers.
 */
export interface StreamTranslator {
  /** Frames (complete `event:`/`data:` SSE frames, UTF-8) to send for one upstream event. */
  push(event: UpstreamEvent, observed: Observation): Uint8Array[];
  /** Frames that close the client's stream properly after the upstream ended normally. */
  end(observed: Observation): Uint8Array[];
  /** Frames for a failure mid-stream: the client protocol's in-stream error event. */
  fail(type: string, message: string, observed: Observation): Uint8Array[];
}

/** An upstream error response rendered for a client of the other protocol (status kept). */
export interface TranslatedError {
  status: number;
  body: string;
}
