import { InvalidRequestError } from '../errors.ts';
import type { Operation, Protocol, Route } from '../vocabulary.ts';
import type { AnswerCost } from './answer-cost.ts';
import { openAIStreamError } from './openai-chat.ts';
import { sseFrame } from './sse.ts';
import {
  anthropicErrorToOpenAI,
  chatRequestToMessages,
  createMessagesToChatStream,
  messagesResponseToChat,
} from './translate/chat-via-messages.ts';
import {
  chatResponseToMessages,
  createChatToMessagesStream,
  messagesRequestToChat,
  openAIErrorToAnthropic,
} from './translate/messages-via-chat.ts';
import {
  anthropicErrorToResponses,
  createMessagesToResponsesStream,
  messagesResponseToResponses,
  responsesRequestToMessages,
} from './translate/responses-via-messages.ts';
import type { StreamTranslator, TranslatedError } from './translate/types.ts';

export interface BridgeContext {
  route: Route;
  /** The client's request body, as validated. */
  body: Record<string, unknown>;
  /** The model id the client knows (responses name it, not the upstream's). */
  model: string;
  /** Prices the final usage: a translated stream puts it in its usage as `cost` (answer-cost.ts). */
  cost?: AnswerCost | undefined;
}

/**
 * How a client's wire format reaches an upstream that speaks `upstream`: the request to send, and
 * how to turn the answer, its stream and its errors back. Absent functions mean "as is": same-format
 * bytes are forwarded unchanged.
 */
export interface Bridge {
  upstream: Operation;
  request(context: BridgeContext): Record<string, unknown>;
  response?(json: Record<string, unknown>, context: BridgeContext): Record<string, unknown>;
  /** A translator for the upstream's stream events, or undefined to forward its bytes unchanged. */
  stream?(context: BridgeContext): StreamTranslator | undefined;
  error?(status: number, body: string): TranslatedError;
}

const PROTOCOL_NAMES: Record<Protocol, string> = { openai: 'OpenAI', anthropic: 'Anthropic' };

const upstreamModel = ({ route }: BridgeContext): string => route.upstreamModel ?? route.model;
const defaultMaxTokens = ({ route }: BridgeContext): number => route.defaultMaxTokens ?? 4_096;

const wantsUsage = (body: Record<string, unknown>): boolean =>
  (body['stream_options'] as { include_usage?: unknown } | null | undefined)?.include_usage === true;

/**
 * OpenAI Chat streams report usage only when asked (`stream_options.include_usage`). The gateway
 * always asks, so it can bill; a client that did not ask gets the stream without the extra
 * usage-only chunk (and so without a shape it does not expect).
 */
const usageStripper = (): StreamTranslator => ({
  push(event) {
    const choices = event.data?.['choices'];
    const usageOnly = Array.isArray(choices) && choices.length === 0 && event.data?.['usage'];
    return usageOnly ? [] : [sseFrame(event.raw, event.event)];
  },
  end: () => [],
  fail: (type, message) => [openAIStreamError(type, message)],
});

const passthrough = (format: Operation): Bridge => ({
  upstream: format,
  request: (context) => ({ ...context.body, model: upstreamModel(context) }),
});

const chatToChat: Bridge = {
  upstream: 'chat',
  request(context) {
    const body: Record<string, unknown> = { ...context.body, model: upstreamModel(context) };
    if (body['stream'] === true && !wantsUsage(context.body)) {
      body['stream_options'] = { ...(context.body['stream_options'] as object | undefined), include_usage: true };
    }
    return body;
  },
  stream: (context) => (wantsUsage(context.body) ? undefined : usageStripper()),
};

const chatViaMessages: Bridge = {
  upstream: 'messages',
  request: (context) =>
    chatRequestToMessages(context.body, {
      upstreamModel: upstreamModel(context),
      defaultMaxTokens: defaultMaxTokens(context),
    }),
  response: (json, context) => messagesResponseToChat(json, { model: context.model }),
  stream: (context) =>
    createMessagesToChatStream({
      model: context.model,
      includeUsage: wantsUsage(context.body),
      cost: context.cost,
    }),
  error: anthropicErrorToOpenAI,
};

const messagesViaChat: Bridge = {
  upstream: 'chat',
  request: (context) => messagesRequestToChat(context.body, { upstreamModel: upstreamModel(context) }),
  response: (json, context) => chatResponseToMessages(json, { model: context.model }),
  stream: (context) => createChatToMessagesStream({ model: context.model, cost: context.cost }),
  error: openAIErrorToAnthropic,
};

const responsesViaMessages: Bridge = {
  upstream: 'messages',
  request: (context) =>
    responsesRequestToMessages(context.body, {
      upstreamModel: upstreamModel(context),
      defaultMaxTokens: defaultMaxTokens(context),
    }),
  response: (json, context) => messagesResponseToResponses(json, { model: context.model, request: context.body }),
  stream: (context) =>
    createMessagesToResponsesStream({ model: context.model, request: context.body, cost: context.cost }),
  error: anthropicErrorToResponses,
};

const refuse = (client: Operation, route: Route, served: string): never => {
  const error = new InvalidRequestError(
    `Model '${route.model}' cannot serve ${client === 'embeddings' ? 'embeddings' : `'${client}' requests`}: ${served}.`,
  );
  error.param = 'model';
  throw error;
};

/**
 * The bridge from the client's wire format to a route whose upstream speaks `upstream` (undefined:
 * the built-in echo provider, which answers chat, messages and embeddings natively).
 */
export const bridgeFor = (client: Operation, upstream: Protocol | undefined, route: Route): Bridge => {
  const speaks = upstream ?? 'any';
  switch (`${client}/${speaks}`) {
    case 'chat/openai':
    case 'chat/any':
      return chatToChat;
    case 'chat/anthropic':
      return chatViaMessages;
    case 'messages/anthropic':
    case 'messages/any':
      return passthrough('messages');
    case 'messages/openai':
      return messagesViaChat;
    case 'responses/openai':
      return passthrough('responses');
    case 'responses/anthropic':
    case 'responses/any':
      return responsesViaMessages;
    case 'embeddings/openai':
    case 'embeddings/any':
      return passthrough('embeddings');
    case 'count_tokens/anthropic':
      return passthrough('count_tokens');
    default:
      return refuse(
        client,
        route,
        `its upstream speaks the ${upstream ? PROTOCOL_NAMES[upstream] : 'echo'} protocol (${client} is served on ${
          client === 'embeddings' || client === 'responses' ? 'OpenAI' : 'Anthropic'
        }-protocol routes)`,
      );
  }
};
