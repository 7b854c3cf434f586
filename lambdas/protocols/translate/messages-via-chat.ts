/**
 * An Anthropic Messages client (Claude Code, the Anthropic SDK) calling a model whose upstream speaks
 * OpenAI Chat Completions: the request goes Messages → Chat, the answer, its stream and its errors
 * come back Chat → Messages. Pure functions; the gateway does the I/O.
 *
 * Nothing is forwarded blindly: the Chat body is built field by field from what maps, so fields
 * that do not map are dropped by the rules in {@link DROPPED_MESSAGES_FIELDS}; content the upstream
 * could not be given without changing the question is refused with a 400 instead (see
 * {@link messagesRequestToChat}).
 */

import { randomUUID } from 'node:crypto';
import type {
  ContentBlock,
  Message,
  MessageDeltaUsage,
  Usage as MessagesUsage,
  RawMessageStreamEvent,
  StopReason,
} from '@anthropic-ai/sdk/resources/messages';
import type { ErrorObject, ErrorResponse } from '@anthropic-ai/sdk/resources/shared';
import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionFunctionTool,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ReasoningEffort } from 'openai/resources/shared';
import { InvalidRequestError } from '../../errors.ts';
import { type AnswerCost, withCost } from '../answer-cost.ts';
import { anthropicStreamError } from '../anthropic-messages.ts';
import type { ObservedUsage } from '../observe.ts';
import { reasoningTokensFromOpenAIChat, usageFromOpenAIChat } from '../openai-chat.ts';
import { sseFrame } from '../sse.ts';
import { count } from '../usage.ts';
import { isRecord, type Json, parseJson, records, text } from './shared.ts';
import type { StreamTranslator, TranslatedError, UpstreamEvent } from './types.ts';

// ─── drop rules ──────────────────────────────────────────────────────────────────────────────────

/**
 * Messages request fields (and parts of fields) that have no Chat Completions equivalent, with the
 * reason each is dropped. Any field not named here and not translated is dropped as well: the Chat
 * body is built from scratch, never copied.
 */
export const DROPPED_MESSAGES_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  top_k: 'Chat Completions has no top-k sampling.',
  cache_control:
    'OpenAI caches prompt prefixes by itself; Anthropic cache breakpoints (top level, system, blocks, tools) have no portable Chat equivalent. Cache reads still come back in usage.',
  service_tier:
    "Anthropic's tiers (auto, standard_only) are not OpenAI's; the route, not the client, picks the upstream tier.",
  speed: 'Anthropic fast mode has no Chat equivalent.',
  inference_geo: 'Anthropic data-residency setting; meaningless to another provider.',
  container: 'Anthropic code-execution containers run only on Anthropic.',
  context_management: 'Anthropic server-side context editing; the upstream keeps no such state.',
  mcp_servers: 'Anthropic connects to MCP servers itself; an OpenAI upstream cannot.',
  diagnostics: 'Anthropic prompt-cache diagnostics.',
  'thinking.display': 'OpenAI returns reasoning text (where it does) without a display option.',
  'tools[].strict':
    'OpenAI strict mode requires every property required and additionalProperties: false; forwarding it would turn valid Anthropic schemas into 400s. Tool input is not schema-guaranteed.',
  'tools[].(defer_loading|allowed_callers|input_examples|eager_input_streaming)': 'Anthropic tool-runtime hints.',
  'messages[].content[].citations': 'Citation metadata of earlier answers; the text itself is kept.',
  'messages[].content[].thinking':
    'Earlier thinking blocks: their signatures can only be verified by Anthropic and OpenAI keeps its own reasoning.',
  'messages[].content[].redacted_thinking': 'Encrypted Anthropic reasoning only Anthropic can read.',
  'messages[].content[].(server_tool_use|*_tool_result|container_upload)':
    'Activity of Anthropic-hosted tools (web search, code execution, …) the upstream neither ran nor can replay.',
  'tool_result.content[].(tool_reference|browser_state)': 'Anthropic tool-search and browser-tool state.',
  'document.(context|citations)': 'Document metadata; the document itself and its title are kept.',
  'image.transformations': 'Anthropic server-side image transforms.',
});

/** Content block types in assistant history that are dropped (see DROPPED_MESSAGES_FIELDS). */
const DROPPED_ASSISTANT_BLOCKS = new Set([
  'thinking',
  'redacted_thinking',
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
  'container_upload',
  'compaction',
]);

const DROPPED_TOOL_RESULT_BLOCKS = new Set(['tool_reference', 'browser_state']);

/**
 * Anthropic `thinking.budget_tokens` → OpenAI `reasoning_effort`. Anthropic's minimum budget is
 * 1,024; Claude Code asks 4,000 for "think", 10,000 for "think hard" and 31,999 for "ultrathink",
 * which land on low, medium and high. Budgets never map to `xhigh`/`max`: not every OpenAI-style
 * reasoning model accepts them; a client wanting them says so with `output_config.effort`.
 */
export const THINKING_BUDGET_EFFORT: ReadonlyArray<{ below: number; effort: ReasoningEffort }> = Object.freeze([
  { below: 8_000, effort: 'low' },
  { below: 24_000, effort: 'medium' },
  { below: Number.POSITIVE_INFINITY, effort: 'high' },
]);

const OUTPUT_EFFORTS = new Set(['low', 'medium', 'high', 'xhigh', 'max']);

// ─── request: Messages → Chat ────────────────────────────────────────────────────────────────────

export interface MessagesToChatOptions {
  /** The upstream's model id (the route's), replacing the client's `model`. */
  upstreamModel: string;
}

const refuse = (message: string): never => {
  throw new InvalidRequestError(message);
};

const objectAt = (value: unknown, where: string): Json =>
  isRecord(value) ? value : refuse(`${where}: expected an object`);

/**
 * Translates an Anthropic Messages request body into an OpenAI Chat Completions request body.
 *
 * - `system` (string or text blocks) and in-conversation `system` turns → `system` messages.
 * - user text/images (base64 → data URL, url → url)/PDF documents (base64 → `file` part)/text
 *   documents and search results (→ text) → user content parts.
 * - `tool_result` blocks → one `tool` message each, in order, before the rest of that user turn;
 *   `is_error` results are prefixed `Error: ` (Chat has no error flag); images or PDFs inside a
 *   result follow in a user message (Chat tool messages carry text only).
 * - assistant text and `tool_use` → `content` and `tool_calls` (input JSON-encoded).
 * - tools → functions; `tool_choice` auto/any/tool/none → auto/required/named/none;
 *   `disable_parallel_tool_use` → `parallel_tool_calls: false` (both only when tools are sent).
 * - `max_tokens` → `max_completion_tokens`; temperature, top_p as-is (Anthropic's 0–1 range is
 *   inside OpenAI's 0–2, same meaning); `stop_sequences` → `stop`; `metadata.user_id` → `user`.
 * - `output_config.effort` → `reasoning_effort` as named; else `thinking: enabled` →
 *   `reasoning_effort` by {@link THINKING_BUDGET_EFFORT}; adaptive/disabled thinking → model default.
 * - `output_config.format` (JSON schema) → `response_format: json_schema`.
 * - streaming → `stream: true` and `stream_options.include_usage` (the gateway bills on usage).
 *
 * Refused with {@link InvalidRequestError} (400) rather than silently answering another question:
 * non-custom tools (Anthropic server tools such as web search, and Anthropic-schema tools such as
 * bash or the text editor), content given by Files API id or by document URL, and unknown block types.
 *
 * @example
 * const body = messagesRequestToChat(
 *   { model: 'claude-sonnet-4-5', max_tokens: 1024, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] },
 *   { upstreamModel: 'gpt-4o-mini' },
 * );
 * // { model: 'gpt-4o-mini', messages: [{ role: 'system', … }, { role: 'user', content: 'Hi' }], max_completion_tokens: 1024 }
 */
export const messagesRequestToChat = (body: Record<string, unknown>, options: MessagesToChatOptions): Json => {
  const messages: ChatCompletionMessageParam[] = [];
  const system = systemText(body['system'], 'system');
  if (system !== undefined) messages.push({ role: 'system', content: system });
  const turns = Array.isArray(body['messages']) ? body['messages'] : refuse('messages: expected an array');
  for (const [at, turn] of turns.entries()) messages.push(...turnToChat(turn, `messages.${at}`));

  const chat: Json = { model: options.upstreamModel, messages };
  if (typeof body['max_tokens'] === 'number') chat['max_completion_tokens'] = body['max_tokens'];
  if (typeof body['temperature'] === 'number') chat['temperature'] = body['temperature'];
  if (typeof body['top_p'] === 'number') chat['top_p'] = body['top_p'];
  const stop = Array.isArray(body['stop_sequences']) ? body['stop_sequences'].filter((s) => typeof s === 'string') : [];
  if (stop.length > 0) chat['stop'] = stop;
  const user = isRecord(body['metadata']) ? text(body['metadata']['user_id']) : undefined;
  if (user) chat['user'] = user;

  const tools = toolsToChat(body['tools']);
  if (tools.length > 0) {
    chat['tools'] = tools;
    const choice = isRecord(body['tool_choice']) ? body['tool_choice'] : undefined;
    const mapped = toolChoiceToChat(choice);
    if (mapped !== undefined) chat['tool_choice'] = mapped;
    if (choice?.['disable_parallel_tool_use'] === true && mapped !== 'none') chat['parallel_tool_calls'] = false;
  }

  const output = isRecord(body['output_config']) ? body['output_config'] : {};
  const effort = reasoningEffort(body['thinking'], output['effort']);
  if (effort) chat['reasoning_effort'] = effort;
  if (
    isRecord(output['format']) &&
    output['format']['type'] === 'json_schema' &&
    isRecord(output['format']['schema'])
  ) {
    chat['response_format'] = {
      type: 'json_schema',
      json_schema: { name: 'output', schema: output['format']['schema'] },
    };
  }

  if (body['stream'] === true) {
    chat['stream'] = true;
    chat['stream_options'] = { include_usage: true };
  }
  return chat;
};

const systemText = (value: unknown, path: string): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return refuse(`${path}: expected a string or text blocks`);
  const texts = value.map((block, at) =>
    isRecord(block) && block['type'] === 'text' && typeof block['text'] === 'string'
      ? block['text']
      : refuse(`${path}.${at}: only text blocks can be translated`),
  );
  return texts.length > 0 ? texts.join('\n') : undefined;
};

const turnToChat = (turn: unknown, path: string): ChatCompletionMessageParam[] => {
  if (!isRecord(turn)) return refuse(`${path}: expected an object`);
  const { role, content } = turn;
  if (role === 'system') {
    const system = systemText(content, `${path}.content`);
    return system === undefined ? [] : [{ role: 'system', content: system }];
  }
  if (role !== 'user' && role !== 'assistant') return refuse(`${path}.role: expected user, assistant or system`);
  if (typeof content === 'string') return [{ role, content }];
  if (!Array.isArray(content)) return refuse(`${path}.content: expected a string or content blocks`);
  return role === 'user' ? userTurn(content, `${path}.content`) : assistantTurn(content, `${path}.content`);
};

const userTurn = (blocks: unknown[], path: string): ChatCompletionMessageParam[] => {
  const toolMessages: ChatCompletionMessageParam[] = [];
  const carried: ChatCompletionContentPart[] = [];
  const parts: ChatCompletionContentPart[] = [];
  for (const [at, value] of blocks.entries()) {
    const where = `${path}.${at}`;
    const block = objectAt(value, where);
    if (block['type'] === 'tool_result') {
      const result = toolResult(block, where);
      toolMessages.push(result.message);
      carried.push(...result.carried);
    } else {
      parts.push(...userPart(block, where));
    }
  }
  const all = [...carried, ...parts];
  if (all.length === 0) return toolMessages;
  const [only] = all;
  const content = all.length === 1 && only?.type === 'text' ? only.text : all;
  return [...toolMessages, { role: 'user', content }];
};

const userPart = (block: Json, where: string): ChatCompletionContentPart[] => {
  switch (block['type']) {
    case 'text':
      return [{ type: 'text', text: text(block['text']) ?? refuse(`${where}.text: expected a string`) }];
    case 'image':
      return [imagePart(block, where)];
    case 'document':
      return documentParts(block, where);
    case 'search_result':
      return [{ type: 'text', text: searchResultText(block) }];
    default:
      return refuse(`${where}: content block type '${String(block['type'])}' cannot be translated for this model`);
  }
};

const imagePart = (block: Json, where: string): ChatCompletionContentPart => {
  const source = isRecord(block['source']) ? block['source'] : {};
  if (source['type'] === 'base64' && typeof source['data'] === 'string' && typeof source['media_type'] === 'string') {
    return { type: 'image_url', image_url: { url: `data:${source['media_type']};base64,${source['data']}` } };
  }
  if (source['type'] === 'url' && typeof source['url'] === 'string') {
    return { type: 'image_url', image_url: { url: source['url'] } };
  }
  return refuse(`${where}.source: only base64 and url images can be translated for this model (not Files API ids)`);
};

const documentParts = (block: Json, where: string): ChatCompletionContentPart[] => {
  const source = isRecord(block['source']) ? block['source'] : {};
  const title = text(block['title']);
  if (source['type'] === 'base64' && source['media_type'] === 'application/pdf' && typeof source['data'] === 'string') {
    const file_data = `data:application/pdf;base64,${source['data']}`;
    return [{ type: 'file', file: { filename: title ?? 'document.pdf', file_data } }];
  }
  if (source['type'] === 'text' && typeof source['data'] === 'string') {
    return [{ type: 'text', text: title ? `${title}\n\n${source['data']}` : source['data'] }];
  }
  if (source['type'] === 'content') {
    if (typeof source['content'] === 'string') return [{ type: 'text', text: source['content'] }];
    return records(source['content']).flatMap((inner, at) => userPart(inner, `${where}.source.content.${at}`));
  }
  return refuse(
    `${where}.source: only base64 PDF, text and content documents can be translated for this model (not URLs or Files API ids)`,
  );
};

const searchResultText = (block: Json): string => {
  const head = [text(block['title']), text(block['source'])].filter(Boolean).join('\n');
  const body = records(block['content'])
    .map((inner) => text(inner['text']) ?? '')
    .join('\n');
  return head ? `${head}\n\n${body}` : body;
};

const toolResult = (
  block: Json,
  where: string,
): { message: ChatCompletionMessageParam; carried: ChatCompletionContentPart[] } => {
  const id = text(block['tool_use_id']) ?? refuse(`${where}.tool_use_id: expected a string`);
  const texts: string[] = [];
  const carried: ChatCompletionContentPart[] = [];
  if (typeof block['content'] === 'string') texts.push(block['content']);
  else if (Array.isArray(block['content'])) {
    for (const [at, value] of block['content'].entries()) {
      const innerWhere = `${where}.content.${at}`;
      const inner = objectAt(value, innerWhere);
      if (typeof inner['type'] === 'string' && DROPPED_TOOL_RESULT_BLOCKS.has(inner['type'])) continue;
      for (const part of userPart(inner, innerWhere)) {
        if (part.type === 'text') texts.push(part.text);
        else carried.push(part);
      }
    }
  }
  const joined = texts.join('\n');
  const content = block['is_error'] === true ? `Error: ${joined}` : joined;
  return { message: { role: 'tool', tool_call_id: id, content }, carried };
};

const assistantTurn = (blocks: unknown[], path: string): ChatCompletionMessageParam[] => {
  const texts: string[] = [];
  const calls: ChatCompletionMessageFunctionToolCall[] = [];
  for (const [at, value] of blocks.entries()) {
    const where = `${path}.${at}`;
    const block = objectAt(value, where);
    const type = String(block['type']);
    if (type === 'text') texts.push(text(block['text']) ?? refuse(`${where}.text: expected a string`));
    else if (type === 'tool_use') {
      calls.push({
        id: text(block['id']) ?? refuse(`${where}.id: expected a string`),
        type: 'function',
        function: {
          name: text(block['name']) ?? refuse(`${where}.name: expected a string`),
          arguments: JSON.stringify(block['input'] ?? {}),
        },
      });
    } else if (!DROPPED_ASSISTANT_BLOCKS.has(type)) {
      refuse(`${where}: content block type '${type}' cannot be translated for this model`);
    }
  }
  if (texts.length === 0 && calls.length === 0) return [];
  const message: ChatCompletionAssistantMessageParam = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : null,
  };
  if (calls.length > 0) message.tool_calls = calls;
  return [message];
};

const toolsToChat = (tools: unknown): ChatCompletionFunctionTool[] => {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) return refuse('tools: expected an array');
  return tools.map((tool, at): ChatCompletionFunctionTool => {
    if (!isRecord(tool)) return refuse(`tools.${at}: expected an object`);
    if (tool['type'] !== undefined && tool['type'] !== null && tool['type'] !== 'custom') {
      return refuse(
        `tools.${at}: tool type '${String(tool['type'])}' is an Anthropic-defined tool and cannot run on this model; only custom tools (name, description, input_schema) can be translated`,
      );
    }
    const name = text(tool['name']) ?? refuse(`tools.${at}.name: expected a string`);
    const fn: ChatCompletionFunctionTool['function'] = { name };
    if (typeof tool['description'] === 'string') fn.description = tool['description'];
    if (isRecord(tool['input_schema'])) fn.parameters = tool['input_schema'];
    return { type: 'function', function: fn };
  });
};

const toolChoiceToChat = (choice: Json | undefined): ChatCompletionToolChoiceOption | undefined => {
  switch (choice?.['type']) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return {
        type: 'function',
        function: { name: text(choice['name']) ?? refuse('tool_choice.name: expected a string') },
      };
    default:
      return undefined;
  }
};

const reasoningEffort = (thinking: unknown, outputEffort: unknown): ReasoningEffort | undefined => {
  if (typeof outputEffort === 'string' && OUTPUT_EFFORTS.has(outputEffort)) return outputEffort as ReasoningEffort;
  if (!isRecord(thinking) || thinking['type'] !== 'enabled') return undefined;
  const budget = count(thinking['budget_tokens']);
  return THINKING_BUDGET_EFFORT.find((step) => budget < step.below)?.effort ?? 'high';
};

// ─── usage and stop reasons: Chat → Messages ─────────────────────────────────────────────────────

/** Chat usage (as observed) → Anthropic usage; zeros when the upstream reported none. */
const messageUsage = ({ usage, reasoningTokens }: ObservedUsage): MessagesUsage => ({
  input_tokens: usage?.inputTokens ?? 0,
  output_tokens: usage?.outputTokens ?? 0,
  cache_read_input_tokens: usage?.cacheReadTokens ?? 0,
  cache_creation_input_tokens: usage?.cacheWriteTokens ?? 0,
  cache_creation: null,
  output_tokens_details: reasoningTokens > 0 ? { thinking_tokens: reasoningTokens } : null,
  server_tool_use: null,
  service_tier: null,
  inference_geo: null,
  speed: null,
});

/**
 * A whole completion's usage, read as the observer reads a stream's: OpenAI `prompt_tokens` includes
 * cache reads and writes, Anthropic `input_tokens` excludes both (protocols/openai-chat.ts splits them).
 */
const completionUsage = (usage: Json): ObservedUsage => ({
  usage: usageFromOpenAIChat(usage),
  reasoningTokens: reasoningTokensFromOpenAIChat(usage),
});

/** OpenAI does not say which stop sequence matched, so `stop` is always `end_turn`. */
const stopReason = (finish: string | undefined, usedTools: boolean, refused: boolean): StopReason => {
  if (finish === 'length') return 'max_tokens';
  if (finish === 'content_filter' || refused) return 'refusal';
  if (finish === 'tool_calls' || finish === 'function_call' || usedTools) return 'tool_use';
  return 'end_turn';
};

const messageId = (id: unknown): string => {
  const upstream = text(id);
  if (!upstream) return `msg_${randomUUID().replaceAll('-', '')}`;
  return upstream.startsWith('msg_') ? upstream : `msg_${upstream}`;
};

const parseToolInput = (args: unknown): unknown => {
  if (typeof args !== 'string' || args.trim() === '') return {};
  const parsed = parseJson(args);
  return isRecord(parsed) ? parsed : {};
};

/** Reasoning text, where an OpenAI-compatible upstream returns it (DeepSeek, vLLM, OpenRouter…). */
const reasoningText = (value: Json): string | undefined => text(value['reasoning_content']) || text(value['reasoning']);

// ─── response: Chat → Messages ───────────────────────────────────────────────────────────────────

/**
 * Translates an OpenAI `chat.completion` into an Anthropic `message` (first choice): reasoning
 * text → a `thinking` block (empty signature: nothing can sign it), content and refusal → `text`,
 * tool calls → `tool_use` (arguments parsed; unparsable arguments become `{}`), finish reasons
 * stop/length/tool_calls/content_filter → end_turn/max_tokens/tool_use/refusal, usage with cache
 * reads and writes split out of `prompt_tokens`.
 *
 * @example
 * const message = chatResponseToMessages(JSON.parse(await upstream.text()), { model: 'claude-sonnet-4-5' });
 * // { type: 'message', role: 'assistant', content: [{ type: 'text', text: '…' }], stop_reason: 'end_turn', usage: {…} }
 */
export const chatResponseToMessages = (completion: Record<string, unknown>, options: { model: string }): Json => {
  const choices = records(completion['choices']);
  const choice = choices.find((c) => c['index'] === 0) ?? choices[0] ?? {};
  const reply = isRecord(choice['message']) ? choice['message'] : {};
  const content: ContentBlock[] = [];
  const reasoning = reasoningText(reply);
  if (reasoning) content.push({ type: 'thinking', thinking: reasoning, signature: '' });
  const answer = text(reply['content']);
  if (answer) content.push({ type: 'text', text: answer, citations: null });
  const refusal = text(reply['refusal']);
  if (refusal) content.push({ type: 'text', text: refusal, citations: null });
  for (const call of records(reply['tool_calls'])) {
    const fn = isRecord(call['function']) ? call['function'] : {};
    content.push({
      type: 'tool_use',
      id: text(call['id']) || `toolu_${randomUUID().replaceAll('-', '')}`,
      name: text(fn['name']) ?? '',
      input: parseToolInput(fn['arguments']),
      caller: { type: 'direct' },
    });
  }
  const usedTools = content.some((block) => block.type === 'tool_use');
  const usage = completionUsage(isRecord(completion['usage']) ? completion['usage'] : {});
  const message = {
    id: messageId(completion['id']),
    type: 'message',
    role: 'assistant',
    model: options.model,
    content,
    stop_reason: stopReason(text(choice['finish_reason']), usedTools, Boolean(refusal)),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: messageUsage(usage),
  } satisfies Message;
  return message;
};

// ─── stream: Chat chunks → Messages events ───────────────────────────────────────────────────────

export interface ChatToMessagesStreamOptions {
  /** The client's model id, echoed in `message_start`. */
  model: string;
  /** Prices the observed usage: `message_delta.usage.cost` (answer-cost.ts). */
  cost?: AnswerCost | undefined;
}

interface ToolCallState {
  id: string | undefined;
  name: string | undefined;
  /** Arguments received before the block could open (no name yet). */
  pending: string;
  /** The Anthropic block index once opened. */
  block: number | undefined;
}

interface OpenBlock {
  kind: 'text' | 'thinking' | 'tool';
  index: number;
}

/** What the Messages side of a translated Chat stream keeps between chunks. */
interface MessagesStreamState {
  /** `waiting` for the first chunk, `streaming` once `message_start` went out, `done` after `message_stop` or an error. */
  phase: 'waiting' | 'streaming' | 'done';
  /** The next Anthropic content-block index (0, 1, 2…). */
  nextIndex: number;
  /** The one block being streamed. */
  open: OpenBlock | undefined;
  /** The upstream's `finish_reason`, once it came. */
  finishReason: string | undefined;
  /** A refusal was streamed as text: the stop reason is `refusal`. */
  refused: boolean;
  /** Tool calls in order of arrival, and by their `tool_calls[].index`. */
  calls: ToolCallState[];
  byIndex: Map<number, ToolCallState>;
}

const NO_USAGE: ObservedUsage = { usage: undefined, reasoningTokens: 0 };

/**
 * Turns a Chat Completions stream (`chat.completion.chunk` events, then `[DONE]`) into the exact
 * Anthropic Messages event sequence: `message_start`; per block `content_block_start`, deltas
 * (`thinking_delta` from `reasoning_content`, `text_delta`, `input_json_delta`) and
 * `content_block_stop`, one block open at a time with indices 0, 1, 2…, each tool call its own
 * block keyed by its `tool_calls[].index`; then `message_delta` (stop reason and usage, sent once
 * both the finish reason and the usage chunk are in, or at `[DONE]`/{@link StreamTranslator.end})
 * and `message_stop`. An upstream `{"error": …}` chunk, or data that is not JSON, becomes
 * `event: error` and ends the stream.
 *
 * Usage: OpenAI reports it only in its last chunk, but `message_start` must go first, so its counts
 * are 0. The observed numbers follow in `message_delta.usage`: `output_tokens` always, `input_tokens`
 * (prompt − cache reads − cache writes), `cache_read_input_tokens` and `cache_creation_input_tokens`
 * whenever the upstream reported usage. The Anthropic SDK's `MessageStream` takes `output_tokens`
 * from `message_delta` and overwrites the other three whenever they are non-null, so its final
 * message carries the real usage. Without upstream usage they are sent as null.
 *
 * Tool-call arguments are assumed to arrive one call after another, as OpenAI sends them; a
 * fragment for a call whose block is already closed cannot be placed and fails the stream rather
 * than corrupting the tool input.
 *
 * @example
 * const translator = createChatToMessagesStream({ model: 'claude-sonnet-4-5' });
 * const observer = streamObserver('chat');
 * const reader = createSseReader((e) => {
 *   const event = { event: e.event, data: parseEventData(e.data), raw: e.data };
 *   observer.onEvent(event);
 *   write(translator.push(event, observer.observation));
 * });
 * for await (const chunk of upstream.body) reader.feed(chunk);
 * write(translator.end(observer.observation));
 */
export const createChatToMessagesStream = (options: ChatToMessagesStreamOptions): StreamTranslator => {
  const state: MessagesStreamState = {
    phase: 'waiting',
    nextIndex: 0,
    open: undefined,
    finishReason: undefined,
    refused: false,
    calls: [],
    byIndex: new Map(),
  };

  const emit = (out: Uint8Array[], event: RawMessageStreamEvent): void => {
    out.push(sseFrame(JSON.stringify(event), event.type));
  };

  const start = (out: Uint8Array[], id: unknown): void => {
    if (state.phase !== 'waiting') return;
    state.phase = 'streaming';
    const message = {
      id: messageId(id),
      type: 'message',
      role: 'assistant',
      model: options.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: messageUsage(NO_USAGE),
    } satisfies Message;
    emit(out, { type: 'message_start', message });
  };

  const close = (out: Uint8Array[]): void => {
    if (!state.open) return;
    emit(out, { type: 'content_block_stop', index: state.open.index });
    state.open = undefined;
  };

  const openBlock = (out: Uint8Array[], kind: OpenBlock['kind'], block: ContentBlock): number => {
    close(out);
    const index = state.nextIndex;
    state.nextIndex += 1;
    state.open = { kind, index };
    emit(out, { type: 'content_block_start', index, content_block: block });
    return index;
  };

  const streamText = (out: Uint8Array[], piece: string): void => {
    if (state.open?.kind !== 'text') openBlock(out, 'text', { type: 'text', text: '', citations: null });
    const index = state.open?.index ?? 0;
    emit(out, { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
  };

  const streamThinking = (out: Uint8Array[], piece: string): void => {
    if (state.open?.kind !== 'thinking') openBlock(out, 'thinking', { type: 'thinking', thinking: '', signature: '' });
    const index = state.open?.index ?? 0;
    emit(out, { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } });
  };

  const newCall = (id: string | undefined): ToolCallState => {
    const call: ToolCallState = { id, name: undefined, pending: '', block: undefined };
    state.calls.push(call);
    return call;
  };

  /** Keyed by `index`; a new id under a known index (seen from some compatible servers) is a new call. */
  const resolveCall = (delta: Json): ToolCallState => {
    const id = text(delta['id']) || undefined;
    if (typeof delta['index'] === 'number') {
      const known = state.byIndex.get(delta['index']);
      if (known && !(id && known.id && known.id !== id)) return known;
      const call = newCall(id);
      state.byIndex.set(delta['index'], call);
      return call;
    }
    if (id) return state.calls.find((call) => call.id === id) ?? newCall(id);
    return state.calls.at(-1) ?? newCall(undefined);
  };

  const toolArgs = (out: Uint8Array[], index: number, partial: string): void => {
    emit(out, { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } });
  };

  const openTool = (out: Uint8Array[], call: ToolCallState): void => {
    call.block = openBlock(out, 'tool', {
      type: 'tool_use',
      id: call.id ?? `toolu_${randomUUID().replaceAll('-', '')}`,
      name: call.name ?? '',
      input: {},
      caller: { type: 'direct' },
    });
    if (call.pending) {
      toolArgs(out, call.block, call.pending);
      call.pending = '';
    }
  };

  /** Returns false when a fragment arrives for a call whose block is already closed. */
  const streamToolCall = (out: Uint8Array[], delta: Json): boolean => {
    const call = resolveCall(delta);
    const fn = isRecord(delta['function']) ? delta['function'] : {};
    call.id ??= text(delta['id']) || undefined;
    call.name ??= text(fn['name']) || undefined;
    const args = text(fn['arguments']) ?? '';
    if (call.block === undefined) {
      call.pending += args;
      if (call.name !== undefined) openTool(out, call);
      return true;
    }
    if (state.open?.index !== call.block) return args === '';
    if (args) toolArgs(out, call.block, args);
    return true;
  };

  const failWith = (out: Uint8Array[], type: string, message: string): Uint8Array[] => {
    state.phase = 'done';
    out.push(anthropicStreamError(type, message));
    return out;
  };

  const finalize = (out: Uint8Array[], observed: ObservedUsage): Uint8Array[] => {
    start(out, undefined);
    close(out);
    for (const call of state.calls) {
      if (call.block === undefined) {
        openTool(out, call);
        close(out);
      }
    }
    const usage = observed.usage;
    const deltaUsage: MessageDeltaUsage = usage
      ? {
          input_tokens: usage.inputTokens,
          cache_read_input_tokens: usage.cacheReadTokens,
          cache_creation_input_tokens: usage.cacheWriteTokens,
          output_tokens: usage.outputTokens,
          output_tokens_details: observed.reasoningTokens > 0 ? { thinking_tokens: observed.reasoningTokens } : null,
          server_tool_use: null,
        }
      : {
          // Unknown: null keeps message_start's numbers in the SDK's accumulated message.
          input_tokens: null,
          cache_read_input_tokens: null,
          cache_creation_input_tokens: null,
          output_tokens: 0,
          output_tokens_details: null,
          server_tool_use: null,
        };
    // Every call has its block by now: any call at all means the model used tools.
    const stop_reason = stopReason(state.finishReason, state.calls.length > 0, state.refused);
    emit(out, {
      type: 'message_delta',
      delta: { stop_reason, stop_sequence: null, stop_details: null, container: null },
      // `cost` is Tollgate's addition (OpenRouter's usage accounting field); the SDK ignores it.
      usage: withCost(deltaUsage, usage, options.cost),
    });
    emit(out, { type: 'message_stop' });
    state.phase = 'done';
    return out;
  };

  return {
    push(event: UpstreamEvent, observed): Uint8Array[] {
      const out: Uint8Array[] = [];
      if (state.phase === 'done') return out;
      const data = event.data;
      if (data === undefined) {
        const raw = event.raw.trim();
        if (raw === '[DONE]') return finalize(out, observed);
        if (raw === '') return out;
        return failWith(out, 'api_error', 'The upstream sent a stream event that is not JSON');
      }
      if (isRecord(data['error'])) {
        const error = data['error'];
        const type = errorTypeFor(undefined, text(error['type']), text(error['code']));
        return failWith(out, type, text(error['message']) || 'The upstream failed mid-stream');
      }
      start(out, data['id']);
      const choices = records(data['choices']);
      const choice = choices.find((c) => c['index'] === 0) ?? choices[0];
      if (choice) {
        const delta = isRecord(choice['delta']) ? choice['delta'] : {};
        const reasoning = reasoningText(delta);
        if (reasoning) streamThinking(out, reasoning);
        const content = text(delta['content']);
        if (content) streamText(out, content);
        const refusal = text(delta['refusal']);
        if (refusal) {
          state.refused = true;
          streamText(out, refusal);
        }
        for (const call of records(delta['tool_calls'])) {
          if (!streamToolCall(out, call)) {
            return failWith(
              out,
              'api_error',
              'The upstream interleaved tool-call arguments; the stream cannot be translated',
            );
          }
        }
        const reason = text(choice['finish_reason']);
        if (reason) {
          state.finishReason = reason;
          close(out);
        }
      }
      // The usage chunk may come after the finish reason (OpenAI) or with it.
      if (state.finishReason !== undefined && observed.usage !== undefined) return finalize(out, observed);
      return out;
    },
    end(observed): Uint8Array[] {
      return state.phase === 'done' ? [] : finalize([], observed);
    },
    fail(type: string, message: string): Uint8Array[] {
      return state.phase === 'done' ? [] : failWith([], type, message);
    },
  };
};

// ─── errors: Chat → Messages ─────────────────────────────────────────────────────────────────────

const STATUS_ERROR_TYPES: Readonly<Record<number, ErrorObject['type']>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** OpenAI error `type`/`code` values (no status: in-stream errors) → Anthropic type. */
const OPENAI_ERROR_HINTS: ReadonlyArray<[RegExp, ErrorObject['type']]> = [
  [/^(requests|tokens|rate_limit_exceeded|rate_limit_error|insufficient_quota)$/, 'rate_limit_error'],
  [/overloaded/, 'overloaded_error'],
  [/^(authentication_error|invalid_api_key)$/, 'authentication_error'],
  [/^permission_error$/, 'permission_error'],
  [/^(not_found_error|model_not_found)$/, 'not_found_error'],
  [/timeout/, 'timeout_error'],
  [/^invalid_request_error$/, 'invalid_request_error'],
];

/** By status when there is one (the Anthropic SDK picks its error class by status too), else by OpenAI code/type. */
const errorTypeFor = (
  status: number | undefined,
  type: string | undefined,
  code: string | undefined,
): ErrorObject['type'] => {
  const byStatus = status === undefined ? undefined : STATUS_ERROR_TYPES[status];
  if (byStatus) return byStatus;
  for (const value of [code, type]) {
    const hint = value === undefined ? undefined : OPENAI_ERROR_HINTS.find(([pattern]) => pattern.test(value));
    if (hint) return hint[1];
  }
  return status !== undefined && status < 500 ? 'invalid_request_error' : 'api_error';
};

/**
 * Renders an OpenAI-style error response (`{"error":{"message","type","code","param"}}`, or any
 * other body) as an Anthropic error (`{"type":"error","error":{"type","message"},"request_id":null}`),
 * status kept: 400 invalid_request_error, 401 authentication_error, 402 billing_error, 403
 * permission_error, 404 not_found_error, 408/504 timeout_error, 429 rate_limit_error, 503/529
 * overloaded_error, other 5xx api_error, other 4xx invalid_request_error. A context-length error
 * reads "prompt is too long: …", the wording Anthropic clients (Claude Code) react to by compacting.
 *
 * @example
 * openAIErrorToAnthropic(429, '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}');
 * // { status: 429, body: '{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached"},"request_id":null}' }
 */
export const openAIErrorToAnthropic = (status: number, body: string): TranslatedError => {
  const parsed = parseJson(body);
  const error = isRecord(parsed) ? (isRecord(parsed['error']) ? parsed['error'] : parsed) : {};
  const code = text(error['code']);
  const raw = body.trim();
  let message =
    text(error['message']) || (parsed === undefined && raw ? raw.slice(0, 500) : `Upstream answered ${status}`);
  if (code === 'context_length_exceeded' && !message.startsWith('prompt is too long')) {
    message = `prompt is too long: ${message}`;
  }
  const response = {
    type: 'error',
    error: { type: errorTypeFor(status, text(error['type']), code), message },
    request_id: null,
  } satisfies ErrorResponse;
  return { status, body: JSON.stringify(response) };
};
