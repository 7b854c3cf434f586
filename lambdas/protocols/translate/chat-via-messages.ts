/**
 * OpenAI Chat Completions client → Anthropic Messages upstream: the request goes down as a Messages
 * body, the answer (JSON, SSE stream or error) comes back as Chat Completions.
 *
 * Pure functions, no I/O. Field by field against `openai` v7 (`resources/chat/completions`) and
 * `@anthropic-ai/sdk` v1 (`resources/messages`), and Anthropic's own OpenAI-compatibility notes
 * (https://platform.claude.com/docs/en/api/openai-sdk). Where Tollgate differs from those notes it
 * says why (`logprobs` and `n` are refused rather than ignored; images, tools and thinking map fully).
 */
import { randomUUID } from 'node:crypto';
import { type AnswerCost, withCost } from '../answer-cost.ts';
import type { ObservedUsage } from '../observe.ts';
import { openAIStreamError } from '../openai-chat.ts';
import { sseFrame } from '../sse.ts';
import { invalid, isRecord, type Json, nowSeconds, positiveInt, records, text } from './shared.ts';
import type { StreamTranslator } from './types.ts';
import {
  anthropicTool,
  anthropicToolChoice,
  continuesToolLoop,
  type FinishReason,
  finishReasonFor,
  forcesTool,
  imageFromUrl,
  isAdaptiveOnlyModel,
  limitCacheBreakpoints,
  MIN_THINKING_BUDGET,
  messagesBody,
  openAITokenCounts,
  parseDataUrl,
  pushTurn,
  type Reasoning,
  readMessagesStream,
  reasoningFromEffort,
  type Turn,
  textBlock,
  toolId,
  toolInput,
  toolResultsFirst,
  usageOfMessage,
  withCache,
} from './via-messages.ts';

// Anthropic's conventions, defined in via-messages.ts with the Responses translation's.
export {
  anthropicErrorToOpenAI,
  finishReasonFor,
  isAdaptiveOnlyModel,
  THINKING_BUDGETS,
} from './via-messages.ts';

// ─── drop rules ──────────────────────────────────────────────────────────────────────────────────

/**
 * Chat Completions request fields (top-level names, or paths for parts of one) that have no Messages
 * equivalent, and why. The Messages body is built field by field from what maps, so these, and any
 * field not known at all, never reach Anthropic, which answers unknown fields with a 400.
 */
export const DROPPED_CHAT_FIELDS: Readonly<Record<string, string>> = {
  frequency_penalty: 'Anthropic has no repetition penalties',
  presence_penalty: 'Anthropic has no repetition penalties',
  logit_bias: 'Anthropic exposes no token ids to bias',
  seed: 'Anthropic sampling cannot be seeded',
  store: 'OpenAI-side stored completions',
  metadata: "OpenAI dashboard tags; Anthropic's metadata holds only user_id, which comes from `user`",
  prediction: 'predicted outputs are OpenAI-only',
  service_tier: "OpenAI's processing tiers do not match Anthropic's auto/standard_only (a different price)",
  stream_options: 'Anthropic streams always report usage; include_usage is honoured by the stream translator',
  prompt_cache_key: 'OpenAI cache routing; Anthropic caches per block (`cache_control` on content parts is kept)',
  prompt_cache_retention: 'OpenAI cache lifetime; no Anthropic equivalent at request level',
  prompt_cache_options: 'OpenAI cache lifetime; no Anthropic equivalent at request level',
  verbosity: 'no Anthropic equivalent',
  web_search_options: 'OpenAI-hosted web search',
  moderation: 'OpenAI moderation',
  modalities: 'text is the only output Messages serves (audio output is refused)',
  'response_format (json_object, text)': 'Anthropic has no JSON mode; json_schema maps to output_config.format',
  'messages[].name': 'Anthropic turns carry no participant names',
  'messages[].reasoning_content': 'unsigned reasoning: Anthropic rejects thinking blocks without their signature',
  'content[].image_url.detail': 'Anthropic picks the image resolution itself',
  'tools[].function.strict': "ignored, as in Anthropic's own OpenAI compatibility (not every model accepts `strict`)",
  'temperature, top_p (with thinking, or on adaptive-only models)': 'Anthropic rejects sampling parameters there',
  'top_p (with temperature)': 'Claude 4.5 and later reject temperature and top_p together; temperature wins',
  'stop (whitespace-only entries)': 'Anthropic rejects whitespace-only stop sequences',
  'blank text (content strings and text parts)': 'Anthropic rejects text blocks without non-whitespace text',
};

// ─── request ─────────────────────────────────────────────────────────────────────────────────────

export interface ChatToMessagesOptions {
  /** The Messages `model`: the route's upstream model id. */
  upstreamModel: string;
  /** `max_tokens` when the request names neither `max_completion_tokens` nor `max_tokens`. */
  defaultMaxTokens: number;
}

/** Text-only content (system, developer, tool, assistant): a string or text parts; blank texts dropped. */
const textBlocks = (content: unknown, where: string, allowRefusal = false): Json[] => {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return textBlock(content, {});
  if (!Array.isArray(content)) throw invalid(`${where}.content must be a string or an array of parts`, where);
  const blocks: Json[] = [];
  content.forEach((part: unknown, index) => {
    const at = `${where}.content[${index}]`;
    if (!isRecord(part)) throw invalid(`${at} must be an object`, at);
    const value =
      part['type'] === 'text'
        ? text(part['text'])
        : allowRefusal && part['type'] === 'refusal'
          ? text(part['refusal'])
          : undefined;
    if (value === undefined)
      throw invalid(`${at}: content part type '${String(part['type'])}' is not allowed here`, at);
    blocks.push(...textBlock(value, part));
  });
  return blocks;
};

const imageBlock = (part: Json, at: string): Json => {
  const url = isRecord(part['image_url']) ? text(part['image_url']['url']) : undefined;
  if (!url) throw invalid(`${at}.image_url.url is required`, at);
  return imageFromUrl(url, part, at);
};

const fileBlock = (part: Json, at: string): Json => {
  const file = isRecord(part['file']) ? part['file'] : {};
  const data = typeof file['file_data'] === 'string' ? parseDataUrl(file['file_data']) : undefined;
  if (data?.mediaType !== 'application/pdf') {
    throw invalid(`${at}: only PDF files sent inline as file_data (a base64 data URL) reach this model`, at);
  }
  const block: Json = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data.data } };
  if (typeof file['filename'] === 'string' && file['filename'].length > 0) block['title'] = file['filename'];
  return withCache(block, part);
};

/** User content: text, images (URL or data URL) and inline PDFs. Audio and file ids cannot be served. */
const userBlocks = (content: unknown, where: string): Json[] => {
  if (!Array.isArray(content)) return textBlocks(content, where);
  return content.flatMap((part: unknown, index): Json[] => {
    const at = `${where}.content[${index}]`;
    if (!isRecord(part)) throw invalid(`${at} must be an object`, at);
    switch (part['type']) {
      case 'text':
        return textBlocks([part], where);
      case 'image_url':
        return [imageBlock(part, at)];
      case 'file':
        return [fileBlock(part, at)];
      case 'input_audio':
        throw invalid(`${at}: audio input is not supported by this model`, at);
      default:
        throw invalid(`${at}: content part type '${String(part['type'])}' is not supported by this model`, at);
    }
  });
};

/** What the translation of the message list needs to remember across messages. */
interface MessageState {
  system: Json[];
  turns: Turn[];
  /** Legacy `function_call` turns get synthetic ids; the next `function` message with that name answers it. */
  legacyCalls: Map<string, string>;
}

const assistantBlocks = (message: Json, where: string, state: MessageState, index: number): Json[] => {
  const blocks = textBlocks(message['content'], where, true);
  const refusal = text(message['refusal']);
  if (blocks.length === 0 && refusal) blocks.push({ type: 'text', text: refusal });
  const calls = message['tool_calls'];
  if (calls !== undefined && calls !== null && !Array.isArray(calls)) {
    throw invalid(`${where}.tool_calls must be an array`, `${where}.tool_calls`);
  }
  (calls ?? []).forEach((call: unknown, callIndex: number) => {
    const at = `${where}.tool_calls[${callIndex}]`;
    if (
      !isRecord(call) ||
      !isRecord(call['function']) ||
      typeof call['id'] !== 'string' ||
      typeof call['function']['name'] !== 'string'
    ) {
      throw invalid(`${at} must be a function call with an id and a name (custom tools cannot be served)`, at);
    }
    const input = toolInput(call['function']['arguments'], `${at}.function`);
    blocks.push({ type: 'tool_use', id: toolId(call['id']), name: call['function']['name'], input });
  });
  const legacy = message['function_call'];
  if (isRecord(legacy) && typeof legacy['name'] === 'string') {
    const id = `call_legacy_${index}`;
    state.legacyCalls.set(legacy['name'], id);
    blocks.push({
      type: 'tool_use',
      id,
      name: legacy['name'],
      input: toolInput(legacy['arguments'], `${where}.function_call`),
    });
  }
  return blocks;
};

const toolResult = (toolUseId: string, content: unknown, where: string, isError: unknown): Json => {
  const block: Json = { type: 'tool_result', tool_use_id: toolId(toolUseId) };
  if (typeof content === 'string') {
    if (content.length > 0) block['content'] = content;
  } else {
    const parts = textBlocks(content, where);
    if (parts.length > 0) block['content'] = parts;
  }
  // Not an OpenAI field, but clients that know Anthropic send it; keeping it costs nothing.
  if (isError === true) block['is_error'] = true;
  return block;
};

/** Adds one Chat message to the Messages conversation being built. */
const addMessage = (state: MessageState, message: unknown, index: number): void => {
  const where = `messages[${index}]`;
  if (!isRecord(message)) throw invalid(`${where} must be an object`, where);
  switch (message['role']) {
    case 'system':
    case 'developer':
      // Anthropic has one system prompt: every system/developer message is hoisted into it, in order.
      state.system.push(...textBlocks(message['content'], where));
      return;
    case 'user':
      pushTurn(state.turns, 'user', userBlocks(message['content'], where));
      return;
    case 'assistant':
      pushTurn(state.turns, 'assistant', assistantBlocks(message, where, state, index));
      return;
    case 'tool': {
      if (typeof message['tool_call_id'] !== 'string') throw invalid(`${where}.tool_call_id is required`, where);
      pushTurn(state.turns, 'user', [
        toolResult(message['tool_call_id'], message['content'], where, message['is_error']),
      ]);
      return;
    }
    case 'function': {
      const name = text(message['name']) ?? '';
      const id = state.legacyCalls.get(name);
      if (!id) throw invalid(`${where}: no earlier assistant function_call named '${name}'`, where);
      pushTurn(state.turns, 'user', [toolResult(id, message['content'], where, false)]);
      return;
    }
    default:
      throw invalid(`${where}.role '${String(message['role'])}' is not supported`, `${where}.role`);
  }
};

const translateMessages = (messages: unknown): { system: Json[]; turns: Turn[] } => {
  if (!Array.isArray(messages)) throw invalid('messages must be an array', 'messages');
  const state: MessageState = { system: [], turns: [], legacyCalls: new Map() };
  messages.forEach((message: unknown, index) => {
    addMessage(state, message, index);
  });
  if (state.turns.length === 0)
    throw invalid('messages must contain at least one user or assistant message', 'messages');
  const turns = state.turns.map((turn) =>
    turn.role === 'user' ? { ...turn, content: toolResultsFirst(turn.content) } : turn,
  );
  return { system: state.system, turns };
};

const functionTool = (fn: unknown, at: string): Json => {
  if (!isRecord(fn) || typeof fn['name'] !== 'string') throw invalid(`${at} must be a function with a name`, at);
  return anthropicTool(fn['name'], fn);
};

const namedChoice = (choice: Json, at: string): string => {
  const fn = choice['function'];
  if (choice['type'] !== 'function' || !isRecord(fn) || typeof fn['name'] !== 'string') {
    throw invalid(`${at} must name a function tool (custom tools cannot be served)`, at);
  }
  return fn['name'];
};

/** tools/functions and tool_choice/function_call: auto/none/required/named → auto/none/any/tool. */
const translateTools = (body: Json): { tools: Json[]; choice: Json | undefined } => {
  let tools: Json[] = [];
  if (Array.isArray(body['tools'])) {
    tools = body['tools'].map((tool: unknown, index) => {
      const at = `tools[${index}]`;
      if (!isRecord(tool) || tool['type'] !== 'function')
        throw invalid(`${at}: only function tools can be served by this model`, at);
      return functionTool(tool['function'], `${at}.function`);
    });
  } else if (Array.isArray(body['functions'])) {
    tools = body['functions'].map((fn: unknown, index) => functionTool(fn, `functions[${index}]`));
  }
  const param = body['tool_choice'] !== undefined ? 'tool_choice' : 'function_call';
  return anthropicToolChoice(body['tool_choice'] ?? body['function_call'], tools, body['parallel_tool_calls'], {
    param,
    allowed: (choice) => {
      const allowed = isRecord(choice['allowed_tools']) ? choice['allowed_tools'] : {};
      const names = (Array.isArray(allowed['tools']) ? allowed['tools'] : []).map((entry: unknown) =>
        isRecord(entry) && isRecord(entry['function']) ? entry['function']['name'] : undefined,
      );
      return { names: new Set(names), mode: allowed['mode'] };
    },
    noneAllowed: 'tool_choice.allowed_tools names none of the tools',
    // function_call: {name} (legacy) or tool_choice: {type: 'function', function: {name}}.
    named: (choice) =>
      param === 'function_call' && typeof choice['name'] === 'string' ? choice['name'] : namedChoice(choice, param),
  });
};

/** Anthropic's own compatibility extension: a `thinking` object in the Chat body, checked and kept. */
const explicitThinking = (thinking: Json, maxTokens: number): Json => {
  const display =
    thinking['display'] === 'summarized' || thinking['display'] === 'omitted' ? { display: thinking['display'] } : {};
  if (thinking['type'] === 'disabled') return { type: 'disabled' };
  if (thinking['type'] === 'adaptive') return { type: 'adaptive', ...display };
  const budget = thinking['budget_tokens'];
  if (thinking['type'] !== 'enabled' || typeof budget !== 'number' || !Number.isInteger(budget)) {
    throw invalid(
      "thinking must be {type: 'enabled', budget_tokens}, {type: 'adaptive'} or {type: 'disabled'}",
      'thinking',
    );
  }
  if (budget < MIN_THINKING_BUDGET || budget >= maxTokens) {
    throw invalid(
      `thinking.budget_tokens must be at least ${MIN_THINKING_BUDGET} and less than max_tokens (${maxTokens})`,
      'thinking',
    );
  }
  return { type: 'enabled', budget_tokens: budget, ...display };
};

const resolveReasoning = (body: Json, maxTokens: number, adaptiveOnly: boolean): Reasoning => {
  if (isRecord(body['thinking'])) return { thinking: explicitThinking(body['thinking'], maxTokens) };
  return reasoningFromEffort(body['reasoning_effort'], 'reasoning_effort', maxTokens, adaptiveOnly);
};

/**
 * Anthropic refuses thinking with a forced tool choice, and (error "a final assistant message must
 * start with a thinking block") when continuing a tool loop whose assistant turn came without its
 * signed thinking block, which an OpenAI client never has. Thinking is left off in both cases.
 */
const thinkingAllowed = (choice: Json | undefined, turns: Turn[]): boolean =>
  !forcesTool(choice) && !continuesToolLoop(turns);

/** Requests Tollgate cannot serve through Messages: refused rather than answered differently. */
const refuseUnservable = (body: Json): void => {
  if (typeof body['n'] === 'number' && body['n'] > 1) {
    throw invalid('n > 1 is not supported by this model: it returns one choice per request', 'n');
  }
  if (body['logprobs'] === true || (typeof body['top_logprobs'] === 'number' && body['top_logprobs'] > 0)) {
    throw invalid('logprobs are not supported by this model', body['logprobs'] === true ? 'logprobs' : 'top_logprobs');
  }
  if (Array.isArray(body['modalities']) && body['modalities'].includes('audio')) {
    throw invalid('audio output is not supported by this model', 'modalities');
  }
};

/**
 * Translates an OpenAI Chat Completions request body into an Anthropic Messages request body for the
 * route's upstream model. Throws {@link InvalidRequestError} (rendered as 400) for what cannot be
 * served: `n > 1`, `logprobs`, audio, custom tools, file ids, malformed tool-call arguments.
 *
 * @example
 * chatRequestToMessages(
 *   { model: 'claude', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] },
 *   { upstreamModel: 'claude-sonnet-4-6', defaultMaxTokens: 4096 },
 * );
 * // { model: 'claude-sonnet-4-6', max_tokens: 4096, system: [{ type: 'text', text: 'Be brief.' }],
 * //   messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }
 */
export const chatRequestToMessages = (
  body: Record<string, unknown>,
  options: ChatToMessagesOptions,
): Record<string, unknown> => {
  refuseUnservable(body);
  const maxTokens =
    positiveInt(body['max_completion_tokens']) ?? positiveInt(body['max_tokens']) ?? options.defaultMaxTokens;
  const { system, turns } = translateMessages(body['messages']);
  const { tools, choice } = translateTools(body);
  limitCacheBreakpoints([tools, system, ...turns.map((turn) => turn.content)]);

  const stop = typeof body['stop'] === 'string' ? [body['stop']] : Array.isArray(body['stop']) ? body['stop'] : [];
  const stopSequences = stop.filter((entry): entry is string => typeof entry === 'string' && entry.trim().length > 0);

  const adaptiveOnly = isAdaptiveOnlyModel(options.upstreamModel);
  const reasoning = resolveReasoning(body, maxTokens, adaptiveOnly);
  const thinkingOn = reasoning.thinking !== undefined && reasoning.thinking['type'] !== 'disabled';
  const thinking = !thinkingOn || thinkingAllowed(choice, turns) ? reasoning.thinking : undefined;
  const format = isRecord(body['response_format']) ? body['response_format'] : undefined;
  const schema =
    format?.['type'] === 'json_schema' && isRecord(format['json_schema']) && isRecord(format['json_schema']['schema'])
      ? format['json_schema']['schema']
      : undefined;

  return messagesBody({
    model: options.upstreamModel,
    maxTokens,
    system,
    turns,
    tools,
    choice,
    stopSequences,
    thinking,
    effort: reasoning.effort,
    schema,
    // Sampling parameters: refused by adaptive-only models, and by every model while thinking.
    sampling: !adaptiveOnly && !(thinkingOn && thinking),
    request: body,
  });
};

// ─── response ────────────────────────────────────────────────────────────────────────────────────

/**
 * An Anthropic answer's usage (as observed) → OpenAI usage. `prompt_tokens` = input + cache reads +
 * cache writes (OpenAI's count includes cached input; Anthropic's `input_tokens` does not),
 * `cached_tokens` = cache reads.
 */
const chatUsage = (observed: ObservedUsage): Json => {
  const tokens = openAITokenCounts(observed);
  const promptDetails: Json = { cached_tokens: tokens.cacheRead };
  if (tokens.cacheWrite > 0) promptDetails['cache_write_tokens'] = tokens.cacheWrite;
  return {
    prompt_tokens: tokens.input,
    completion_tokens: tokens.output,
    total_tokens: tokens.input + tokens.output,
    prompt_tokens_details: promptDetails,
    completion_tokens_details: { reasoning_tokens: tokens.reasoning },
  };
};

export interface MessagesToChatOptions {
  /** The model id the client asked for (not the upstream's). */
  model: string;
}

/**
 * Translates an Anthropic Messages response into an OpenAI `chat.completion`. Text blocks become
 * `content`, tool_use blocks `tool_calls` (input re-encoded as the `arguments` string), thinking
 * blocks `reasoning_content` (signatures and redacted thinking dropped: an OpenAI client cannot
 * send them back).
 *
 * @example
 * messagesResponseToChat(JSON.parse(await upstream.text()), { model: 'claude-sonnet' }).choices[0].message.content;
 */
export const messagesResponseToChat = (
  message: Record<string, unknown>,
  options: MessagesToChatOptions,
): Record<string, unknown> => {
  const blocks = records(message['content']);
  const texts = blocks.filter((block) => block['type'] === 'text').map((block) => text(block['text']) ?? '');
  const reasoning = blocks
    .map((block) => (block['type'] === 'thinking' ? (text(block['thinking']) ?? '') : ''))
    .join('');
  const toolCalls = blocks
    .filter((block) => block['type'] === 'tool_use')
    .map((block) => ({
      id: text(block['id']) ?? '',
      type: 'function',
      function: { name: text(block['name']) ?? '', arguments: JSON.stringify(block['input'] ?? {}) },
    }));
  const reply: Json = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, refusal: null };
  if (reasoning.length > 0) reply['reasoning_content'] = reasoning;
  if (toolCalls.length > 0) reply['tool_calls'] = toolCalls;
  const completion: Json = {
    id: text(message['id']) ?? `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: nowSeconds(),
    model: options.model,
    choices: [{ index: 0, message: reply, logprobs: null, finish_reason: finishReasonFor(message['stop_reason']) }],
  };
  if (isRecord(message['usage'])) completion['usage'] = chatUsage(usageOfMessage(message['usage']));
  return completion;
};

// ─── stream ──────────────────────────────────────────────────────────────────────────────────────

export interface MessagesToChatStreamOptions {
  /** The model id the client asked for (not the upstream's). */
  model: string;
  /** The client's `stream_options.include_usage`: send the usage-only chunk (and `usage: null` on the others). */
  includeUsage: boolean;
  /** Prices the observed usage: the usage-only chunk's `usage.cost` (answer-cost.ts). */
  cost?: AnswerCost | undefined;
}

/** What the Chat side of a translated stream keeps between events. */
interface ChatStreamState {
  /** Every chunk's id: the upstream message id when `message_start` came first, else a fresh one. */
  id: string | undefined;
  /** The first chunk (`role: 'assistant'`) went out. */
  started: boolean;
  /** Anthropic content-block index → OpenAI `tool_calls` index, for tool_use blocks only (numbered from 0). */
  toolIndexes: Map<number, number>;
}

/**
 * Turns Anthropic Messages stream events into `chat.completion.chunk` frames: a first chunk with
 * `role: 'assistant'`, content / `tool_calls` / `reasoning_content` deltas (tool calls numbered from 0
 * in block order), a chunk with `finish_reason`, the usage-only chunk (`choices: []`, usage as
 * observed) when `includeUsage`, then `data: [DONE]`. Every chunk has the same id, created and model.
 * `ping` yields nothing; an upstream `error` event becomes OpenAI's in-stream error frame and ends
 * the stream.
 *
 * @example
 * const translator = createMessagesToChatStream({ model: 'claude-sonnet', includeUsage: true });
 * const observer = streamObserver('messages');
 * const reader = createSseReader((e) => {
 *   const event = { event: e.event, data: parseEventData(e.data), raw: e.data };
 *   observer.onEvent(event);
 *   write(translator.push(event, observer.observation));
 * });
 * // …feed the upstream bytes to reader, then:
 * write(translator.end(observer.observation));
 */
export const createMessagesToChatStream = (options: MessagesToChatStreamOptions): StreamTranslator => {
  const created = nowSeconds();
  const state: ChatStreamState = { id: undefined, started: false, toolIndexes: new Map() };

  const chunk = (choices: Json[], usage?: Json): Uint8Array => {
    state.id ??= `chatcmpl-${randomUUID()}`;
    const value: Json = { id: state.id, object: 'chat.completion.chunk', created, model: options.model, choices };
    if (options.includeUsage) value['usage'] = usage ?? null;
    return sseFrame(JSON.stringify(value));
  };
  const delta = (value: Json, finishReason: FinishReason | null = null): Json[] => [
    { index: 0, delta: value, logprobs: null, finish_reason: finishReason },
  ];
  /** Sends the first chunk before `frames` if it has not gone out yet. */
  const begin = (frames: Uint8Array[]): Uint8Array[] => {
    if (!state.started) {
      state.started = true;
      frames.unshift(chunk(delta({ role: 'assistant', content: '' })));
    }
    return frames;
  };

  return readMessagesStream(
    {
      onStart(messageId) {
        if (!state.started) state.id ??= messageId;
        return begin([]);
      },
      onText: (piece) => begin([chunk(delta({ content: piece }))]),
      onThinking: (piece) => begin([chunk(delta({ reasoning_content: piece }))]),
      onToolCallStart(call, index) {
        const toolIndex = state.toolIndexes.size;
        state.toolIndexes.set(index, toolIndex);
        const start = {
          index: toolIndex,
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.input },
        };
        return begin([chunk(delta({ tool_calls: [start] }))]);
      },
      onToolArgs(piece, index) {
        const toolIndex = state.toolIndexes.get(index);
        if (toolIndex === undefined) return [];
        return begin([chunk(delta({ tool_calls: [{ index: toolIndex, function: { arguments: piece } }] }))]);
      },
      // No onSignature: thinking signatures (like citations) are nothing an OpenAI client can use.
      onStop(stopReason, observed) {
        const frames = begin([]);
        frames.push(chunk(delta({}, finishReasonFor(stopReason))));
        if (options.includeUsage) frames.push(chunk([], withCost(chatUsage(observed), observed.usage, options.cost)));
        frames.push(sseFrame('[DONE]'));
        return frames;
      },
      onError: (type, message) => [openAIStreamError(type, message)],
    },
    'message',
  );
};
