import type { Operation } from '../vocabulary.ts';
import { postJson } from './http.ts';
import type { ProviderAdapter, UpstreamCall } from './types.ts';

const DEFAULT_VERSION = '2023-06-01';
const PATHS: Partial<Record<Operation, string>> = {
  messages: '/v1/messages',
  count_tokens: '/v1/messages/count_tokens',
};

/** Anthropic's Messages API; the base URL excludes `/v1`, as `ANTHROPIC_BASE_URL` does. */
export const anthropic: ProviderAdapter = {
  kind: 'anthropic',
  protocol: 'anthropic',
  defaultCredential: 'ANTHROPIC_API_KEY',
  defaultBaseUrl: { env: 'ANTHROPIC_BASE_URL', url: 'https://api.anthropic.com' },
  send({ operation, body, credential, baseUrl, clientHeaders, guard, signal }: UpstreamCall) {
    const path = PATHS[operation];
    if (!path) throw new Error(`anthropic adapter cannot serve '${operation}'`);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': clientHeaders['anthropic-version'] ?? DEFAULT_VERSION,
    };
    const beta = clientHeaders['anthropic-beta'];
    if (beta) headers['anthropic-beta'] = beta;
    if (credential) headers['x-api-key'] = credential;
    return postJson(`${(baseUrl ?? '').replace(/\/+$/, '')}${path}`, headers, JSON.stringify(body), signal, guard);
  },
};
