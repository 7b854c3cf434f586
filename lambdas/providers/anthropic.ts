import type { ProviderAdapter, UpstreamCall } from './types.ts';

const DEFAULT_VERSION = '2023-06-01';

/** Anthropic's Messages API; the base URL excludes `/v1`, as `ANTHROPIC_BASE_URL` does. */
export const anthropic: ProviderAdapter = {
  kind: 'anthropic',
  protocol: 'anthropic',
  defaultCredential: 'ANTHROPIC_API_KEY',
  defaultBaseUrl: { env: 'ANTHROPIC_BASE_URL', url: 'https://api.anthropic.com' },
  send({ operation, body, credential, baseUrl, clientHeaders, signal }: UpstreamCall) {
    if (operation !== 'messages') throw new Error(`anthropic adapter cannot serve '${operation}'`);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': clientHeaders['anthropic-version'] ?? DEFAULT_VERSION,
    };
    const beta = clientHeaders['anthropic-beta'];
    if (beta) headers['anthropic-beta'] = beta;
    if (credential) headers['x-api-key'] = credential;
    return fetch(`${(baseUrl ?? '').replace(/\/+$/, '')}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal,
    });
  },
};
