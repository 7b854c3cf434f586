import { describe, expect, it } from 'vitest';
import { costedEvent } from '../../lambdas/protocols/answer-cost.ts';
import { streamObserver } from '../../lambdas/protocols/observe.ts';
import type { UpstreamEvent } from '../../lambdas/protocols/sse.ts';
import type { Operation, Usage } from '../../lambdas/vocabulary.ts';

/** $1 per million tokens of any kind, in USD. */
const cost = (usage: Usage) => (usage.inputTokens + usage.outputTokens) / 1e6;

/** The events as a same-protocol stream passes them on: observed, then costed or not. */
const costed = (wire: Operation, events: UpstreamEvent[]) => {
  const observer = streamObserver(wire);
  return events.map((event) => {
    observer.onEvent(event);
    return costedEvent(wire, event, observer.observation, cost);
  });
};
const event = (data: Record<string, unknown>, name?: string): UpstreamEvent => ({
  event: name,
  data,
  raw: JSON.stringify(data),
});

describe('costedEvent: the event with the final usage gets usage.cost', () => {
  it('Chat: the usage chunk after the finish reason, not a vendor’s running usage before it', () => {
    const results = costed('chat', [
      event({ choices: [{ index: 0, delta: { content: 'a' } }], usage: { prompt_tokens: 10, completion_tokens: 1 } }),
      event({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      event({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 20 } }),
    ]);
    expect(results.slice(0, 2)).toEqual([undefined, undefined]);
    expect(results[2]).toEqual({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, cost: 30 / 1e6 } });
  });

  it('Messages: message_delta, priced on the usage merged with message_start', () => {
    const results = costed('messages', [
      event({ type: 'message_start', message: { usage: { input_tokens: 100, output_tokens: 1 } } }, 'message_start'),
      event(
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 50 } },
        'message_delta',
      ),
      event({ type: 'message_stop' }, 'message_stop'),
    ]);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toMatchObject({ usage: { output_tokens: 50, cost: 150 / 1e6 } });
    expect(results[2]).toBeUndefined();
  });

  it('Responses: response.completed, not response.failed', () => {
    const usage = { input_tokens: 7, output_tokens: 3, total_tokens: 10 };
    const [completed] = costed('responses', [event({ type: 'response.completed', response: { usage } })]);
    expect(completed).toEqual({ type: 'response.completed', response: { usage: { ...usage, cost: 10 / 1e6 } } });
    const [failed] = costed('responses', [event({ type: 'response.failed', response: { usage } })]);
    expect(failed).toBeUndefined();
  });
});
