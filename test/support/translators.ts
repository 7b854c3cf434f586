import { readFileSync } from 'node:fs';
import { vi } from 'vitest';
import { streamObserver } from '../../lambdas/protocols/observe.ts';
import { createSseReader, parseEventData } from '../../lambdas/protocols/sse.ts';
import type { StreamTranslator, UpstreamEvent } from '../../lambdas/protocols/translate/types.ts';
import type { Operation } from '../../lambdas/vocabulary.ts';

/** A recorded fixture under test/fixtures/<dir>/. */
export const fixture = (dir: string, name: string): string =>
  readFileSync(new URL(`../fixtures/${dir}/${name}`, import.meta.url), 'utf8');

/** 1_750_000_000 s: the `created` / `created_at` a translation made {@link atFixedTime} carries. */
export const FIXED_SECONDS = 1_750_000_000;

/** Runs `translation` with the clock stopped at {@link FIXED_SECONDS}, so its timestamps can be compared exactly. */
export const atFixedTime = <T>(translation: () => T): T => {
  vi.useFakeTimers({ toFake: ['Date'], now: FIXED_SECONDS * 1000 });
  try {
    return translation();
  } finally {
    vi.useRealTimers();
  }
};

/** Parses SSE with the gateway's one decoder, as the gateway hands events to a translator. */
export const upstreamEvents = (sse: Uint8Array | string): UpstreamEvent[] => {
  const events: UpstreamEvent[] = [];
  const reader = createSseReader((event) =>
    events.push({ event: event.event, data: parseEventData(event.data), raw: event.data }),
  );
  reader.feed(typeof sse === 'string' ? new TextEncoder().encode(sse) : sse);
  return events;
};

/** A translator as the gateway drives it, with the exchange's observation supplied. */
export interface DrivenTranslator {
  push(event: UpstreamEvent): Uint8Array[];
  end(): Uint8Array[];
  fail(type: string, message: string): Uint8Array[];
}

/**
 * Drives `translator` as the gateway's pump does: each event of the `upstream` wire is folded into
 * the exchange's observation first (protocols/observe.ts), then pushed with it.
 *
 * @example translate(driven('messages', createMessagesToChatStream(options)), upstreamEvents(sse));
 */
export const driven = (upstream: Operation, translator: StreamTranslator): DrivenTranslator => {
  const observer = streamObserver(upstream);
  return {
    push(event) {
      observer.onEvent(event);
      return translator.push(event, observer.observation);
    },
    end: () => translator.end(observer.observation),
    fail: (type, message) => translator.fail(type, message, observer.observation),
  };
};

/** Every frame a translator writes for `events`, then its end, as text. */
export const translate = (translator: DrivenTranslator, events: UpstreamEvent[]): string[] =>
  [...events.flatMap((event) => translator.push(event)), ...translator.end()].map((frame) =>
    new TextDecoder().decode(frame),
  );

/** An upstream SSE body run through a translator as it arrives, as the gateway streams it. */
export const translateStream = (
  body: ReadableStream<Uint8Array>,
  translator: DrivenTranslator,
): ReadableStream<Uint8Array> =>
  new ReadableStream({
    async start(controller) {
      const reader = createSseReader((event) => {
        const frames = translator.push({ event: event.event, data: parseEventData(event.data), raw: event.data });
        for (const frame of frames) controller.enqueue(frame);
      });
      for await (const chunk of body) reader.feed(chunk);
      for (const frame of translator.end()) controller.enqueue(frame);
      controller.close();
    },
  });
