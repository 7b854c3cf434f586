import { InvalidRequestError, PayloadTooLargeError } from '../errors.ts';
import { isOperation, type ParsedRequest, stateOf } from '../gateway/state.ts';
import { CountTokensRequest, MessagesRequest } from '../protocols/anthropic-messages.ts';
import { ChatCompletionRequest, EmbeddingsRequest } from '../protocols/openai-chat.ts';
import { ResponsesRequest } from '../protocols/openai-responses.ts';
import type { z } from '../protocols/zod.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

const SCHEMAS = {
  chat: ChatCompletionRequest,
  messages: MessagesRequest,
  embeddings: EmbeddingsRequest,
  responses: ResponsesRequest,
  count_tokens: CountTokensRequest,
} as const satisfies Record<ParsedRequest['operation'], z.ZodMiniType>;

/** Far deeper than any real request (tool schemas nest a few dozen levels), far below what breaks JSON.stringify. */
export const MAX_DEPTH = 256;

/** Whether a parsed JSON value nests deeper than `limit`, checked without recursion. */
const depthExceeds = (root: unknown, limit: number): boolean => {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (depth > limit) return true;
    if (value !== null && typeof value === 'object') {
      for (const child of Object.values(value))
        if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
};

const describeIssue = (issue: z.core.$ZodIssue): string => {
  const path = issue.path.map(String).join('.');
  return path ? `'${path}': ${issue.message}` : issue.message;
};

/**
 * Reads and validates the JSON body of endpoints that take one, before any database or upstream
 * call: over the size limit → 413 (checked before parsing), not JSON or off-schema → 400 naming
 * the problem.
 */
export const parseBody = ({ maxBodyBytes }: { maxBodyBytes: number }): ProxyMiddleware => {
  const parseBodyBefore = (request: ProxyRequest) => {
    const state = stateOf(request.context);
    const operation = state.endpoint;
    if (!isOperation(operation)) return; // models and wallet take no body
    const { body, isBase64Encoded } = request.event;
    const size = body === undefined ? 0 : isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
    if (size > maxBodyBytes) {
      throw new PayloadTooLargeError(`Request body is ${size} bytes; the limit is ${maxBodyBytes} bytes`);
    }
    const text = body === undefined ? '' : isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
    if (text.trim() === '') throw new InvalidRequestError('Request body is empty; expected a JSON object');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // V8 quotes a piece of the body in its message: keep the position, never the content.
      const why = (error as Error).message.replace(/"[^"]*"/g, '…');
      throw new InvalidRequestError(`Request body is not valid JSON: ${why}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InvalidRequestError('Request body must be a JSON object');
    }
    if (depthExceeds(parsed, MAX_DEPTH)) {
      throw new InvalidRequestError(`Request body is nested more than ${MAX_DEPTH} levels deep`);
    }
    const result = SCHEMAS[operation].safeParse(parsed);
    if (!result.success) {
      const [first] = result.error.issues;
      const error = new InvalidRequestError(
        `Invalid request: ${result.error.issues.slice(0, 3).map(describeIssue).join('; ')}`,
      );
      if (first && first.path.length > 0) error.param = first.path.map(String).join('.');
      throw error;
    }
    // The schema of `operation` produced `data`; TypeScript cannot pair the two through the lookup.
    state.request = { operation, body: result.data, text } as ParsedRequest;
  };
  return { before: parseBodyBefore };
};
