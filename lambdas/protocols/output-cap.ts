import type { Operation, ProviderKind } from '../vocabulary.ts';

/** Every field any wire format caps generated tokens with. */
const CAP_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/**
 * The output cap a client asked for, read from the field its own protocol defines: Chat's
 * `max_completion_tokens` (which supersedes its older `max_tokens`), Messages' `max_tokens`,
 * Responses' `max_output_tokens`. Cap fields of other protocols mean nothing to the upstream the
 * client spoke to, so they are ignored here and removed from the upstream body ({@link withCap}).
 *
 * @example clientCap('responses', { max_tokens: 1, max_output_tokens: 64_000 }) // 64_000
 */
export const clientCap = (operation: Operation, body: Readonly<Record<string, unknown>>): number | undefined => {
  switch (operation) {
    case 'chat':
      return positive(body['max_completion_tokens']) ?? positive(body['max_tokens']);
    case 'messages':
      return positive(body['max_tokens']);
    case 'responses':
      return positive(body['max_output_tokens']);
    case 'embeddings':
    case 'count_tokens':
      return undefined;
  }
};

/**
 * The one field an upstream endpoint reads its output cap from: OpenAI Chat reads
 * `max_completion_tokens` (its reasoning models refuse `max_tokens`); OpenAI-compatible servers
 * read `max_tokens` (DeepSeek, vLLM, OpenRouter; few know the newer name); Messages `max_tokens`;
 * Responses `max_output_tokens`. Embeddings and token counts generate nothing.
 */
export const capField = (format: Operation, provider: ProviderKind): (typeof CAP_FIELDS)[number] | undefined => {
  switch (format) {
    case 'chat':
      return provider === 'openai' ? 'max_completion_tokens' : 'max_tokens';
    case 'messages':
      return 'max_tokens';
    case 'responses':
      return 'max_output_tokens';
    case 'embeddings':
    case 'count_tokens':
      return undefined;
  }
};

/**
 * The upstream body with exactly one cap: `tokens` in the field the upstream reads, every other cap
 * field removed, so the upstream can never generate more than the hold was priced on.
 *
 * @example withCap('chat', 'openai', { max_tokens: 64_000, max_completion_tokens: 1 }, 1)
 * // { max_completion_tokens: 1 }
 */
export const withCap = (
  format: Operation,
  provider: ProviderKind,
  body: Readonly<Record<string, unknown>>,
  tokens: number,
): Record<string, unknown> => {
  const capped: Record<string, unknown> = { ...body };
  for (const field of CAP_FIELDS) delete capped[field];
  const field = capField(format, provider);
  if (field) capped[field] = tokens;
  return capped;
};
