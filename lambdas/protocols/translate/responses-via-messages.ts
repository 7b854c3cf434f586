/**
 * OpenAI Responses client (Codex, the OpenAI SDK's `responses.*`) → Anthropic Messages upstream: the
 * request goes down as a Messages body, the answer (JSON, SSE stream or error) comes back as a
 * Responses `response` object or event stream.
 *
 * Pure functions, no I/O. Field by field against `openai` v7 (`resources/responses/responses.d.ts`)
 * and `@anthropic-ai/sdk` v1 (`resources/messages`). The conventions (temperature clamp, thinking
 * budgets, adaptive-only models, tool ids, cache breakpoints) are those of `chat-via-messages.ts`,
 * shared through `via-messages.ts`.
 *
 * What an Anthropic route cannot serve is refused with a 400 naming the field, never answered
 * differently: conversation state kept by OpenAI (`previous_response_id`, `conversation`,
 * `store: true`, `item_reference`, stored `prompt` templates), `background` runs, built-in tools
 * (web search, file search, computer use, code interpreter, MCP, shell, custom tools…) and logprobs.
 *
 * Thinking survives a stateless tool loop: each Anthropic thinking block comes back as a `reasoning`
 * item whose `encrypted_content` carries the signed block, and a reasoning item sent back with it is
 * restored verbatim (Anthropic verifies the signature, so a client cannot forge one).
 */

import { randomUUID } from 'node:crypto';
import type { InvalidRequestError } from '../../errors.ts';
import { type AnswerCost, withCost } from '../answer-cost.ts';
import type { ObservedUsage } from '../observe.ts';
import { sseFrame } from '../sse.ts';
import { invalid, isRecord, type Json, nowSeconds, parseJson, positiveInt, records, text } from './shared.ts';
import type { StreamTranslator, TranslatedError } from './types.ts';
import {
  anthropicErrorToOpenAI,
  anthropicTool,
  anthropicToolChoice,
  continuesToolLoop,
  finishReasonFor,
  forcesTool,
  imageFromUrl,
  isAdaptiveOnlyModel,
  limitCacheBreakpoints,
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

/** Where a refused feature can be served instead. */
const ELSEWHERE = 'served on OpenAI-protocol routes';

// ─── drop rules ──────────────────────────────────────────────────────────────────────────────────

/**
 * Responses request fields (top-level names, or paths for parts of one) that have no Messages
 * equivalent, and why. The Messages body is built field by field from what maps, so these, and any
 * field not known at all, never reach Anthropic, which answers unknown fields with a 400.
 */
export const DROPPED_RESPONSES_FIELDS: Readonly<Record<string, string>> = {
  metadata: "OpenAI dashboard tags; Anthropic's metadata holds only user_id, which comes from safety_identifier/user",
  service_tier: "OpenAI's processing tiers do not match Anthropic's auto/standard_only (a different price)",
  stream_options: 'only stream obfuscation, which Anthropic streams do not have',
  prompt_cache_key: 'OpenAI cache routing; Anthropic caches per block (`prompt_cache_breakpoint` on parts is kept)',
  prompt_cache_retention: 'OpenAI cache lifetime; no Anthropic equivalent at request level',
  prompt_cache_options: 'OpenAI cache lifetime; no Anthropic equivalent at request level',
  truncation: 'Anthropic never drops input items: an over-long conversation gets the upstream 400 instead',
  max_tool_calls: 'limits built-in tool calls, which this translation refuses',
  context_management: "OpenAI's server-side compaction; no Anthropic equivalent",
  moderation: 'OpenAI moderation',
  image: 'OpenAI image-context options',
  access_programs: 'OpenAI access programs',
  store: '`false` (or absent) is what Tollgate does anyway: nothing is stored; `true` is refused',
  include:
    'built-in tool outputs do not exist here; reasoning items always carry encrypted_content; logprobs are refused',
  'text.verbosity': 'no Anthropic equivalent',
  'text.format (json_object, text)': 'Anthropic has no JSON mode; json_schema maps to output_config.format',
  'reasoning.summary': 'Anthropic decides how thinking is summarized',
  'tools[].strict': "ignored, as in Anthropic's own OpenAI compatibility (not every model accepts `strict`)",
  'input[].phase, input[].status, input[].id': 'OpenAI item bookkeeping; Anthropic turns carry none',
  'reasoning items without Tollgate encrypted_content':
    'unsigned (or OpenAI-encrypted) reasoning: Anthropic rejects thinking blocks without their signature',
  'input_image.detail': 'Anthropic picks the image resolution itself',
  'temperature, top_p (with thinking, or on adaptive-only models)': 'Anthropic rejects sampling parameters there',
  'top_p (with temperature)': 'Claude 4.5 and later reject temperature and top_p together; temperature wins',
  'blank text (input strings and text parts)': 'Anthropic rejects text blocks without non-whitespace text',
};

// ─── thinking round trip ─────────────────────────────────────────────────────────────────────────

/** Marks `encrypted_content` written by Tollgate: base64 JSON of one Anthropic thinking block. */
const THINKING_PREFIX = 'tollgate.thinking.v1.';

/** An Anthropic thinking or redacted_thinking block as `encrypted_content` for a reasoning item. */
const encodeThinking = (block: Json): string =>
  THINKING_PREFIX + Buffer.from(JSON.stringify(block), 'utf8').toString('base64');

/** The signed block inside a reasoning item's `encrypted_content`, if Tollgate wrote it. */
const decodeThinking = (value: unknown): Json | undefined => {
  if (typeof value !== 'string' || !value.startsWith(THINKING_PREFIX)) return undefined;
  const block = parseJson(Buffer.from(value.slice(THINKING_PREFIX.length), 'base64').toString('utf8'));
  if (!isRecord(block)) return undefined;
  const signed = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
  if (block['type'] === 'thinking' && typeof block['thinking'] === 'string' && signed(block['signature'])) {
    return { type: 'thinking', thinking: block['thinking'], signature: block['signature'] };
  }
  if (block['type'] === 'redacted_thinking' && signed(block['data'])) {
    return { type: 'redacted_thinking', data: block['data'] };
  }
  return undefined;
};

const isThinkingBlock = (block: Json | undefined): boolean =>
  block?.['type'] === 'thinking' || block?.['type'] === 'redacted_thinking';

// ─── request ─────────────────────────────────────────────────────────────────────────────────────

export interface ResponsesToMessagesOptions {
  /** The Messages `model`: the route's upstream model id. */
  upstreamModel: string;
  /** `max_tokens` when the request has no `max_output_tokens`. */
  defaultMaxTokens: number;
}

/** `file_id` names a file stored on OpenAI: refused. */
const refuseStoredFile = (part: Json, at: string): void => {
  if (typeof part['file_id'] === 'string' && part['file_id'].length > 0) {
    throw invalid(`${at}: file_id refers to a file stored on OpenAI, which this model cannot read (${ELSEWHERE})`, at);
  }
};

const imageBlock = (part: Json, at: string): Json => {
  refuseStoredFile(part, at);
  const url = text(part['image_url']);
  if (!url) throw invalid(`${at}.image_url is required`, at);
  return imageFromUrl(url, part, at);
};

/** `input_file`: inline PDFs and plain text (file_data), or a PDF URL (file_url). */
const fileBlock = (part: Json, at: string): Json => {
  refuseStoredFile(part, at);
  const filename = text(part['filename']);
  let block: Json | undefined;
  const fileData = text(part['file_data']);
  const fileUrl = text(part['file_url']);
  if (fileData) {
    const data =
      parseDataUrl(fileData) ??
      (filename?.toLowerCase().endsWith('.pdf') ? { mediaType: 'application/pdf', data: fileData } : undefined);
    if (data?.mediaType === 'application/pdf') {
      block = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data.data } };
    } else if (data?.mediaType === 'text/plain') {
      const plain = Buffer.from(data.data, 'base64').toString('utf8');
      block = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: plain } };
    }
  } else if (fileUrl && /^https?:\/\//i.test(fileUrl)) {
    block = { type: 'document', source: { type: 'url', url: fileUrl } };
  }
  if (!block) {
    throw invalid(
      `${at}: only PDF and plain-text files (file_data as a base64 data URL) or PDF URLs (file_url) reach this model`,
      at,
    );
  }
  if (filename) block['title'] = filename;
  return withCache(block, part);
};

type PartRole = 'system' | 'user' | 'assistant' | 'tool';

/** One content part → Anthropic blocks; which parts a role may carry follows what Anthropic accepts there. */
const partBlocks = (part: unknown, at: string, role: PartRole): Json[] => {
  if (!isRecord(part)) throw invalid(`${at} must be an object`, at);
  const type = part['type'];
  if (type === 'input_text' || type === 'output_text') return textBlock(text(part['text']) ?? '', part);
  if (type === 'refusal' && role === 'assistant') return textBlock(text(part['refusal']) ?? '', part);
  if (role === 'user' || role === 'tool') {
    if (type === 'input_image') return [imageBlock(part, at)];
    if (type === 'input_file') return [fileBlock(part, at)];
  }
  throw invalid(`${at}: content part type '${String(type)}' is not supported here by this model`, at);
};

const contentBlocks = (content: unknown, at: string, role: PartRole): Json[] => {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return textBlock(content, {});
  if (!Array.isArray(content)) throw invalid(`${at}.content must be a string or an array of parts`, `${at}.content`);
  return content.flatMap((part: unknown, index) => partBlocks(part, `${at}.content[${index}]`, role));
};

const toolResult = (item: Json, at: string): Json => {
  const callId = text(item['call_id']);
  if (!callId) throw invalid(`${at}.call_id is required`, `${at}.call_id`);
  const block: Json = { type: 'tool_result', tool_use_id: toolId(callId) };
  const output = item['output'];
  if (typeof output === 'string') {
    if (output.length > 0) block['content'] = output;
  } else if (Array.isArray(output)) {
    const parts = output.flatMap((part: unknown, index) => partBlocks(part, `${at}.output[${index}]`, 'tool'));
    if (parts.length > 0) block['content'] = parts;
  } else if (output !== undefined && output !== null) {
    throw invalid(`${at}.output must be a string or an array of parts`, `${at}.output`);
  }
  return block;
};

/** Input item types that only OpenAI's platform can produce or answer (built-in tools, stored items). */
const stateful = (type: string, at: string): InvalidRequestError =>
  type === 'item_reference'
    ? invalid(`${at}: item_reference needs responses stored by OpenAI; this model keeps none (${ELSEWHERE})`, at)
    : invalid(
        `${at}: '${type}' items belong to OpenAI built-in tools, which this model does not support (${ELSEWHERE}); ` +
          'send function_call / function_call_output items',
        at,
      );

/** Adds one input item to the conversation being built (system blocks hoisted, turns merged). */
const addItem = (system: Json[], turns: Turn[], item: unknown, index: number): void => {
  const at = `input[${index}]`;
  if (!isRecord(item)) throw invalid(`${at} must be an object`, at);
  const type = item['type'] ?? (item['role'] !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message': {
      const role = item['role'];
      if (role === 'system' || role === 'developer') {
        // Anthropic has one system prompt: every system/developer message is hoisted into it, in order.
        system.push(...contentBlocks(item['content'], at, 'system'));
      } else if (role === 'user') {
        pushTurn(turns, 'user', contentBlocks(item['content'], at, 'user'));
      } else if (role === 'assistant') {
        pushTurn(turns, 'assistant', contentBlocks(item['content'], at, 'assistant'));
      } else {
        throw invalid(`${at}.role '${String(role)}' is not supported`, `${at}.role`);
      }
      return;
    }
    case 'function_call': {
      const callId = text(item['call_id']);
      const name = text(item['name']);
      if (!callId || !name) throw invalid(`${at}: a function_call needs a call_id and a name`, at);
      const input = toolInput(item['arguments'], at);
      pushTurn(turns, 'assistant', [{ type: 'tool_use', id: toolId(callId), name, input }]);
      return;
    }
    case 'function_call_output':
      pushTurn(turns, 'user', [toolResult(item, at)]);
      return;
    case 'reasoning': {
      const block = decodeThinking(item['encrypted_content']);
      if (block) pushTurn(turns, 'assistant', [block]);
      return;
    }
    default:
      if (typeof type === 'string') throw stateful(type, at);
      throw invalid(`${at}.type is required`, `${at}.type`);
  }
};

const translateInput = (body: Json): { system: Json[]; turns: Turn[] } => {
  const system: Json[] = [];
  const turns: Turn[] = [];
  if (body['instructions'] !== undefined && body['instructions'] !== null) {
    if (typeof body['instructions'] !== 'string') throw invalid('instructions must be a string', 'instructions');
    system.push(...textBlock(body['instructions'], {}));
  }
  const input = body['input'];
  if (typeof input === 'string') {
    pushTurn(turns, 'user', textBlock(input, {}));
  } else if (Array.isArray(input)) {
    input.forEach((item: unknown, index) => {
      addItem(system, turns, item, index);
    });
  } else if (input !== undefined && input !== null) {
    throw invalid('input must be a string or an array of items', 'input');
  }
  if (turns.length === 0) throw invalid('input must contain at least one user or assistant message', 'input');
  return { system, turns };
};

/** Built-in tool types in `tool_choice` that name no function. */
const namedFunction = (choice: Json, param: string): string => {
  if (choice['type'] !== 'function' || typeof choice['name'] !== 'string') {
    throw invalid(`${param} of type '${String(choice['type'])}' is not supported by this model (${ELSEWHERE})`, param);
  }
  return choice['name'];
};

/** tools and tool_choice: auto/none/required/function/allowed_tools → auto/none/any/tool. */
const translateTools = (body: Json): { tools: Json[]; choice: Json | undefined } => {
  if (body['tools'] !== undefined && body['tools'] !== null && !Array.isArray(body['tools'])) {
    throw invalid('tools must be an array', 'tools');
  }
  const tools = ((body['tools'] as unknown[] | undefined) ?? []).map((tool: unknown, index): Json => {
    const at = `tools[${index}]`;
    if (!isRecord(tool)) throw invalid(`${at} must be an object`, at);
    if (tool['type'] !== 'function') {
      throw invalid(
        `${at}: '${String(tool['type'])}' tools are not supported by this model; only function tools are ` +
          `(built-in tools are ${ELSEWHERE})`,
        at,
      );
    }
    if (typeof tool['name'] !== 'string' || tool['name'].length === 0) throw invalid(`${at}.name is required`, at);
    return anthropicTool(tool['name'], tool);
  });
  return anthropicToolChoice(body['tool_choice'], tools, body['parallel_tool_calls'], {
    param: 'tool_choice',
    allowed: (choice) => {
      const names = (Array.isArray(choice['tools']) ? choice['tools'] : []).map((entry: unknown) =>
        isRecord(entry) && entry['type'] === 'function' ? entry['name'] : undefined,
      );
      return { names: new Set(names), mode: choice['mode'] };
    },
    noneAllowed: 'tool_choice.tools names none of the function tools',
    named: (choice) => namedFunction(choice, 'tool_choice'),
  });
};

/**
 * `reasoning.effort` → a thinking budget or adaptive thinking ({@link reasoningFromEffort}). `none`
 * and no effort send no thinking config: Claude does not think unless asked.
 */
const resolveReasoning = (body: Json, maxTokens: number, adaptiveOnly: boolean): Reasoning =>
  reasoningFromEffort(
    isRecord(body['reasoning']) ? body['reasoning']['effort'] : undefined,
    'reasoning.effort',
    maxTokens,
    adaptiveOnly,
  );

/**
 * Anthropic refuses thinking with a forced tool choice, and when a tool loop continues from an
 * assistant turn that does not start with its signed thinking block (a client that dropped the
 * reasoning item, or one OpenAI encrypted). Thinking is left off in both cases.
 */
const thinkingAllowed = (choice: Json | undefined, turns: Turn[]): boolean => {
  if (forcesTool(choice)) return false;
  if (!continuesToolLoop(turns)) return true;
  const assistant = turns.findLast((turn) => turn.role === 'assistant');
  return assistant === undefined || isThinkingBlock(assistant.content[0]);
};

/** Without thinking, restored thinking blocks are left out (always valid), then turns re-merged. */
const withoutThinking = (turns: Turn[]): Turn[] => {
  const out: Turn[] = [];
  for (const turn of turns) {
    pushTurn(
      out,
      turn.role,
      turn.content.filter((block) => !isThinkingBlock(block)),
    );
  }
  return out;
};

const present = (value: unknown): boolean => value !== undefined && value !== null && value !== false && value !== '';

/** Requests whose meaning lives in OpenAI's platform: refused with the field named, never half-served. */
const refuseUnservable = (body: Json): void => {
  if (present(body['previous_response_id'])) {
    throw invalid(
      'previous_response_id is not supported by this model: Tollgate keeps no response state for its provider; send the ' +
        `whole conversation in input (previous_response_id is ${ELSEWHERE})`,
      'previous_response_id',
    );
  }
  if (present(body['conversation'])) {
    throw invalid(
      `conversation is not supported by this model: conversations are stored by OpenAI (${ELSEWHERE})`,
      'conversation',
    );
  }
  if (body['store'] === true) {
    throw invalid(
      `store: true is not supported by this model: its responses are not stored; send store: false (stored responses are ${ELSEWHERE})`,
      'store',
    );
  }
  if (body['background'] === true) {
    throw invalid(`background responses are not supported by this model (${ELSEWHERE})`, 'background');
  }
  if (present(body['prompt'])) {
    throw invalid(
      `prompt templates are stored by OpenAI and are not supported by this model; send instructions and input (${ELSEWHERE})`,
      'prompt',
    );
  }
  if (Array.isArray(body['include']) && body['include'].includes('message.output_text.logprobs')) {
    throw invalid(`logprobs are not supported by this model (${ELSEWHERE})`, 'include');
  }
  if (typeof body['top_logprobs'] === 'number' && body['top_logprobs'] > 0) {
    throw invalid(`logprobs are not supported by this model (${ELSEWHERE})`, 'top_logprobs');
  }
};

/**
 * Translates an OpenAI Responses request body into an Anthropic Messages request body for the
 * route's upstream model: `instructions` and system/developer items become the system prompt,
 * messages, `function_call` and `function_call_output` items become alternating user/assistant turns
 * (tool_use / tool_result blocks), function tools and `tool_choice` map, `max_output_tokens` becomes
 * `max_tokens` (else `defaultMaxTokens`), `reasoning.effort` becomes thinking. Throws
 * {@link InvalidRequestError} (rendered as 400, `param` set) for what cannot be served.
 *
 * @example
 * responsesRequestToMessages(
 *   { model: 'claude', instructions: 'Be brief.', input: 'Hi' },
 *   { upstreamModel: 'claude-sonnet-4-6', defaultMaxTokens: 4096 },
 * );
 * // { model: 'claude-sonnet-4-6', max_tokens: 4096, system: [{ type: 'text', text: 'Be brief.' }],
 * //   messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }
 */
export const responsesRequestToMessages = (
  body: Record<string, unknown>,
  options: ResponsesToMessagesOptions,
): Record<string, unknown> => {
  refuseUnservable(body);
  const maxTokens = positiveInt(body['max_output_tokens']) ?? options.defaultMaxTokens;
  const { system, turns: allTurns } = translateInput(body);
  const { tools, choice } = translateTools(body);

  const adaptiveOnly = isAdaptiveOnlyModel(options.upstreamModel);
  const reasoning = resolveReasoning(body, maxTokens, adaptiveOnly);
  const thinkingOn = reasoning.thinking !== undefined && thinkingAllowed(choice, allTurns);
  const turns = (thinkingOn ? allTurns : withoutThinking(allTurns)).map((turn) =>
    turn.role === 'user' ? { ...turn, content: toolResultsFirst(turn.content) } : turn,
  );
  if (turns.length === 0) throw invalid('input must contain at least one user or assistant message', 'input');
  limitCacheBreakpoints([tools, system, ...turns.map((turn) => turn.content)]);

  const format = isRecord(body['text']) && isRecord(body['text']['format']) ? body['text']['format'] : undefined;
  return messagesBody({
    model: options.upstreamModel,
    maxTokens,
    system,
    turns,
    tools,
    choice,
    stopSequences: [],
    thinking: thinkingOn ? reasoning.thinking : undefined,
    effort: reasoning.effort,
    schema: format?.['type'] === 'json_schema' && isRecord(format['schema']) ? format['schema'] : undefined,
    // Sampling parameters: refused by adaptive-only models, and by every model while thinking.
    sampling: !adaptiveOnly && !thinkingOn,
    request: body,
  });
};

// ─── response ────────────────────────────────────────────────────────────────────────────────────

/**
 * An Anthropic answer's usage (as observed) → Responses usage: `input_tokens` = input + cache reads +
 * cache writes (OpenAI's count includes cached input; Anthropic's `input_tokens` does not),
 * `cached_tokens` = cache reads, `cache_write_tokens` = cache writes, `reasoning_tokens` = Anthropic's
 * thinking tokens (already inside `output_tokens` on both sides).
 */
const responsesUsage = (observed: ObservedUsage): Json => {
  const tokens = openAITokenCounts(observed);
  return {
    input_tokens: tokens.input,
    input_tokens_details: { cached_tokens: tokens.cacheRead, cache_write_tokens: tokens.cacheWrite },
    output_tokens: tokens.output,
    output_tokens_details: { reasoning_tokens: tokens.reasoning },
    total_tokens: tokens.input + tokens.output,
  };
};

type Status = 'completed' | 'incomplete' | 'failed' | 'in_progress';

/** Anthropic `stop_reason` → the Responses status and `incomplete_details`. */
const outcomeFor = (stopReason: unknown): { status: Status; incomplete: Json | null } => {
  const reason = finishReasonFor(stopReason);
  if (reason === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (reason === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
};

export interface MessagesToResponsesOptions {
  /** The model id the client asked for (not the upstream's). */
  model: string;
  /** The client's Responses request body: the response echoes its settings, as OpenAI's does. */
  request: Record<string, unknown>;
  /** Prices the observed usage: `response.usage.cost` in `response.completed` / `.incomplete` (answer-cost.ts). */
  cost?: AnswerCost | undefined;
}

/** The `response` object around `output`, echoing the request's settings (every field the SDK's `Response` requires). */
const responseObject = (
  options: MessagesToResponsesOptions,
  fields: {
    id: string;
    createdAt: number;
    status: Status;
    output: Json[];
    usage?: Json;
    incomplete?: Json | null;
    error?: Json;
  },
): Json => {
  const request = options.request;
  const reasoning = isRecord(request['reasoning']) ? request['reasoning'] : {};
  const value: Json = {
    id: fields.id,
    object: 'response',
    created_at: fields.createdAt,
    status: fields.status,
    background: false,
    completed_at: fields.status === 'completed' ? nowSeconds() : null,
    error: fields.error ?? null,
    incomplete_details: fields.incomplete ?? null,
    instructions: text(request['instructions']) ?? null,
    max_output_tokens: positiveInt(request['max_output_tokens']) ?? null,
    max_tool_calls: positiveInt(request['max_tool_calls']) ?? null,
    model: options.model,
    output: fields.output,
    parallel_tool_calls: request['parallel_tool_calls'] !== false,
    previous_response_id: null,
    prompt_cache_key: text(request['prompt_cache_key']) ?? null,
    reasoning: { effort: reasoning['effort'] ?? null, summary: reasoning['summary'] ?? null },
    safety_identifier: text(request['safety_identifier']) ?? null,
    service_tier: 'default',
    store: false,
    temperature: typeof request['temperature'] === 'number' ? request['temperature'] : 1,
    text: isRecord(request['text']) ? request['text'] : { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: request['tool_choice'] ?? 'auto',
    tools: Array.isArray(request['tools']) ? request['tools'] : [],
    top_logprobs: 0,
    top_p: typeof request['top_p'] === 'number' ? request['top_p'] : 1,
    truncation: request['truncation'] === 'auto' ? 'auto' : 'disabled',
    metadata: isRecord(request['metadata']) ? request['metadata'] : {},
    access_programs: null,
  };
  if (typeof request['user'] === 'string') value['user'] = request['user'];
  if (fields.usage) value['usage'] = fields.usage;
  return value;
};

/** `resp_…` from Anthropic's `msg_…`; item ids derive from it, so a retried translation is stable. */
const idsFor = (anthropicId: unknown): { response: string; base: string } => {
  const raw = text(anthropicId);
  const base = raw && /^[A-Za-z0-9_-]+$/.test(raw) ? raw.replace(/^msg_/, '') : randomUUID().replaceAll('-', '');
  return { response: `resp_${base}`, base };
};

const outputText = (value: string): Json => ({ type: 'output_text', text: value, annotations: [], logprobs: [] });

const messageItem = (id: string, value: string, status: Status): Json => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: [outputText(value)],
});

const functionCallItem = (id: string, block: Json, args: string, status: Status): Json => ({
  id,
  type: 'function_call',
  status,
  arguments: args,
  call_id: text(block['id']) ?? '',
  name: text(block['name']) ?? '',
});

/** A reasoning item; `encrypted_content` only when the block is signed (else Anthropic would refuse it back). */
const reasoningItem = (id: string, block: Json): Json => {
  const thinking = block['type'] === 'thinking' ? (text(block['thinking']) ?? '') : '';
  const signed = block['type'] === 'thinking' ? Boolean(text(block['signature'])) : Boolean(text(block['data']));
  const item: Json = {
    id,
    type: 'reasoning',
    summary: thinking.length > 0 ? [{ type: 'summary_text', text: thinking }] : [],
  };
  if (signed) {
    item['encrypted_content'] = encodeThinking(
      block['type'] === 'thinking'
        ? { type: 'thinking', thinking, signature: block['signature'] }
        : { type: 'redacted_thinking', data: block['data'] },
    );
  }
  return item;
};

/**
 * Translates an Anthropic Messages response into a complete OpenAI Responses `response` object:
 * text blocks become `message` items (`output_text`), tool_use blocks `function_call` items
 * (`call_id` = the tool_use id, input re-encoded as `arguments`), thinking blocks `reasoning` items
 * (summary = the thinking text, `encrypted_content` = the signed block for the next turn). A
 * `max_tokens` stop answers `status: 'incomplete'` with `incomplete_details.reason: 'max_output_tokens'`.
 *
 * @example
 * const response = messagesResponseToResponses(JSON.parse(await upstream.text()), { model: 'claude', request: body });
 * response.output; // [{ type: 'message', content: [{ type: 'output_text', text: 'Hi!' }] }]
 */
export const messagesResponseToResponses = (
  message: Record<string, unknown>,
  options: MessagesToResponsesOptions,
): Record<string, unknown> => {
  const ids = idsFor(message['id']);
  const outcome = outcomeFor(message['stop_reason']);
  const blocks = records(message['content']);
  const output: Json[] = [];
  blocks.forEach((block, index) => {
    const last = index === blocks.length - 1;
    const status: Status = last && outcome.status === 'incomplete' ? 'incomplete' : 'completed';
    const at = output.length;
    if (block['type'] === 'text') output.push(messageItem(`msg_${ids.base}_${at}`, text(block['text']) ?? '', status));
    else if (block['type'] === 'tool_use') {
      const args = JSON.stringify(isRecord(block['input']) ? block['input'] : {});
      output.push(functionCallItem(`fc_${ids.base}_${at}`, block, args, status));
    } else if (isThinkingBlock(block)) output.push(reasoningItem(`rs_${ids.base}_${at}`, block));
    // Server-tool blocks cannot occur: built-in tools are refused on the way in.
  });
  const fields: Parameters<typeof responseObject>[1] = {
    id: ids.response,
    createdAt: nowSeconds(),
    status: outcome.status,
    output,
    incomplete: outcome.incomplete,
  };
  if (isRecord(message['usage'])) fields.usage = responsesUsage(usageOfMessage(message['usage']));
  return responseObject(options, fields);
};

// ─── stream ──────────────────────────────────────────────────────────────────────────────────────

/** Tollgate / Anthropic error type → the `code` of a Responses `error` object (the SDK's enum). */
const responseErrorCode = (type: string): string => {
  if (type === 'rate_limit_error') return 'rate_limit_exceeded';
  if (type === 'invalid_request_error') return 'invalid_prompt';
  return 'server_error';
};

/** An output item being streamed: what its closing events need. */
interface OpenItem {
  outputIndex: number;
  id: string;
  /** The Anthropic block as far as the item needs it (type; tool id and name; thinking signature or data). */
  block: Json;
  /** Accumulated text, thinking or tool arguments. */
  text: string;
  /** Reasoning: whether the summary part was announced (only once there is thinking text). */
  partOpen: boolean;
}

/** What the Responses side of a translated stream keeps between events. */
interface ResponsesStreamState {
  /** The response id and the base of item ids: from the upstream message id when `message_start` came first. */
  ids: { response: string; base: string } | undefined;
  /** The next `sequence_number`. */
  sequence: number;
  /** `response.created` and `response.in_progress` went out. */
  started: boolean;
  /** Finished items, by output index; an open or pending item fills its slot when it closes. */
  output: (Json | undefined)[];
  /** The Anthropic block being streamed (Anthropic streams one block at a time). */
  open: OpenItem | undefined;
  /** A block that has stopped, whose `output_item.done` waits until its status is known. */
  pending: OpenItem | undefined;
}

/**
 * Turns Anthropic Messages stream events into the Responses event stream OpenAI sends, each frame an
 * `event:` line plus `data:` with `type` and a `sequence_number` counting up from 0:
 * `response.created`, `response.in_progress`; per text block `response.output_item.added` (message),
 * `response.content_part.added`, `response.output_text.delta`…, `response.output_text.done`,
 * `response.content_part.done`, `response.output_item.done`; per tool_use block
 * `response.output_item.added` (function_call), `response.function_call_arguments.delta`…, `.done`,
 * `response.output_item.done`; per thinking block a reasoning item with
 * `response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta`…, `.done`,
 * `response.reasoning_summary_part.done`; then `response.completed` (or `response.incomplete` on a
 * max-tokens stop) carrying the whole response and its usage as observed.
 *
 * An item's `response.output_item.done` waits for the next block (or the stop reason), so a
 * truncated last item is marked `incomplete`. An upstream `error` event, or {@link StreamTranslator.fail},
 * sends an `error` event and then `response.failed`; nothing follows.
 *
 * @example
 * const translator = createMessagesToResponsesStream({ model: 'claude', request: body });
 * const observer = streamObserver('messages');
 * const reader = createSseReader((e) => {
 *   const event = { event: e.event, data: parseEventData(e.data), raw: e.data };
 *   observer.onEvent(event);
 *   write(translator.push(event, observer.observation));
 * });
 * // …feed the upstream bytes to reader, then:
 * write(translator.end(observer.observation));
 */
export const createMessagesToResponsesStream = (options: MessagesToResponsesOptions): StreamTranslator => {
  const createdAt = nowSeconds();
  const state: ResponsesStreamState = {
    ids: undefined,
    sequence: 0,
    started: false,
    output: [],
    open: undefined,
    pending: undefined,
  };

  const emit = (type: string, fields: Json): Uint8Array =>
    sseFrame(JSON.stringify({ type, ...fields, sequence_number: state.sequence++ }), type);
  const snapshot = (
    status: Status,
    extra: { incomplete?: Json | null; error?: Json; usage?: ObservedUsage; cost?: AnswerCost | undefined } = {},
  ): Json => {
    state.ids ??= idsFor(undefined);
    const fields: Parameters<typeof responseObject>[1] = {
      id: state.ids.response,
      createdAt,
      status,
      output: state.output.filter((item): item is Json => item !== undefined),
    };
    if (extra.incomplete !== undefined) fields.incomplete = extra.incomplete;
    if (extra.error) fields.error = extra.error;
    if (extra.usage?.usage) fields.usage = withCost(responsesUsage(extra.usage), extra.usage.usage, extra.cost);
    return responseObject(options, fields);
  };
  /** `response.created` and `response.in_progress`, once, before any other event (call it first: it numbers them). */
  const begin = (): Uint8Array[] => {
    if (state.started) return [];
    state.started = true;
    return [
      emit('response.created', { response: snapshot('in_progress') }),
      emit('response.in_progress', { response: snapshot('in_progress') }),
    ];
  };

  const itemFor = (item: OpenItem, status: Status): Json => {
    switch (item.block['type']) {
      case 'text':
        return messageItem(item.id, item.text, status);
      case 'tool_use':
        return functionCallItem(item.id, item.block, item.text, status);
      default:
        return reasoningItem(
          item.id,
          item.block['type'] === 'thinking' ? { ...item.block, thinking: item.text } : item.block,
        );
    }
  };
  const closePending = (status: Status): Uint8Array[] => {
    const pending = state.pending;
    if (!pending) return [];
    const item = itemFor(pending, status);
    state.output[pending.outputIndex] = item;
    state.pending = undefined;
    return [emit('response.output_item.done', { output_index: pending.outputIndex, item })];
  };
  /** Opens the output item for a new block: the previous one is done (completed), then `added` announces this one. */
  const openItem = (
    prefix: string,
    block: Json,
    added: (id: string) => Json,
  ): { item: OpenItem; frames: Uint8Array[] } => {
    state.ids ??= idsFor(undefined);
    const frames = [...begin(), ...closePending('completed')];
    const outputIndex = state.output.length;
    state.output.push(undefined);
    const item: OpenItem = {
      outputIndex,
      id: `${prefix}_${state.ids.base}_${outputIndex}`,
      block,
      text: '',
      partOpen: false,
    };
    state.open = item;
    frames.push(emit('response.output_item.added', { output_index: outputIndex, item: added(item.id) }));
    return { item, frames };
  };
  /** The open item, when the block being streamed is of `type`. */
  const openOf = (type: string): OpenItem | undefined => (state.open?.block['type'] === type ? state.open : undefined);

  const argumentsDelta = (item: OpenItem, delta: string): Uint8Array => {
    item.text += delta;
    return emit('response.function_call_arguments.delta', { item_id: item.id, output_index: item.outputIndex, delta });
  };
  /** Closes the open item's content; its `output_item.done` waits (pending) until its status is known. */
  const blockStop = (): Uint8Array[] => {
    const item = state.open;
    if (!item) return [];
    state.open = undefined;
    const place = { item_id: item.id, output_index: item.outputIndex };
    const frames: Uint8Array[] = [];
    if (item.block['type'] === 'text') {
      frames.push(
        emit('response.output_text.done', { ...place, content_index: 0, text: item.text, logprobs: [] }),
        emit('response.content_part.done', { ...place, content_index: 0, part: outputText(item.text) }),
      );
    } else if (item.block['type'] === 'tool_use') {
      // A call without arguments still sends `{}`: clients JSON.parse the arguments.
      if (item.text.length === 0) frames.push(argumentsDelta(item, '{}'));
      frames.push(emit('response.function_call_arguments.done', { ...place, arguments: item.text }));
    } else if (item.partOpen) {
      const part = { ...place, summary_index: 0 };
      frames.push(
        emit('response.reasoning_summary_text.done', { ...part, text: item.text }),
        emit('response.reasoning_summary_part.done', { ...part, part: { type: 'summary_text', text: item.text } }),
      );
    }
    state.pending = item;
    return frames;
  };

  return readMessagesStream(
    {
      onStart(messageId) {
        if (!state.started) state.ids ??= idsFor(messageId);
        return begin();
      },
      onTextStart() {
        const message = (id: string): Json => ({
          id,
          type: 'message',
          status: 'in_progress',
          role: 'assistant',
          content: [],
        });
        const { item, frames } = openItem('msg', { type: 'text' }, message);
        const place = { item_id: item.id, output_index: item.outputIndex };
        frames.push(emit('response.content_part.added', { ...place, content_index: 0, part: outputText('') }));
        return frames;
      },
      onText(piece) {
        const frames = begin();
        const item = openOf('text');
        if (!item) return frames;
        item.text += piece;
        frames.push(
          emit('response.output_text.delta', {
            item_id: item.id,
            output_index: item.outputIndex,
            content_index: 0,
            delta: piece,
            logprobs: [],
          }),
        );
        return frames;
      },
      onThinkingStart: (block) => openItem('rs', { ...block }, (id) => ({ id, type: 'reasoning', summary: [] })).frames,
      onThinking(piece) {
        const frames = begin();
        const item = openOf('thinking');
        if (!item) return frames;
        const place = { item_id: item.id, output_index: item.outputIndex, summary_index: 0 };
        if (!item.partOpen) {
          item.partOpen = true;
          frames.push(
            emit('response.reasoning_summary_part.added', { ...place, part: { type: 'summary_text', text: '' } }),
          );
        }
        item.text += piece;
        frames.push(emit('response.reasoning_summary_text.delta', { ...place, delta: piece }));
        return frames;
      },
      onSignature(piece) {
        const frames = begin();
        const item = openOf('thinking');
        if (item) item.block['signature'] = `${text(item.block['signature']) ?? ''}${piece}`;
        return frames;
      },
      onToolCallStart(call) {
        const block = { type: 'tool_use', id: call.id, name: call.name };
        const { item, frames } = openItem('fc', block, (id) => functionCallItem(id, block, '', 'in_progress'));
        if (call.input) frames.push(argumentsDelta(item, call.input));
        return frames;
      },
      onToolArgs(piece) {
        const frames = begin();
        const item = openOf('tool_use');
        if (item) frames.push(argumentsDelta(item, piece));
        return frames;
      },
      onBlockStop: () => [...begin(), ...blockStop()],
      onStop(stopReason, observed) {
        const outcome = outcomeFor(stopReason);
        // A block cut off without content_block_stop is closed too: its item must not stay open.
        const frames = [...begin(), ...blockStop(), ...closePending(outcome.status)];
        const type = outcome.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
        const response = snapshot(outcome.status, {
          incomplete: outcome.incomplete,
          usage: observed,
          cost: options.cost,
        });
        frames.push(emit(type, { response }));
        return frames;
      },
      onError(type, message, observed) {
        const frames = begin();
        frames.push(emit('error', { code: type, message, param: null }));
        // Items still open are reported as they stand, incomplete.
        for (const item of [state.pending, state.open]) {
          if (item) state.output[item.outputIndex] = itemFor(item, 'incomplete');
        }
        const error = { code: responseErrorCode(type), message, type };
        frames.push(emit('response.failed', { response: snapshot('failed', { error, usage: observed }) }));
        return frames;
      },
    },
    'response',
  );
};

// ─── errors ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Renders an Anthropic error response (status and raw body) for a Responses client: the Responses API
 * answers errors in the same `{"error":{"message","type","param","code"}}` envelope as Chat
 * Completions, so this is {@link anthropicErrorToOpenAI} (status kept, 529 stays 529).
 *
 * @example
 * anthropicErrorToResponses(529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
 * // { status: 529, body: '{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}' }
 */
export const anthropicErrorToResponses = (status: number, body: string): TranslatedError =>
  anthropicErrorToOpenAI(status, body);
