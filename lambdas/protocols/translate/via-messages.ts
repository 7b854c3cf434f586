/**
 * What the two OpenAI-client translations onto an Anthropic Messages upstream share
 * (`chat-via-messages.ts` for Chat Completions, `responses-via-messages.ts` for Responses): Anthropic's
 * conventions (temperature range, thinking budgets, adaptive-only models, tool ids, image types, cache
 * breakpoints), content blocks, tools and the Messages body on the way down; usage and errors on the
 * way back. Each translator reads its own protocol's fields and hands the values here.
 */
import { anthropicEventType, reasoningTokensFromAnthropic, usageFromAnthropic } from '../anthropic-messages.ts';
import type { ObservedUsage } from '../observe.ts';
import { invalid, isRecord, type Json, parseJson, text } from './shared.ts';
import type { StreamTranslator, TranslatedError } from './types.ts';

// ─── Anthropic conventions ───────────────────────────────────────────────────────────────────────

/** Anthropic accepts temperature in [0, 1]; OpenAI's [0, 2] is clamped (as Anthropic's compatibility layer does). */
export const MAX_ANTHROPIC_TEMPERATURE = 1;

/**
 * OpenAI reasoning effort (Chat `reasoning_effort`, Responses `reasoning.effort`) →
 * `thinking.budget_tokens` for models that take a manual thinking budget.
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
export const MIN_THINKING_BUDGET = 1024;

/** OpenAI reasoning effort → `output_config.effort` (with adaptive thinking) for adaptive-only models. */
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

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const MAX_CACHE_BREAKPOINTS = 4;

// ─── request: content ────────────────────────────────────────────────────────────────────────────

export interface Turn {
  role: 'user' | 'assistant';
  content: Json[];
}

/** `data:<type>;base64,<data>` → its parts. */
export const parseDataUrl = (url: string): { mediaType: string; data: string } | undefined => {
  const match = /^data:([^;,]+)(?:;[^;,=]+=[^;,]*)*;base64,(.*)$/s.exec(url);
  return match?.[1] && match[2] !== undefined ? { mediaType: match[1].toLowerCase(), data: match[2] } : undefined;
};

/** OpenRouter-style `cache_control` on a part, or OpenAI's `prompt_cache_breakpoint`, as an Anthropic breakpoint. */
export const withCache = (block: Json, part: Json): Json => {
  const control = part['cache_control'];
  if (isRecord(control) && control['type'] === 'ephemeral') {
    block['cache_control'] =
      control['ttl'] === '1h' || control['ttl'] === '5m'
        ? { type: 'ephemeral', ttl: control['ttl'] }
        : { type: 'ephemeral' };
  } else if (isRecord(part['prompt_cache_breakpoint'])) {
    block['cache_control'] = { type: 'ephemeral' };
  }
  return block;
};

/** A text block for `value` with `part`'s breakpoint; none for blank text, which Anthropic rejects. */
export const textBlock = (value: string, part: Json): Json[] =>
  value.trim().length > 0 ? [withCache({ type: 'text', text: value }, part)] : [];

/** An image given by http(s) URL or base64 data URL → an Anthropic image block. */
export const imageFromUrl = (url: string, part: Json, at: string): Json => {
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

/** Anthropic tool ids must match `^[a-zA-Z0-9_-]+$`; other vendors' ids are made to fit, the same way both ends. */
export const toolId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, '_');

/** A tool call's `arguments` (a JSON string) → the `input` object Anthropic needs. */
export const toolInput = (args: unknown, at: string): Json => {
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

export const pushTurn = (turns: Turn[], role: Turn['role'], blocks: Json[]): void => {
  if (blocks.length === 0) return;
  const last = turns.at(-1);
  // Anthropic needs alternating roles: adjacent same-role turns (a call and its siblings, consecutive
  // tool results) merge.
  if (last?.role === role) last.content.push(...blocks);
  else turns.push({ role, content: [...blocks] });
};

/** Anthropic wants a user turn's tool_result blocks before anything else in it. */
export const toolResultsFirst = (blocks: Json[]): Json[] => [
  ...blocks.filter((block) => block['type'] === 'tool_result'),
  ...blocks.filter((block) => block['type'] !== 'tool_result'),
];

/** Keeps the last four cache breakpoints in prompt order (tools, system, messages); Anthropic refuses a fifth. */
export const limitCacheBreakpoints = (groups: Json[][]): void => {
  const marked = groups.flat().filter((block) => block['cache_control'] !== undefined);
  for (const block of marked.slice(0, Math.max(0, marked.length - MAX_CACHE_BREAKPOINTS)))
    delete block['cache_control'];
};

// ─── request: tools ──────────────────────────────────────────────────────────────────────────────

/** An OpenAI function definition (`parameters`, `description`) → an Anthropic tool named `name`. */
export const anthropicTool = (name: string, definition: Json): Json => {
  const tool: Json = {
    name,
    input_schema: isRecord(definition['parameters'])
      ? { type: 'object', ...definition['parameters'] }
      : { type: 'object', properties: {} },
  };
  if (typeof definition['description'] === 'string' && definition['description'].length > 0) {
    tool['description'] = definition['description'];
  }
  return tool;
};

/** Where a protocol's `tool_choice` spells things its own way. */
export interface ToolChoiceDialect {
  /** The request field the choice came from, named in errors. */
  param: string;
  /** An `allowed_tools` choice: the tool names it allows, and its mode. */
  allowed: (choice: Json) => { names: ReadonlySet<unknown>; mode: unknown };
  /** The error when an `allowed_tools` choice allows none of the tools. */
  noneAllowed: string;
  /** Any other object choice: the one tool it names (or throws). */
  named: (choice: Json) => string;
}

/**
 * OpenAI `tool_choice` auto/none/required/allowed_tools/named → Anthropic auto/none/any/tool, and
 * `parallel_tool_calls: false` → `disable_parallel_tool_use`. No tools, no choice.
 */
export const anthropicToolChoice = (
  requested: unknown,
  tools: Json[],
  parallelToolCalls: unknown,
  dialect: ToolChoiceDialect,
): { tools: Json[]; choice: Json | undefined } => {
  if (tools.length === 0) return { tools, choice: undefined };
  let offered = tools;
  let choice: Json | undefined;
  if (requested === 'none') choice = { type: 'none' };
  else if (requested === 'auto') choice = { type: 'auto' };
  else if (requested === 'required') choice = { type: 'any' };
  else if (isRecord(requested) && requested['type'] === 'allowed_tools') {
    // Anthropic cannot restrict a call to a subset of the tools, so only that subset is offered.
    const allowed = dialect.allowed(requested);
    offered = tools.filter((tool) => allowed.names.has(tool['name']));
    if (offered.length === 0) throw invalid(dialect.noneAllowed, dialect.param);
    choice = { type: allowed.mode === 'required' ? 'any' : 'auto' };
  } else if (isRecord(requested)) {
    choice = { type: 'tool', name: dialect.named(requested) };
  } else if (requested !== undefined && requested !== null) {
    throw invalid(`${dialect.param} '${String(requested)}' is not supported`, dialect.param);
  }
  if (parallelToolCalls === false && choice?.['type'] !== 'none') {
    choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return { tools: offered, choice };
};

// ─── request: thinking and the body ──────────────────────────────────────────────────────────────

export interface Reasoning {
  thinking?: Json;
  effort?: string;
}

/**
 * An OpenAI reasoning effort (named by `param` in errors) → a thinking budget (capped at
 * `max_tokens − 1024`, off below Anthropic's 1024 minimum), or adaptive thinking with
 * `output_config.effort` on adaptive-only models. `none` and no effort send no thinking config.
 */
export const reasoningFromEffort = (
  effort: unknown,
  param: string,
  maxTokens: number,
  adaptiveOnly: boolean,
): Reasoning => {
  if (effort === undefined || effort === null || effort === 'none') return {};
  if (!isEffort(effort)) throw invalid(`${param} '${String(effort)}' is not supported`, param);
  if (adaptiveOnly) return { thinking: { type: 'adaptive' }, effort: ADAPTIVE_EFFORTS[effort] };
  const budget = Math.min(THINKING_BUDGETS[effort], maxTokens - MIN_THINKING_BUDGET);
  return budget >= MIN_THINKING_BUDGET ? { thinking: { type: 'enabled', budget_tokens: budget } } : {};
};

/** Anthropic refuses thinking with a forced tool choice. */
export const forcesTool = (choice: Json | undefined): boolean =>
  choice?.['type'] === 'any' || choice?.['type'] === 'tool';

/** The conversation ends in tool results: a tool loop continues from the last assistant turn. */
export const continuesToolLoop = (turns: Turn[]): boolean => {
  const last = turns.at(-1);
  return last?.role === 'user' && last.content.some((block) => block['type'] === 'tool_result');
};

/** What goes into a Messages body, once each protocol has read its own fields. */
export interface MessagesBodyParts {
  model: string;
  maxTokens: number;
  system: Json[];
  turns: Turn[];
  tools: Json[];
  choice: Json | undefined;
  stopSequences: string[];
  thinking: Json | undefined;
  effort: string | undefined;
  /** The JSON schema for `output_config.format`. */
  schema: Json | undefined;
  /** Whether `temperature` or `top_p` may be sent (not while thinking, nor to adaptive-only models). */
  sampling: boolean;
  /** The client's body, for the fields both protocols name alike (temperature, top_p, user, stream…). */
  request: Json;
}

/** The Messages body, its fields in one order for both protocols. */
export const messagesBody = (parts: MessagesBodyParts): Json => {
  const request = parts.request;
  const out: Json = { model: parts.model, max_tokens: parts.maxTokens };
  if (parts.system.length > 0) out['system'] = parts.system;
  out['messages'] = parts.turns;
  if (parts.tools.length > 0) out['tools'] = parts.tools;
  if (parts.choice) out['tool_choice'] = parts.choice;
  if (parts.stopSequences.length > 0) out['stop_sequences'] = parts.stopSequences;
  if (parts.thinking) out['thinking'] = parts.thinking;

  const outputConfig: Json = {};
  // Effort also steers adaptive-only models' answers when thinking had to stay off.
  if (parts.effort) outputConfig['effort'] = parts.effort;
  if (parts.schema) outputConfig['format'] = { type: 'json_schema', schema: parts.schema };
  if (Object.keys(outputConfig).length > 0) out['output_config'] = outputConfig;

  if (parts.sampling) {
    if (typeof request['temperature'] === 'number') {
      out['temperature'] = Math.min(MAX_ANTHROPIC_TEMPERATURE, Math.max(0, request['temperature']));
    } else if (typeof request['top_p'] === 'number') {
      out['top_p'] = request['top_p'];
    }
  }

  const user = text(request['safety_identifier']) ?? text(request['user']);
  if (user) out['metadata'] = { user_id: user };
  if (typeof request['stream'] === 'boolean') out['stream'] = request['stream'];
  return out;
};

// ─── response: stop reason and usage ─────────────────────────────────────────────────────────────

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

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

/** A usage the way OpenAI counts it, from the normalized {@link Usage}; zeros when none was reported. */
export interface OpenAITokenCounts {
  /** Input + cache reads + cache writes: OpenAI's input count includes cached input; Anthropic's does not. */
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Thinking tokens (inside `output` on both sides). */
  reasoning: number;
}

/** The usage of a whole Anthropic answer, read as the observer reads a stream's. */
export const usageOfMessage = (usage: Json): ObservedUsage => ({
  usage: usageFromAnthropic(usage),
  reasoningTokens: reasoningTokensFromAnthropic(usage),
});

/** What was observed of an Anthropic answer (protocols/observe.ts), counted the OpenAI way. */
export const openAITokenCounts = ({ usage, reasoningTokens }: ObservedUsage): OpenAITokenCounts => {
  const cacheRead = usage?.cacheReadTokens ?? 0;
  const cacheWrite = usage?.cacheWriteTokens ?? 0;
  return {
    input: (usage?.inputTokens ?? 0) + cacheRead + cacheWrite,
    output: usage?.outputTokens ?? 0,
    cacheRead,
    cacheWrite,
    reasoning: reasoningTokens,
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

/** An Anthropic stream `error` event → the error type and message an OpenAI client is shown. */
export const streamErrorOf = (data: Json): { type: string; message: string } => {
  const error = isRecord(data['error']) ? data['error'] : {};
  return { type: openAIErrorType(text(error['type']), undefined), message: text(error['message']) ?? 'Upstream error' };
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
  // Not JSON (a proxy's HTML page, a cut body): the status decides.
  const parsed = parseJson(body);
  const error = isRecord(parsed) && isRecord(parsed['error']) ? parsed['error'] : {};
  const detail = isRecord(error['details']) ? text(error['details']['error_code']) : undefined;
  const raw = body.trim();
  const message =
    text(error['message']) ??
    (raw && !raw.startsWith('<')
      ? `Upstream error (HTTP ${status}): ${raw.slice(0, 300)}`
      : `Upstream error (HTTP ${status})`);
  const inner = { message, type: openAIErrorType(text(error['type']), status), param: null, code: detail ?? null };
  return { status, body: JSON.stringify({ error: inner }) };
};

// ─── stream: reading Anthropic's events ─────────────────────────────────────────────────────────

/** A tool call as its `content_block_start` announces it. */
export interface ToolCallStart {
  id: string;
  name: string;
  /** The whole input as JSON when the block carries it already (then no `input_json_delta` follows), else ''. */
  input: string;
}

/** A thinking block as its `content_block_start` announces it; redacted thinking carries only its encrypted data. */
export type ThinkingStart = { type: 'thinking'; signature: string } | { type: 'redacted_thinking'; data: string };

type Frames = Uint8Array[];

/**
 * What a translation does with each part of an Anthropic Messages stream. `index` is the Anthropic
 * content-block index. Text, thinking and tool-argument handlers see non-empty pieces only; a block's
 * start carrying text or thinking already is followed by `onText` / `onThinking` with it.
 * Server-tool blocks and citations have no OpenAI shape and reach no handler.
 */
export interface MessagesStreamHandlers {
  /** `message_start`, with the upstream message id. */
  onStart(messageId: string | undefined): Frames;
  onTextStart?(index: number): Frames;
  onText(text: string, index: number): Frames;
  onThinkingStart?(block: ThinkingStart, index: number): Frames;
  onThinking(thinking: string, index: number): Frames;
  onSignature?(signature: string, index: number): Frames;
  onToolCallStart(call: ToolCallStart, index: number): Frames;
  onToolArgs(json: string, index: number): Frames;
  onBlockStop?(index: number): Frames;
  /** The message is complete (`message_stop`, or the stream ended after the stop reason came). Called once. */
  onStop(stopReason: unknown, observed: ObservedUsage): Frames;
  /** The upstream's `error` event, or a failure the gateway reports; nothing is sent after it. Called once. */
  onError(type: string, message: string, observed: ObservedUsage): Frames;
}

/** What the reading itself keeps, whatever the client protocol. */
interface MessagesStreamState {
  /** `message_delta`'s stop reason, once it came. */
  stopReason: unknown;
  /** `onStop` or `onError` ran: everything after is ignored. */
  done: boolean;
  /** tool_use blocks whose input came whole in content_block_start: their `input_json_delta`s are ignored. */
  wholeInputs: Set<number>;
}

/**
 * The one reading of an Anthropic Messages stream (message_start, content_block_start/delta/stop,
 * message_delta, message_stop, ping, error) for the translations to an OpenAI client: it dispatches
 * each event to a typed handler and keeps the stream's lifecycle (the stop reason; nothing after
 * the end or an error). `ping` and event types added later send nothing. A stream that ends after
 * its stop reason lacks only `message_stop` and completes; one that ends earlier fails with
 * "Upstream stream ended before the message (or response) was complete".
 *
 * @example
 * // A translator that passes on the text alone, one OpenAI-style data frame per piece:
 * const textOnly = (): StreamTranslator =>
 *   readMessagesStream(
 *     {
 *       onStart: () => [],
 *       onText: (piece) => [sseFrame(JSON.stringify({ text: piece }))],
 *       onThinking: () => [],
 *       onToolCallStart: () => [],
 *       onToolArgs: () => [],
 *       onStop: () => [sseFrame('[DONE]')],
 *       onError: (type, message) => [openAIStreamError(type, message)],
 *     },
 *     'message',
 *   );
 */
export const readMessagesStream = (
  handlers: MessagesStreamHandlers,
  answer: 'message' | 'response',
): StreamTranslator => {
  const state: MessagesStreamState = { stopReason: undefined, done: false, wholeInputs: new Set() };
  const stop = (observed: ObservedUsage): Frames => {
    state.done = true;
    return handlers.onStop(state.stopReason, observed);
  };
  const fail = (type: string, message: string, observed: ObservedUsage): Frames => {
    if (state.done) return [];
    state.done = true;
    return handlers.onError(type, message, observed);
  };

  const blockStart = (data: Json, index: number): Frames => {
    const block = isRecord(data['content_block']) ? data['content_block'] : {};
    switch (block['type']) {
      case 'text': {
        const frames = handlers.onTextStart?.(index) ?? [];
        const start = text(block['text']);
        return start ? [...frames, ...handlers.onText(start, index)] : frames;
      }
      case 'thinking': {
        const frames =
          handlers.onThinkingStart?.({ type: 'thinking', signature: text(block['signature']) ?? '' }, index) ?? [];
        const start = text(block['thinking']);
        return start ? [...frames, ...handlers.onThinking(start, index)] : frames;
      }
      case 'redacted_thinking':
        return handlers.onThinkingStart?.({ type: 'redacted_thinking', data: text(block['data']) ?? '' }, index) ?? [];
      case 'tool_use': {
        const input =
          isRecord(block['input']) && Object.keys(block['input']).length > 0 ? JSON.stringify(block['input']) : '';
        if (input) state.wholeInputs.add(index);
        return handlers.onToolCallStart({ id: text(block['id']) ?? '', name: text(block['name']) ?? '', input }, index);
      }
      default:
        // Server-tool blocks cannot occur in translated requests (built-in tools are refused).
        return [];
    }
  };

  const blockDelta = (data: Json, index: number): Frames => {
    const delta = isRecord(data['delta']) ? data['delta'] : {};
    switch (delta['type']) {
      case 'text_delta': {
        const piece = text(delta['text']);
        return piece ? handlers.onText(piece, index) : [];
      }
      case 'thinking_delta': {
        const piece = text(delta['thinking']);
        return piece ? handlers.onThinking(piece, index) : [];
      }
      case 'input_json_delta': {
        const piece = text(delta['partial_json']);
        return piece && !state.wholeInputs.has(index) ? handlers.onToolArgs(piece, index) : [];
      }
      case 'signature_delta': {
        const piece = text(delta['signature']);
        return piece && handlers.onSignature ? handlers.onSignature(piece, index) : [];
      }
      default:
        // citations_delta: annotations would need OpenAI's citation shapes; the text itself is complete.
        return [];
    }
  };

  return {
    push(event, observed) {
      const data = event.data;
      if (state.done || !data) return [];
      const index = typeof data['index'] === 'number' ? data['index'] : -1;
      switch (anthropicEventType(event)) {
        case 'message_start':
          return handlers.onStart(isRecord(data['message']) ? text(data['message']['id']) : undefined);
        case 'content_block_start':
          return blockStart(data, index);
        case 'content_block_delta':
          return blockDelta(data, index);
        case 'content_block_stop':
          return handlers.onBlockStop?.(index) ?? [];
        case 'message_delta':
          if (isRecord(data['delta']) && data['delta']['stop_reason'] !== undefined)
            state.stopReason = data['delta']['stop_reason'];
          return [];
        case 'message_stop':
          return stop(observed);
        case 'error': {
          const error = streamErrorOf(data);
          return fail(error.type, error.message, observed);
        }
        default:
          // ping and event types added later: nothing to send.
          return [];
      }
    },
    end(observed) {
      if (state.done) return [];
      // A stream cut after message_delta lacks only message_stop; before it, the answer is incomplete.
      if (state.stopReason !== undefined && state.stopReason !== null) return stop(observed);
      return fail('api_error', `Upstream stream ended before the ${answer} was complete`, observed);
    },
    fail,
  };
};
