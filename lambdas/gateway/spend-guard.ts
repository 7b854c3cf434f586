import { InvalidRequestError } from '../errors.ts';
import { clientCap } from '../protocols/output-cap.ts';
import type { Route } from '../vocabulary.ts';
import type { ParsedRequest } from './state.ts';

/** Used when neither the request nor the route names a max output. */
export const FALLBACK_MAX_TOKENS = 4_096;

/** OpenAI's own limit on Chat's `n`. */
export const MAX_CHOICES = 128;

/**
 * What a request may make the upstream generate, decided once: the hold is priced on it and the
 * same cap is written into the upstream body (`protocols/output-cap.ts`).
 */
export interface OutputCap {
  /** Max output tokens per choice: the client's cap, else the route's default, else 4,096. */
  tokens: number;
  /** Parallel choices (Chat's `n`): the hold multiplies by it. */
  choices: number;
}

/** The client's fields that decide the spend, checked before anything is held or sent. */
export interface SpendTerms {
  cap: OutputCap;
  /** The `anthropic-beta` header to send upstream: only allow-listed values, or none. */
  anthropicBeta: string | undefined;
}

const refuse = (message: string, param?: string): never => {
  const error = new InvalidRequestError(message);
  if (param) error.param = param;
  throw error;
};

/**
 * The request's output cap. Embeddings and token counts generate nothing; every other request is
 * capped, so no upstream can generate more than was held.
 *
 * @example outputCap({ operation: 'chat', body: { messages, n: 2 }, text }, route) // { tokens: 4096, choices: 2 }
 */
export const outputCap = (request: ParsedRequest, route: Route): OutputCap => {
  const { operation, body } = request;
  if (operation === 'embeddings' || operation === 'count_tokens') return { tokens: 0, choices: 1 };
  const tokens = clientCap(operation, body) ?? route.defaultMaxTokens ?? FALLBACK_MAX_TOKENS;
  const n = operation === 'chat' ? body['n'] : undefined;
  if (n === undefined || n === null) return { tokens, choices: 1 };
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_CHOICES) {
    refuse(`'n' must be a whole number from 1 to ${MAX_CHOICES}`, 'n');
  }
  return { tokens, choices: n as number };
};

/**
 * `anthropic-beta` values passed upstream. Each changes neither the price per token nor what the
 * request can reach; output-raising betas are safe because the cap is written into the body.
 */
const PASSED_BETAS: ReadonlySet<string> = new Set([
  'claude-code-20250219',
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'context-management-2025-06-27',
  'dev-full-thinking-2025-05-14',
  'fine-grained-tool-streaming-2025-05-14',
  'interleaved-thinking-2025-05-14',
  'model-context-window-exceeded-2025-08-26',
  'output-128k-2025-02-19',
  'output-300k-2026-03-24',
  'pdfs-2024-09-25',
  'prompt-caching-2024-07-31',
  'structured-outputs-2025-11-13',
  'token-counting-2024-11-01',
  'token-efficient-tools-2025-02-19',
]);

/** Betas refused with a reason: they change the price, or reach data outside the caller's account. */
const REFUSED_BETAS: readonly [RegExp, string][] = [
  [/^context-1m-/, 'the 1M-token context window is priced above the route'],
  [/^extended-cache-ttl-/, '1-hour cache writes are priced above the route'],
  [/^fast-mode-/, 'fast mode is priced above the route'],
  [/^code-execution-|^skills-|^advisor-tool-/, 'server-side tools are billed outside token prices'],
  [/^mcp-client-|^mcp-tunnels-/, 'the MCP connector runs server-side tools'],
  [/^files-api-/, "uploaded files belong to the gateway's provider account, not yours"],
  [
    /^(agent-memory|managed-agents|server-side-fallback|fallback-credit|message-batches)-/,
    'not served by this gateway',
  ],
];

/**
 * The `anthropic-beta` header to pass: allow-listed values only. A beta that changes the price or
 * reaches outside the account is refused (400 naming it); an unknown one is dropped, never passed,
 * so a client's new beta cannot switch on a price the route does not charge.
 */
export const anthropicBetas = (header: string | undefined): string | undefined => {
  if (!header) return undefined;
  const passed: string[] = [];
  for (const beta of header.split(',').map((value) => value.trim())) {
    const refused = REFUSED_BETAS.find(([pattern]) => pattern.test(beta));
    if (refused) refuse(`anthropic-beta '${beta}' is not available through this gateway: ${refused[1]}`);
    if (PASSED_BETAS.has(beta)) passed.push(beta);
  }
  return passed.length > 0 ? passed.join(',') : undefined;
};

/** Tool types that run on the client and cost only tokens; every other (server) tool is refused. */
const CLIENT_TOOL =
  /^(function|custom|local_shell|shell|apply_patch|bash_\d+|text_editor_\d+|computer_\d+|memory_\d+)$/;

const OPENAI_TIERS = new Set(['auto', 'default', 'flex']);

/** Request fields refused outright, per wire format, with the reason given to the client. */
const REFUSED_FIELDS: Partial<Record<ParsedRequest['operation'], Readonly<Record<string, string>>>> = {
  chat: {
    web_search_options: 'web search is billed per call, outside token prices',
    audio: 'audio output is priced above the route',
    prediction: 'predicted outputs bill rejected tokens outside the output cap',
  },
  messages: {
    mcp_servers: 'the MCP connector runs server-side tools',
    container: 'server-side containers are billed outside token prices',
  },
  responses: {
    background: 'background responses outlive the request that pays for them',
    previous_response_id: "stored responses belong to the gateway's provider account; send the whole conversation",
    conversation: "stored conversations belong to the gateway's provider account; send the whole conversation",
    prompt: "stored prompts belong to the gateway's provider account",
  },
};

/**
 * Request fields whose other values are priced above the route or generate beyond the held cap:
 * only these values pass. Anthropic's `speed: "fast"` costs a multiple of standard rates and
 * `inference_geo: "us"` 1.1×; neither needs a beta header on current models.
 */
const PRICE_NEUTRAL_VALUES: Readonly<Record<string, { values: ReadonlySet<unknown>; why: string }>> = {
  speed: { values: new Set(['standard']), why: 'fast mode is priced above the route' },
  inference_geo: { values: new Set(['global']), why: 'geo-pinned inference is priced above the route' },
  // OpenAI-compatible servers (vLLM and others): generate more sequences than they return or report.
  best_of: { values: new Set([1]), why: 'it generates sequences the hold does not cover; use n' },
  use_beam_search: { values: new Set([false]), why: 'beam search generates sequences the hold does not cover' },
};

/** Nested values that reach outside the account or change the price, wherever they appear. */
const checkNested = (body: Readonly<Record<string, unknown>>): void => {
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      stack.push(...value);
      continue;
    }
    const node = value as Record<string, unknown>;
    const { type } = node;
    const storedFile =
      (type === 'file' && isObject(node['file']) && node['file']['file_id'] !== undefined) ||
      ((type === 'input_file' || type === 'input_image') && node['file_id'] !== undefined) ||
      ((type === 'document' || type === 'image' || type === 'container_upload') &&
        isObject(node['source']) &&
        node['source']['type'] === 'file') ||
      type === 'container_upload';
    if (storedFile) {
      refuse("Files uploaded to a provider belong to the gateway's account, not yours: send the content inline");
    }
    if (type === 'item_reference') {
      refuse("Stored items belong to the gateway's provider account: send the items themselves in input");
    }
    if (
      isObject(node['cache_control']) &&
      node['cache_control']['ttl'] !== undefined &&
      node['cache_control']['ttl'] !== '5m'
    ) {
      refuse('cache_control.ttl other than 5m is priced above the route; omit ttl for the 5-minute cache');
    }
    for (const child of Object.values(node)) if (child !== null && typeof child === 'object') stack.push(child);
  }
};

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object';

/**
 * Client fields that change the upstream's price or reach outside the caller's account are priced
 * or refused, never silently passed (DESIGN §4): server-side tools, premium service tiers, 1-hour
 * cache TTLs, price-changing betas, stored objects of the provider account, background responses.
 * Also fixes the output cap. Throws 400 `invalid_request_error` naming the field.
 *
 * @example const { cap, anthropicBeta } = spendTerms(request, route, event.headers);
 */
export const spendTerms = (
  request: ParsedRequest,
  route: Route,
  headers: Readonly<Record<string, string | undefined>>,
): SpendTerms => {
  const body: Readonly<Record<string, unknown>> = request.body;
  for (const [field, why] of Object.entries(REFUSED_FIELDS[request.operation] ?? {})) {
    const value = body[field];
    if (value !== undefined && value !== null && value !== false)
      refuse(`'${field}' is not available through this gateway: ${why}`, field);
  }
  for (const [field, { values, why }] of Object.entries(PRICE_NEUTRAL_VALUES)) {
    const value = body[field];
    if (value !== undefined && value !== null && !values.has(value)) {
      refuse(`${field} '${String(value)}' is not available through this gateway: ${why}`, field);
    }
  }
  if (request.operation === 'chat' && Array.isArray(body['modalities']) && body['modalities'].includes('audio')) {
    refuse("'modalities' may not include audio: audio output is priced above the route", 'modalities');
  }
  const tier = body['service_tier'];
  if (request.operation !== 'messages' && tier !== undefined && tier !== null && !OPENAI_TIERS.has(String(tier))) {
    refuse(`service_tier '${String(tier)}' is priced above the route; use auto, default or flex`, 'service_tier');
  }
  if (Array.isArray(body['tools'])) {
    for (const [index, tool] of body['tools'].entries()) {
      const type = isObject(tool) ? tool['type'] : undefined;
      if (type !== undefined && (typeof type !== 'string' || !CLIENT_TOOL.test(type))) {
        refuse(
          `Tool type '${String(type)}' runs on the provider and is billed outside token prices; only client-side tools are available`,
          `tools.${index}.type`,
        );
      }
    }
  }
  checkNested(body);
  return { cap: outputCap(request, route), anthropicBeta: anthropicBetas(headers['anthropic-beta']) };
};
