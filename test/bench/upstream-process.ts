/**
 * Child process of the bench: the fake upstream (test/support/fake-upstream.ts) in its own event
 * loop, noting when each request arrived so the bench can split a request's time at the upstream.
 */
import { startFakeUpstream } from '../support/fake-upstream.ts';
import { serveRpc } from './rpc.ts';

export interface UpstreamStart {
  ttfbMs: number;
  chunkMs: number;
  chunks: number;
  /** The upstream key Tollgate presents: requests carrying it are Tollgate's. */
  tollgateUpstreamKey: string;
  /** Upstream model answered with a large stream of `bulkFrames` × `bulkFrameBytes` (the memory check). */
  bulkModel: string;
  bulkFrames: number;
  bulkFrameBytes: number;
  /** Upstream model answered at once with `translatedTokens` content pieces, no delays (the translated-stream throughput). */
  translatedModel: string;
  translatedTokens: number;
}

/** When the upstream had read a request's body (this process's `performance.now()`), and whether Tollgate sent it. */
export interface Arrival {
  at: number;
  tollgate: boolean;
}

const KEEP_ARRIVALS = 200_000;

/** An OpenAI chat stream of `frames` events of about `bytes` each, then usage and [DONE]. */
const bulkStream = (model: string, frames: number, bytes: number): string[] => {
  const shell = (content: string) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-bulk',
      object: 'chat.completion.chunk',
      created: 0,
      model,
      choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
    })}\n\n`;
  const frame = shell('x'.repeat(Math.max(1, bytes - shell('').length)));
  const tokens = Math.ceil(bytes / 4) * frames;
  const usage = {
    id: 'chatcmpl-bulk',
    object: 'chat.completion.chunk',
    created: 0,
    model,
    choices: [],
    usage: { prompt_tokens: 10, completion_tokens: tokens, total_tokens: 10 + tokens },
  };
  // One string referenced `frames` times: the fake upstream stays small in memory too.
  return [...Array.from({ length: frames }, () => frame), `data: ${JSON.stringify(usage)}\n\n`, 'data: [DONE]\n\n'];
};

const arrivals: Arrival[] = [];

serveRpc({
  async start(args: UpstreamStart): Promise<{ url: string }> {
    const bulk = bulkStream(args.bulkModel, args.bulkFrames, args.bulkFrameBytes);
    const pieces = Array.from({ length: args.chunks }, (_, index) => `token${index} `);
    const fast = Array.from({ length: args.translatedTokens }, (_, index) => `tok${index} `);
    const upstream = await startFakeUpstream({
      record: false,
      defaults: { ttfbMs: args.ttfbMs, chunkDelayMs: args.chunkMs, chunks: pieces },
    });
    upstream.script((request) => {
      arrivals.push({ at: performance.now(), tollgate: request.auth.key === args.tollgateUpstreamKey });
      if (arrivals.length > KEEP_ARRIVALS) arrivals.splice(0, arrivals.length - KEEP_ARRIVALS);
      if (request.model === args.bulkModel) return { rawFrames: bulk, ttfbMs: 0, chunkDelayMs: 0 };
      if (request.model === args.translatedModel) {
        return { chunks: fast, ttfbMs: 0, chunkDelayMs: 0, usage: { outputTokens: fast.length } };
      }
      return undefined;
    });
    return { url: upstream.url };
  },
  arrivals: (since: number) => arrivals.filter((arrival) => arrival.at >= since),
});
