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
import { InvalidRequestError } from '../../gateway/errors.ts';
import { openAIStreamError } from '../openai-chat.ts';
import { sseFrame } from '../sse.ts';
import { count } from '../usage.ts';
import type { StreamTranslator, TranslatedError, UpstreamEvent } from './types.ts';

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const invalid = (message: string, param: string): InvalidRequestError => {
  const error = new InvalidRequestError(message);
  error.param = param;
  return error;
};

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

/** Top-level Chat fields the translation reads; {@link droppedChatFields} reports the others. */
const TRANSLATED_CHAT_FIELDS = new Set([
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'stream',
  'stop',
  'temperature',
  'top_p',
  'tools',
  'functions',
  'tool_choice',
  'function_call',
  'parallel_tool_calls',
  'user',
  'safety_identifier',
  'reasoning_effort',
  'thinking',
  'response_format',
  // Checked: a value that cannot be served is refused (n > 1, logprobs, audio output).
  'n',
  'logprobs',
  'top_logprobs',
  'modalities',
]);

/**
 * The top-level fields of a Chat request that the Messages body will not carry (for logs and
 * metrics; see {@link DROPPED_CHAT_FIELDS} for why).
 *
 * @example droppedChatFields({ model: 'm', messages: [], seed: 1 }); // ['seed']
 */
export const droppedChatFields = (body: Record<string, unknown>): string[] =>
  Object.keys(body).filter((field) => !TRANSLATED_CHAT_FIELDS.has(field));

/** Anthropic accepts temperature in [0, 1]; OpenAI's [0, 2] is clamped (as Anthropic's compatibility layer does). */
export const MAX_ANTHROPIC_TEMPERATURE = 1;

/**
 * `reasoning_effort` → `thinking.budget_tokens` for models that take a manual thinking budget.
 * `none` sends no thinking config. The budget is then capped at `max_tokens − 1024`, so the answer
 * keeps at least 1024 tokens (thinking counts toward `max_tokens` on both sides); below Anthropic's
 * 1024 minimum, thinking stays off.
 */
export const THINKING_BUDGETS = {
  minimal: 1024,
  low: 4096,
  medium: 8192,
  high: 16_384,
  xhigh: 24_576,
  max: 32_768,
} as const;

/** Anthropic's smallest thinking budget, also the output kept for the answer. */
const MIN_THINKING_BUDGET = 1024;

/** `reasoning_effort` → `output_config.effort` (with adaptive thinking) for adaptive-only models. */
export const ADAPTIVE_EFFORTS = {
  minimal: 'low',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'xhigh',
  max: 'max',
} as const;

type Effort = keyof typeof THINKING_BUDGETS;
const isEffort = (value: unknown): value is Effort =>
  typeof value === 'string' && Object.hasOwn(THINKING_BUDGETS, value);

/**
 * Models that take adaptive thinking only and reject `budget_tokens`, `temperature` and `top_p` with a
 * 400: Claude Opus 4.7 and later, Mythos, Fable and the Claude 5 families. Older models take a budget.
 */
export const isAdaptiveOnlyModel = (model: string): boolean =>
  /claude-(?:opus-4-(?:[7-9]|\d{2,})|mythos|fable|(?:opus|sonnet|haiku)-(?:[5-9]|\d{2,}))(?!\d)/.test(model);

// ─── request ─────────────────────────────────────────────────────────────────────────────────────

export interface ChatToMessagesOptions {
  /** The Messages `model`: the route's upstream model id. */
  upstreamModel: string;
  /** `max_tokens` when the request names neither `max_completion_tokens` nor `max_tokens`. */
  defaultMaxTokens: number;
  /** Overrides {@link isAdaptiveOnlyModel} for the upstream model. */
  adaptiveOnly?: boolean;
}

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const MAX_CACHE_BREAKPOINTS = 4;

interface Turn {
  role: 'user' | 'assistant';
  content: Json[];
}

/** `data:<type>;base64,<data>` → its parts. */
const parseDataUrl = (url: string): { mediaType: string; data: string } | undefined => {
  const match = /^data:([^;,]+)(?:;[^;,=]+=[^;,]*)*;base64,(.*)$/s.exec(url);
  return match?.[1] && match[2] !== undefined ? { mediaType: match[1].toLowerCase(), data: match[2] } : undefined;
};

/** OpenRouter-style `cache_control` on a part, or OpenAI's `prompt_cache_breakpoint`, as an Anthropic breakpoint. */
const withCache = (block: Json, part: Json): Json => {
  const control = part.cache_control;
  if (isRecord(control) && control.type === 'ephemeral') {
    block.cache_control =
      control.ttl === '1h' || control.ttl === '5m' ? { type: 'ephemeral', ttl: control.ttl } : { type: 'ephemeral' };
  } else if (isRecord(part.prompt_cache_breakpoint)) {
    block.cache_control = { type: 'ephemeral' };
  }
  return block;
};

/** Text-only content (system, developer, tool, assistant): a string or text parts; blank texts dropped. */
const textBlocks = (content: unknown, where: string, allowRefusal = false): Json[] => {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content.trim().length > 0 ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) throw invalid(`${where}.content must be a string or an array of parts`, where);
  const blocks: Json[] = [];
  content.forEach((part: unknown, index) => {
    const at = `${where}.content[${index}]`;
    if (!isRecord(part)) throw invalid(`${at} must be an object`, at);
    const value =
      part.type === 'text' ? text(part.text) : allowRefusal && part.type === 'refusal' ? text(part.refusal) : undefined;
    if (value === undefined) throw invalid(`${at}: content part type '${String(part.type)}' is not allowed here`, at);
    if (value.trim().length > 0) blocks.push(withCache({ type: 'text', text: value }, part));
  });
  return blocks;
};

const imageBlock = (part: Json, at: string): Json => {
  const url = isRecord(part.image_url) ? text(part.image_url.url) : undefined;
  if (!url) throw invalid(`${at}.image_url.url is required`, at);
  const data = parseDataUrl(url);
  if (data) {
    if (!IMAGE_TYPES.has(data.mediaType)) {
      throw invalid(`${at}: image type '${data.mediaType}' is not supported by this model (jpeg, png, gif, webp)`, at);
    }
    return withCache({ type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } }, part);
  }
  if (!/^https?:\/\//i.test(url)) throw invalid(`${at}: an image must be an http(s) URL or a base64 data URL`, at);
  return withCache({ type: 'image', source: { type: 'url', url } }, part);
};

const fileBlock = (part: Json, at: string): Json => {
  const file = isRecord(part.file) ? part.file : {};
  const data = typeof file.file_data === 'string' ? parseDataUrl(file.file_data) : undefined;
  if (data?.mediaType !== 'application/pdf') {
    throw invalid(`${at}: only PDF files sent inline as file_data (a base64 data URL) reach this model`, at);
  }
  const block: Json = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data.data } };
  if (typeof file.filename === 'string' && file.filename.length > 0) block.title = file.filename;
  return withCache(block, part);
};

/** User content: text, images (URL or data URL) and inline PDFs. Audio and file ids cannot be served. */
const userBlocks = (content: unknown, where: string): Json[] => {
  if (!Array.isArray(content)) return textBlocks(content, where);
  return content.flatMap((part: unknown, index): Json[] => {
    const at = `${where}.content[${index}]`;
    if (!isRecord(part)) throw invalid(`${at} must be an object`, at);
    switch (part.type) {
      case 'text':
        return textBlocks([part], where);
      case 'image_url':
        return [imageBlock(part, at)];
      case 'file':
        return [fileBlock(part, at)];
      case 'input_audio':
        throw invalid(`${at}: audio input is not supported by this model`, at);
      default:
        throw invalid(`${at}: content part type '${String(part.type)}' is not supported by this model`, at);
    }
  });
};

/** Anthropic tool ids must match `^[a-zA-Z0-9_-]+$`; other vendors' ids are made to fit, the same way both ends. */
const toolId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, '_');

const toolInput = (args: unknown, at: string): Json => {
  if (args === undefined || args === null || (typeof args === 'string' && args.trim() === '')) return {};
  let parsed: unknown = args;
  if (typeof args === 'string') {
    try {
      parsed = JSON.parse(args);
    } catch {
      throw invalid(`${at}.arguments is not valid JSON; Anthropic needs a tool call's input as a JSON object`, at);
    }
  }
  if (!isRecord(parsed)) throw invalid(`${at}.arguments must be a JSON object`, at);
  return parsed;
};

/** What the translation of the message list needs to remember across messages. */
interface MessageState {
  system: Json[];
  turns: Turn[];
  /** Legacy `function_call` turns get synthetic ids; the next `function` message with that name answers it. */
  legacyCalls: Map<string, string>;
}

const pushTurn = (state: MessageState, role: Turn['role'], blocks: Json[]): void => {
  if (blocks.length === 0) return;
  const last = state.turns.at(-1);
  // Anthropic needs alternating roles: adjacent same-role turns (e.g. consecutive tool results) merge.
  if (last?.role === role) last.content.push(...blocks);
  else state.turns.push({ role, content: [...blocks] });
};

const assistantBlocks = (message: Json, where: string, state: MessageState, index: number): Json[] => {
  const blocks = textBlocks(message.content, where, true);
  const refusal = text(message.refusal);
  if (blocks.length === 0 && refusal) blocks.push({ type: 'text', text: refusal });
  const calls = message.tool_calls;
  if (calls !== undefined && calls !== null && !Array.isArray(calls)) {
    throw invalid(`${where}.tool_calls must be an array`, `${where}.tool_calls`);
  }
  (calls ?? []).forEach((call: unknown, callIndex: number) => {
    const at = `${where}.tool_calls[${callIndex}]`;
    if (
      !isRecord(call) ||
      !isRecord(call.function) ||
      typeof call.id !== 'string' ||
      typeof call.function.name !== 'string'
    ) {
      throw invalid(`${at} must be a function call with an id and a name (custom tools cannot be served)`, at);
    }
    const input = toolInput(call.function.arguments, `${at}.function`);
    blocks.push({ type: 'tool_use', id: toolId(call.id), name: call.function.name, input });
  });
  const legacy = message.function_call;
  if (isRecord(legacy) && typeof legacy.name === 'string') {
    const id = `call_legacy_${index}`;
    state.legacyCalls.set(legacy.name, id);
    blocks.push({
      type: 'tool_use',
      id,
      name: legacy.name,
      input: toolInput(legacy.arguments, `${where}.function_call`),
    });
  }
  return blocks;
};

const toolResult = (toolUseId: string, content: unknown, where: string, isError: unknown): Json => {
  const block: Json = { type: 'tool_result', tool_use_id: toolId(toolUseId) };
  if (typeof content === 'string') {
    if (content.length > 0) block.content = content;
  } else {
    const parts = textBlocks(content, where);
    if (parts.length > 0) block.content = parts;
  }
  // Not an OpenAI field, but clients that know Anthropic send it; keeping it costs nothing.
  if (isError === true) block.is_error = true;
  return block;
};

/** Anthropic wants a user turn's tool_result blocks before anything else in it. */
const toolResultsFirst = (blocks: Json[]): Json[] => [
  ...blocks.filter((block) => block.type === 'tool_result'),
  ...blocks.filter((block) => block.type !== 'tool_result'),
];

/** Adds one Chat message to the Messages conversation being built. */
const addMessage = (state: MessageState, message: unknown, index: number): void => {
  const where = `messages[${index}]`;
  if (!isRecord(message)) throw invalid(`${where} must be an object`, where);
  switch (message.role) {
    case 'system':
    case 'developer':
      // Anthropic has one system prompt: every system/developer message is hoisted into it, in order.
      state.system.push(...textBlocks(message.content, where));
      return;
    case 'user':
      pushTurn(state, 'user', userBlocks(message.content, where));
      return;
    case 'assistant':
      pushTurn(state, 'assistant', assistantBlocks(message, where, state, index));
      return;
    case 'tool': {
      if (typeof message.tool_call_id !== 'string') throw invalid(`${where}.tool_call_id is required`, where);
      pushTurn(state, 'user', [toolResult(message.tool_call_id, message.content, where, message.is_error)]);
      return;
    }
    case 'function': {
      const name = text(message.name) ?? '';
      const id = state.legacyCalls.get(name);
      if (!id) throw invalid(`${where}: no earlier assistant function_call named '${name}'`, where);
      pushTurn(state, 'user', [toolResult(id, message.content, where, false)]);
      return;
    }
    default:
      throw invalid(`${where}.role '${String(message.role)}' is not supported`, `${where}.role`);
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

interface ToolsAndChoice {
  tools: Json[];
  choice: Json | undefined;
}

const functionTool = (fn: unknown, at: string): Json => {
  if (!isRecord(fn) || typeof fn.name !== 'string') throw invalid(`${at} must be a function with a name`, at);
  const tool: Json = {
    name: fn.name,
    input_schema: isRecord(fn.parameters) ? { type: 'object', ...fn.parameters } : { type: 'object', properties: {} },
  };
  if (typeof fn.description === 'string' && fn.description.length > 0) tool.description = fn.description;
  return tool;
};

const namedChoice = (choice: Json, at: string): string => {
  const fn = choice.function;
  if (choice.type !== 'function' || !isRecord(fn) || typeof fn.name !== 'string') {
    throw invalid(`${at} must name a function tool (custom tools cannot be served)`, at);
  }
  return fn.name;
};

/** tools/functions and tool_choice/function_call: auto/none/required/named → auto/none/any/tool. */
const translateTools = (body: Json): ToolsAndChoice => {
  let tools: Json[] = [];
  if (Array.isArray(body.tools)) {
    tools = body.tools.map((tool: unknown, index) => {
      const at = `tools[${index}]`;
      if (!isRecord(tool) || tool.type !== 'function')
        throw invalid(`${at}: only function tools can be served by this model`, at);
      return functionTool(tool.function, `${at}.function`);
    });
  } else if (Array.isArray(body.functions)) {
    tools = body.functions.map((fn: unknown, index) => functionTool(fn, `functions[${index}]`));
  }
  if (tools.length === 0) return { tools, choice: undefined };

  const requested = body.tool_choice ?? body.function_call;
  const param = body.tool_choice !== undefined ? 'tool_choice' : 'function_call';
  let choice: Json | undefined;
  if (requested === 'none') choice = { type: 'none' };
  else if (requested === 'auto') choice = { type: 'auto' };
  else if (requested === 'required') choice = { type: 'any' };
  else if (isRecord(requested) && requested.type === 'allowed_tools') {
    // Anthropic cannot restrict a call to a subset of the tools, so only that subset is offered.
    const allowed = isRecord(requested.allowed_tools) ? requested.allowed_tools : {};
    const names = new Set(
      (Array.isArray(allowed.tools) ? allowed.tools : []).map((entry: unknown) =>
        isRecord(entry) && isRecord(entry.function) ? entry.function.name : undefined,
      ),
    );
    tools = tools.filter((tool) => names.has(tool.name));
    if (tools.length === 0) throw invalid('tool_choice.allowed_tools names none of the tools', param);
    choice = { type: allowed.mode === 'required' ? 'any' : 'auto' };
  } else if (isRecord(requested)) {
    // function_call: {name} (legacy) or tool_choice: {type: 'function', function: {name}}.
    const name =
      param === 'function_call' && typeof requested.name === 'string' ? requested.name : namedChoice(requested, param);
    choice = { type: 'tool', name };
  } else if (requested !== undefined && requested !== null) {
    throw invalid(`${param} '${String(requested)}' is not supported`, param);
  }
  if (body.parallel_tool_calls === false && choice?.type !== 'none') {
    choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return { tools, choice };
};

/** Keeps the last four cache breakpoints in prompt order (tools, system, messages); Anthropic refuses a fifth. */
const limitCacheBreakpoints = (groups: Json[][]): void => {
  const marked = groups.flat().filter((block) => block.cache_control !== undefined);
  for (const block of marked.slice(0, Math.max(0, marked.length - MAX_CACHE_BREAKPOINTS))) delete block.cache_control;
};

interface Reasoning {
  thinking?: Json;
  effort?: string;
}

/** Anthropic's own compatibility extension: a `thinking` object in the Chat body, checked and kept. */
const explicitThinking = (thinking: Json, maxTokens: number): Json => {
  const display =
    thinking.display === 'summarized' || thinking.display === 'omitted' ? { display: thinking.display } : {};
  if (thinking.type === 'disabled') return { type: 'disabled' };
  if (thinking.type === 'adaptive') return { type: 'adaptive', ...display };
  const budget = thinking.budget_tokens;
  if (thinking.type !== 'enabled' || typeof budget !== 'number' || !Number.isInteger(budget)) {
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
  if (isRecord(body.thinking)) return { thinking: explicitThinking(body.thinking, maxTokens) };
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null || effort === 'none') return {};
  if (!isEffort(effort)) throw invalid(`reasoning_effort '${String(effort)}' is not supported`, 'reasoning_effort');
  if (adaptiveOnly) return { thinking: { type: 'adaptive' }, effort: ADAPTIVE_EFFORTS[effort] };
  const budget = Math.min(THINKING_BUDGETS[effort], maxTokens - MIN_THINKING_BUDGET);
  return budget >= MIN_THINKING_BUDGET ? { thinking: { type: 'enabled', budget_tokens: budget } } : {};
};

/**
 * Anthropic refuses thinking with a forced tool choice, and (error "a final assistant message must
 * start with a thinking block") when continuing a tool loop whose assistant turn came without its
 * signed thinking block, which an OpenAI client never has. Thinking is left off in both cases.
 */
const thinkingAllowed = (choice: Json | undefined, turns: Turn[]): boolean => {
  if (choice?.type === 'any' || choice?.type === 'tool') return false;
  const last = turns.at(-1);
  return !(last?.role === 'user' && last.content.some((block) => block.type === 'tool_result'));
};

const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/** Requests Tollgate cannot serve through Messages: refused rather than answered differently. */
const refuseUnservable = (body: Json): void => {
  if (typeof body.n === 'number' && body.n > 1) {
    throw invalid('n > 1 is not supported by this model: it returns one choice per request', 'n');
  }
  if (body.logprobs === true || (typeof body.top_logprobs === 'number' && body.top_logprobs > 0)) {
    throw invalid('logprobs are not supported by this model', body.logprobs === true ? 'logprobs' : 'top_logprobs');
  }
  if (Array.isArray(body.modalities) && body.modalities.includes('audio')) {
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
  const maxTokens = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens) ?? options.defaultMaxTokens;
  const { system, turns } = translateMessages(body.messages);
  const { tools, choice } = translateTools(body);
  limitCacheBreakpoints([tools, system, ...turns.map((turn) => turn.content)]);

  const out: Json = { model: options.upstreamModel, max_tokens: maxTokens };
  if (system.length > 0) out.system = system;
  out.messages = turns;
  if (tools.length > 0) out.tools = tools;
  if (choice) out.tool_choice = choice;

  const stop = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? body.stop : [];
  const sequences = stop.filter((entry): entry is string => typeof entry === 'string' && entry.trim().length > 0);
  if (sequences.length > 0) out.stop_sequences = sequences;

  const adaptiveOnly = options.adaptiveOnly ?? isAdaptiveOnlyModel(options.upstreamModel);
  const reasoning = resolveReasoning(body, maxTokens, adaptiveOnly);
  const thinkingOn = reasoning.thinking !== undefined && reasoning.thinking.type !== 'disabled';
  if (reasoning.thinking && (!thinkingOn || thinkingAllowed(choice, turns))) out.thinking = reasoning.thinking;
  const outputConfig: Json = {};
  if (reasoning.effort) outputConfig.effort = reasoning.effort;
  const format = isRecord(body.response_format) ? body.response_format : undefined;
  if (format?.type === 'json_schema' && isRecord(format.json_schema) && isRecord(format.json_schema.schema)) {
    outputConfig.format = { type: 'json_schema', schema: format.json_schema.schema };
  }
  if (Object.keys(outputConfig).length > 0) out.output_config = outputConfig;

  // Sampling parameters: refused by adaptive-only models, and by every model while thinking.
  if (!adaptiveOnly && !(thinkingOn && out.thinking)) {
    if (typeof body.temperature === 'number') {
      out.temperature = Math.min(MAX_ANTHROPIC_TEMPERATURE, Math.max(0, body.temperature));
    } else if (typeof body.top_p === 'number') {
      out.top_p = body.top_p;
    }
  }

  const user = text(body.safety_identifier) ?? text(body.user);
  if (user) out.metadata = { user_id: user };
  if (typeof body.stream === 'boolean') out.stream = body.stream;
  return out;
};

// ─── response ────────────────────────────────────────────────────────────────────────────────────

type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** Anthropic `stop_reason` → OpenAI `finish_reason` (anything unknown ends as `stop`). */
export const finishReasonFor = (stopReason: unknown): FinishReason =>
  (typeof stopReason === 'string' ? FINISH_REASONS[stopReason] : undefined) ?? 'stop';

interface AnthropicUsageFields {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  output_tokens_details?: unknown;
}

/**
 * Anthropic usage → OpenAI usage. `prompt_tokens` = input + cache reads + cache writes (OpenAI's
 * count includes cached input; Anthropic's `input_tokens` does not), `cached_tokens` = cache reads.
 */
export const chatUsageFromAnthropic = (usage: AnthropicUsageFields): Json => {
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheWrite = count(usage.cache_creation_input_tokens);
  const prompt = count(usage.input_tokens) + cacheRead + cacheWrite;
  const completion = count(usage.output_tokens);
  const promptDetails: Json = { cached_tokens: cacheRead };
  if (cacheWrite > 0) promptDetails.cache_write_tokens = cacheWrite;
  const details = isRecord(usage.output_tokens_details) ? usage.output_tokens_details : {};
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: promptDetails,
    completion_tokens_details: { reasoning_tokens: count(details.thinking_tokens) },
  };
};

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface MessagesToChatOptions {
  /** The model id the client asked for (not the upstream's). */
  model: string;
  /** Unix seconds for `created`; now by default. */
  created?: number;
}

/**
 * Translates an Anthropic Messages response into an OpenAI `chat.completion`. Text blocks become
 * `content`, tool_use blocks `tool_calls` (input re-encoded as the `arguments` string), thinking
 * blocks `reasoning_content` (signatures and redacted thinking dropped: an OpenAI client cannot
 * send them back).
 *
 * @example
 * messagesResponseToChat(await upstream.json(), { model: 'claude-sonnet' }).choices[0].message.content;
 */
export const messagesResponseToChat = (
  message: Record<string, unknown>,
  options: MessagesToChatOptions,
): Record<string, unknown> => {
  const blocks = Array.isArray(message.content) ? message.content.filter(isRecord) : [];
  const texts = blocks.filter((block) => block.type === 'text').map((block) => text(block.text) ?? '');
  const reasoning = blocks.map((block) => (block.type === 'thinking' ? (text(block.thinking) ?? '') : '')).join('');
  const toolCalls = blocks
    .filter((block) => block.type === 'tool_use')
    .map((block) => ({
      id: text(block.id) ?? '',
      type: 'function',
      function: { name: text(block.name) ?? '', arguments: JSON.stringify(block.input ?? {}) },
    }));
  const reply: Json = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, refusal: null };
  if (reasoning.length > 0) reply.reasoning_content = reasoning;
  if (toolCalls.length > 0) reply.tool_calls = toolCalls;
  const completion: Json = {
    id: text(message.id) ?? `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: options.created ?? nowSeconds(),
    model: options.model,
    choices: [{ index: 0, message: reply, logprobs: null, finish_reason: finishReasonFor(message.stop_reason) }],
  };
  if (isRecord(message.usage)) completion.usage = chatUsageFromAnthropic(message.usage);
  return completion;
};

// ─── stream ──────────────────────────────────────────────────────────────────────────────────────

export interface MessagesToChatStreamOptions extends MessagesToChatOptions {
  /** The client's `stream_options.include_usage`: send the usage-only chunk (and `usage: null` on the others). */
  includeUsage: boolean;
}

/**
 * Turns Anthropic Messages stream events into `chat.completion.chunk` frames: a first chunk with
 * `role: 'assistant'`, content / `tool_calls` / `reasoning_content` deltas (tool calls numbered from 0
 * in block order), a chunk with `finish_reason`, the usage-only chunk (`choices: []`) when
 * `includeUsage`, then `data: [DONE]`. Every chunk has the same id, created and model. `ping` yields
 * nothing; an upstream `error` event becomes OpenAI's in-stream error frame and ends the stream.
 *
 * @example
 * const translator = createMessagesToChatStream({ model: 'claude-sonnet', includeUsage: true });
 * const reader = createSseReader((e) => write(translator.push({ event: e.event, data: parseEventData(e.data), raw: e.data })));
 * // …feed the upstream bytes to reader, then:
 * write(translator.end());
 */
export const createMessagesToChatStream = (options: MessagesToChatStreamOptions): StreamTranslator => {
  const created = options.created ?? nowSeconds();
  let id: string | undefined;
  let started = false;
  let finished = false;
  let stopReason: unknown;
  let usage: AnthropicUsageFields = {};
  let nextToolIndex = 0;
  /** Anthropic content-block index → OpenAI tool_calls index, for tool_use blocks only. */
  const toolIndexes = new Map<number, number>();
  /** tool_use blocks whose input came whole in content_block_start (then no input_json_delta follows). */
  const completeInputs = new Set<number>();

  const chunk = (choices: Json[], usageValue?: Json): Uint8Array => {
    id ??= `chatcmpl-${randomUUID()}`;
    const value: Json = { id, object: 'chat.completion.chunk', created, model: options.model, choices };
    if (options.includeUsage) value.usage = usageValue ?? null;
    return sseFrame(JSON.stringify(value));
  };
  const delta = (value: Json, finishReason: FinishReason | null = null): Json[] => [
    { index: 0, delta: value, logprobs: null, finish_reason: finishReason },
  ];
  const begin = (frames: Uint8Array[]): Uint8Array[] => {
    if (!started) {
      started = true;
      frames.unshift(chunk(delta({ role: 'assistant', content: '' })));
    }
    return frames;
  };
  const finish = (): Uint8Array[] => {
    const frames = begin([]);
    frames.push(chunk(delta({}, finishReasonFor(stopReason))));
    if (options.includeUsage) frames.push(chunk([], chatUsageFromAnthropic(usage)));
    frames.push(sseFrame('[DONE]'));
    finished = true;
    return frames;
  };
  const failWith = (type: string, message: string): Uint8Array[] => {
    if (finished) return [];
    finished = true;
    return [openAIStreamError(type, message)];
  };
  /** Later usage wins field by field: message_delta's counts are cumulative, and null means "unchanged". */
  const mergeUsage = (next: unknown): void => {
    if (!isRecord(next)) return;
    const merged: AnthropicUsageFields = { ...usage };
    for (const key of [
      'input_tokens',
      'output_tokens',
      'cache_read_input_tokens',
      'cache_creation_input_tokens',
    ] as const) {
      if (typeof next[key] === 'number') merged[key] = next[key];
    }
    if (isRecord(next.output_tokens_details)) merged.output_tokens_details = next.output_tokens_details;
    usage = merged;
  };

  const blockStart = (data: Json): Uint8Array[] => {
    const block = isRecord(data.content_block) ? data.content_block : {};
    const index = typeof data.index === 'number' ? data.index : -1;
    if (block.type === 'text' && text(block.text)) return begin([chunk(delta({ content: block.text }))]);
    if (block.type === 'thinking' && text(block.thinking))
      return begin([chunk(delta({ reasoning_content: block.thinking }))]);
    if (block.type !== 'tool_use') return [];
    const toolIndex = nextToolIndex++;
    toolIndexes.set(index, toolIndex);
    const input = isRecord(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
    if (input) completeInputs.add(index);
    const call = {
      index: toolIndex,
      id: text(block.id) ?? '',
      type: 'function',
      function: { name: text(block.name) ?? '', arguments: input },
    };
    return begin([chunk(delta({ tool_calls: [call] }))]);
  };

  const blockDelta = (data: Json): Uint8Array[] => {
    const change = isRecord(data.delta) ? data.delta : {};
    const index = typeof data.index === 'number' ? data.index : -1;
    switch (change.type) {
      case 'text_delta':
        return text(change.text) ? begin([chunk(delta({ content: change.text }))]) : [];
      case 'thinking_delta':
        return text(change.thinking) ? begin([chunk(delta({ reasoning_content: change.thinking }))]) : [];
      case 'input_json_delta': {
        const toolIndex = toolIndexes.get(index);
        const partial = text(change.partial_json);
        if (toolIndex === undefined || !partial || completeInputs.has(index)) return [];
        return begin([chunk(delta({ tool_calls: [{ index: toolIndex, function: { arguments: partial } }] }))]);
      }
      default:
        // signature_delta and citations_delta: nothing an OpenAI client can use.
        return [];
    }
  };

  return {
    push(event: UpstreamEvent): Uint8Array[] {
      const data = event.data;
      if (finished || !data) return [];
      switch (event.event ?? data.type) {
        case 'message_start': {
          const message = isRecord(data.message) ? data.message : {};
          if (!started) id ??= text(message.id);
          mergeUsage(message.usage);
          return begin([]);
        }
        case 'content_block_start':
          return blockStart(data);
        case 'content_block_delta':
          return blockDelta(data);
        case 'message_delta': {
          if (isRecord(data.delta) && data.delta.stop_reason !== undefined) stopReason = data.delta.stop_reason;
          mergeUsage(data.usage);
          return [];
        }
        case 'message_stop':
          return finish();
        case 'error': {
          const error = isRecord(data.error) ? data.error : {};
          return failWith(openAIErrorType(text(error.type), undefined), text(error.message) ?? 'Upstream error');
        }
        default:
          // ping, content_block_stop and event types added later: nothing to send.
          return [];
      }
    },
    end(): Uint8Array[] {
      if (finished) return [];
      // A stream cut after message_delta lacks only message_stop; before it, the answer is incomplete.
      if (stopReason !== undefined && stopReason !== null) return finish();
      return failWith('api_error', 'Upstream stream ended before the message was complete');
    },
    fail(type: string, message: string): Uint8Array[] {
      return failWith(type, message);
    },
  };
};

// ─── errors ──────────────────────────────────────────────────────────────────────────────────────

/** Anthropic error types an OpenAI client sees under the same name (Tollgate's error vocabulary). */
const KEPT_ERROR_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'rate_limit_error',
  'api_error',
  'overloaded_error',
]);

const RENAMED_ERROR_TYPES: Readonly<Record<string, string>> = {
  request_too_large: 'invalid_request_error',
  conflict_error: 'invalid_request_error',
  memory_precondition_failed_error: 'invalid_request_error',
  memory_path_conflict_error: 'invalid_request_error',
  timeout_error: 'api_error',
};

const typeForStatus = (status: number | undefined): string => {
  if (status === undefined || status >= 500) return status === 529 ? 'overloaded_error' : 'api_error';
  const byStatus: Record<number, string> = {
    401: 'authentication_error',
    402: 'billing_error',
    403: 'permission_error',
    404: 'not_found_error',
    429: 'rate_limit_error',
  };
  return byStatus[status] ?? 'invalid_request_error';
};

const openAIErrorType = (anthropicType: string | undefined, status: number | undefined): string => {
  if (anthropicType && KEPT_ERROR_TYPES.has(anthropicType)) return anthropicType;
  return (anthropicType && RENAMED_ERROR_TYPES[anthropicType]) ?? typeForStatus(status);
};

/**
 * Renders an Anthropic error response (status and raw body) in the OpenAI envelope
 * `{"error":{"message","type","param","code"}}`, status kept (529 stays 529). The type keeps
 * Anthropic's name where Tollgate uses it too; `code` carries Anthropic's `details.error_code`.
 *
 * @example
 * anthropicErrorToOpenAI(529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
 * // { status: 529, body: '{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}' }
 */
export const anthropicErrorToOpenAI = (status: number, body: string): TranslatedError => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON (a proxy's HTML page, a cut body): the status decides.
  }
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : {};
  const detail = isRecord(error.details) ? text(error.details.error_code) : undefined;
  const raw = body.trim();
  const message =
    text(error.message) ??
    (raw && !raw.startsWith('<')
      ? `Upstream error (HTTP ${status}): ${raw.slice(0, 300)}`
      : `Upstream error (HTTP ${status})`);
  const inner = { message, type: openAIErrorType(text(error.type), status), param: null, code: detail ?? null };
  return { status, body: JSON.stringify({ error: inner }) };
};
