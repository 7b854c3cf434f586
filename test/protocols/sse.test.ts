import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventFramer } from '../../lambdas/protocols/sse.ts';

const bytes = (text: string) => Buffer.from(text);
const text = (chunks: readonly Buffer[]) => Buffer.concat(chunks).toString();

/** An SSE event: a few fields, lines ended by `eol`, then the blank line. */
const event = (eol: string) =>
  fc
    .array(fc.constantFrom('event: delta', 'data: {"a":1}', 'data: x', 'id: 7', ': ping', 'data:'), {
      minLength: 1,
      maxLength: 4,
    })
    .map((lines) => lines.map((line) => `${line}${eol}`).join('') + eol);

/** A stream of whole events, maybe followed by a partial one, in either line ending. */
const stream = fc.constantFrom('\n', '\r\n').chain((eol) =>
  fc.record({
    events: fc.array(event(eol), { maxLength: 6 }),
    partial: fc.constantFrom('', `data: part${eol}`, 'data: par'),
  }),
);

/** `whole` cut at the given positions (sorted, deduplicated, inside it). */
const split = (whole: Buffer, cuts: readonly number[]): Buffer[] => {
  const at = [...new Set(cuts.map((cut) => cut % (whole.length + 1)))].sort((a, b) => a - b);
  return [0, ...at].map((from, index) => whole.subarray(from, at[index] ?? whole.length)).filter((c) => c.length);
};

describe('eventFramer', () => {
  it('passes only whole events, whatever the chunks, and keeps the partial one for rest()', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), ({ events, partial }, cuts) => {
        const framer = eventFramer();
        const whole = bytes(events.join('') + partial);
        const out = split(whole, cuts).flatMap((chunk) => framer.push(chunk));
        expect(text(out)).toBe(events.join(''));
        expect(text(framer.rest())).toBe(partial);
      }),
      { numRuns: 2_000, seed: 20261203 },
    );
  });

  it('finds a blank line split across two chunks', () => {
    const framer = eventFramer();
    expect(text(framer.push(bytes('data: 1\n')))).toBe('');
    expect(text(framer.push(bytes('\ndata: 2\r\n\r')))).toBe('data: 1\n\n');
    expect(text(framer.push(bytes('\n')))).toBe('data: 2\r\n\r\n');
  });

  it('never copies: the bytes out are views of the chunks in', () => {
    const framer = eventFramer();
    const chunk = bytes('data: 1\n\ndata: 2');
    const [out] = framer.push(chunk);
    expect(out?.buffer).toBe(chunk.buffer);
  });
});
