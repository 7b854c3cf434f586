import type { Operation, ProviderKind } from '../vocabulary.ts';
import { postJson } from './http.ts';
import type { ProviderAdapter, UpstreamCall } from './types.ts';

const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

const PATHS: Partial<Record<Operation, string>> = {
  chat: '/chat/completions',
  responses: '/responses',
  embeddings: '/embeddings',
};

/**
 * An OpenAI-protocol upstream. OpenAI itself and every compatible vendor (DeepSeek, Groq, vLLM,
 * OpenRouter…) are one factory call; the base URL includes `/v1`, as `OPENAI_BASE_URL` does.
 *
 * @example
 * const groq = openAICompatible({ kind: 'openai-compatible' });
 */
export const openAICompatible = ({
  kind,
  defaultCredential,
  defaultBaseUrl,
}: {
  kind: ProviderKind;
  defaultCredential?: string;
  defaultBaseUrl?: { env: string; url: string };
}): ProviderAdapter => ({
  kind,
  protocol: 'openai',
  defaultCredential,
  defaultBaseUrl,
  send({ operation, body, credential, baseUrl, guard, signal }: UpstreamCall) {
    const path = PATHS[operation];
    if (!path) throw new Error(`openai adapter cannot serve '${operation}'`);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (credential) headers['authorization'] = `Bearer ${credential}`;
    return postJson(joinUrl(baseUrl ?? '', path), headers, JSON.stringify(body), signal, guard);
  },
});

export const openai = openAICompatible({
  kind: 'openai',
  defaultCredential: 'OPENAI_API_KEY',
  defaultBaseUrl: { env: 'OPENAI_BASE_URL', url: 'https://api.openai.com/v1' },
});
