import type { Protocol, Route } from '../vocabulary.ts';

const epochSeconds = (iso: string | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) || 0 : 0);

/**
 * `GET /v1/models` in the client's shape: OpenAI's list, or Anthropic's page when the request
 * carries `anthropic-version`. Only models the key may use are listed.
 */
export const modelList = (routes: readonly Route[], protocol: Protocol): Record<string, unknown> => {
  if (protocol === 'openai') {
    return {
      object: 'list',
      data: routes.map((route) => ({
        id: route.model,
        object: 'model',
        created: epochSeconds(route.createdAt),
        owned_by: route.provider,
      })),
    };
  }
  return {
    data: routes.map((route) => ({
      type: 'model',
      id: route.model,
      display_name: route.model,
      created_at: route.createdAt ?? new Date(0).toISOString(),
      capabilities: null,
      deprecated_at: null,
      lifecycle: 'active',
      line: null,
      max_input_tokens: null,
      max_tokens: route.defaultMaxTokens ?? null,
      retires_at: null,
    })),
    has_more: false,
    first_id: routes[0]?.model ?? null,
    last_id: routes.at(-1)?.model ?? null,
  };
};
