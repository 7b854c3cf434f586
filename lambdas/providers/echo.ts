import { createHash, randomBytes } from 'node:crypto';
import { sseFrame } from '../protocols/sse.ts';
import { fromFetchResponse } from './http.ts';
import type { ProviderAdapter, UpstreamCall } from './types.ts';

/** Text of a message's content, whichever protocol's shape it has (string, or text parts/blocks). */
const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      part && typeof part === 'object' && (part as { type?: unknown }).type === 'text'
        ? String((part as { text?: unknown }).text ?? '')
        : '',
    )
    .join('');
};

/** A documented rough count: one token per 4 characters, at least 1 for anything non-empty. */
export const estimateTokens = (text: string): number =>
  text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));

interface EchoPlan {
  pieces: string[];
  inputTokens: number;
  outputTokens: number;
}

const plan = (body: Record<string, unknown>): EchoPlan => {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as { role?: unknown; content?: unknown }[]) : [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const text = textOf(lastUser?.content) || '(nothing to echo)';
  const everything = [
    typeof body['system'] === 'string' ? body['system'] : textOf(body['system']),
    ...messages.map((m) => textOf(m.content)),
  ].join('\n');
  // Word-sized pieces, each keeping its trailing space, so the stream shows a real cadence.
  const pieces = text.match(/\S+\s*|\s+/g) ?? [text];
  return { pieces, inputTokens: estimateTokens(everything), outputTokens: pieces.length };
};

const sseResponse = (frames: Uint8Array[]): Response =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const frame of frames) controller.enqueue(frame);
        controller.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } },
  );

const jsonResponse = (body: unknown): Response =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

const openAIChat = (model: string, stream: boolean, includeUsage: boolean, echo: EchoPlan): Response => {
  const id = `chatcmpl-echo${randomBytes(8).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = {
    prompt_tokens: echo.inputTokens,
    completion_tokens: echo.outputTokens,
    total_tokens: echo.inputTokens + echo.outputTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  };
  const text = echo.pieces.join('');
  if (!stream) {
    return jsonResponse({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
    });
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
    sseFrame(
      JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...extra,
      }),
    );
  const frames = [
    chunk({ role: 'assistant', content: '', refusal: null }, null),
    ...echo.pieces.map((piece) => chunk({ content: piece }, null)),
    chunk({}, 'stop'),
  ];
  if (includeUsage) {
    frames.push(sseFrame(JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })));
  }
  frames.push(sseFrame('[DONE]'));
  return sseResponse(frames);
};

const anthropicMessages = (model: string, stream: boolean, echo: EchoPlan): Response => {
  const id = `msg_echo${randomBytes(8).toString('hex')}`;
  const usage = {
    input_tokens: echo.inputTokens,
    output_tokens: echo.outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  const text = echo.pieces.join('');
  if (!stream) {
    return jsonResponse({
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage,
    });
  }
  const event = (type: string, data: Record<string, unknown>) => sseFrame(JSON.stringify({ type, ...data }), type);
  return sseResponse([
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('ping', {}),
    ...echo.pieces.map((piece) =>
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }),
    ),
    event('content_block_stop', { index: 0 }),
    event('message_delta', {
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: echo.outputTokens },
    }),
    event('message_stop', {}),
  ]);
};

/** A deterministic 8-dimension unit vector from the text, so equal inputs embed equally. */
const embed = (text: string): number[] => {
  const digest = createHash('sha256').update(text).digest();
  const raw = Array.from({ length: 8 }, (_, i) => digest.readInt16BE(i * 2) / 32768);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => value / norm);
};

const embeddings = (model: string, body: Record<string, unknown>): Response => {
  const inputs = Array.isArray(body['input'])
    ? body['input'].map((item) => (typeof item === 'string' ? item : JSON.stringify(item)))
    : [String(body['input'] ?? '')];
  const base64 = body['encoding_format'] === 'base64';
  const promptTokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
  return jsonResponse({
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = embed(text);
      return {
        object: 'embedding',
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
      };
    }),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
};

/**
 * The built-in `echo` provider: answers the last user message back, in whichever protocol the
 * client speaks, with token counts (one per 4 characters in, one per word out) and no network;
 * embeddings are a deterministic 8-dimension vector per input.
 * It is the newcomer's offline round trip and the production canary route.
 */
export const echo: ProviderAdapter = {
  kind: 'echo',
  protocol: undefined,
  defaultCredential: undefined,
  defaultBaseUrl: undefined,
  async send({ operation, body, stream }: UpstreamCall) {
    const model = String(body['model'] ?? 'tollgate-echo');
    if (operation === 'embeddings') return fromFetchResponse(embeddings(model, body));
    const echoPlan = plan(body);
    if (operation === 'messages') return fromFetchResponse(anthropicMessages(model, stream, echoPlan));
    const options = body['stream_options'] as { include_usage?: unknown } | undefined;
    return fromFetchResponse(openAIChat(model, stream, options?.include_usage === true, echoPlan));
  },
};
