import type { ProviderKind } from '../vocabulary.ts';
import { anthropic } from './anthropic.ts';
import { echo } from './echo.ts';
import { openAICompatible, openai } from './openai.ts';
import type { ProviderAdapter } from './types.ts';

export const PROVIDERS: Readonly<Record<ProviderKind, ProviderAdapter>> = {
  openai,
  anthropic,
  'openai-compatible': openAICompatible({ kind: 'openai-compatible' }),
  echo,
};
