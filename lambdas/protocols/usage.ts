/**
 * One usage shape for every protocol (DESIGN §4). `inputTokens` excludes cache reads and writes, so
 * each token is priced exactly once: OpenAI's `prompt_tokens` includes its cached tokens and is
 * normalized down; Anthropic's `input_tokens` already excludes them.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });

export const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
