import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

type Path = '/v1/chat/completions' | '/v1/responses' | '/v1/messages';

const USER = [{ role: 'user', content: 'hello' }];

/** A minimal valid request for `path`, with `extra` fields on top. */
const bodyFor = (path: Path, extra: Record<string, unknown> = {}): Record<string, unknown> => {
  if (path === '/v1/responses') return { model: 'gpt', input: 'hello', ...extra };
  if (path === '/v1/messages') return { model: 'claude', max_tokens: 64, messages: USER, ...extra };
  return { model: 'gpt', messages: USER, ...extra };
};

/** A user turn carrying one content part, in the shape of `path`'s wire format. */
const withPart = (path: Path, part: Record<string, unknown>) =>
  path === '/v1/responses'
    ? { input: [{ role: 'user', content: [{ type: 'input_text', text: 'read this' }, part] }] }
    : { messages: [{ role: 'user', content: [{ type: 'text', text: 'read this' }, part] }] };

interface Refusal {
  path: Path;
  /** Fields added to (or replacing those of) the minimal request. */
  extra: Record<string, unknown>;
  headers?: Record<string, string>;
  /** The OpenAI envelope's `param`; an Anthropic envelope has none, so its message names the field. */
  param: string | null;
  /** Words the message must contain. */
  says: string;
}

/**
 * Client-controlled price modifiers are priced or refused, never silently passed (issue 10): each
 * refusal is a 400 `invalid_request_error` naming the field, before anything is held or sent.
 */
const REFUSALS: Record<string, Refusal> = {
  // Chat Completions
  'chat web_search_options': {
    path: '/v1/chat/completions',
    extra: { web_search_options: {} },
    param: 'web_search_options',
    says: 'web_search_options',
  },
  'chat audio output': {
    path: '/v1/chat/completions',
    extra: { audio: { voice: 'alloy', format: 'wav' } },
    param: 'audio',
    says: 'audio',
  },
  'chat predicted outputs': {
    path: '/v1/chat/completions',
    extra: { prediction: { type: 'content', content: 'hello' } },
    param: 'prediction',
    says: 'prediction',
  },
  "chat modalities ['audio']": {
    path: '/v1/chat/completions',
    extra: { modalities: ['text', 'audio'] },
    param: 'modalities',
    says: 'audio',
  },
  'chat service_tier priority': {
    path: '/v1/chat/completions',
    extra: { service_tier: 'priority' },
    param: 'service_tier',
    says: 'service_tier',
  },
  'chat service_tier scale': {
    path: '/v1/chat/completions',
    extra: { service_tier: 'scale' },
    param: 'service_tier',
    says: 'service_tier',
  },
  'chat n 0': { path: '/v1/chat/completions', extra: { n: 0 }, param: 'n', says: "'n'" },
  'chat n 129': { path: '/v1/chat/completions', extra: { n: 129 }, param: 'n', says: "'n'" },
  'chat n 1.5': { path: '/v1/chat/completions', extra: { n: 1.5 }, param: 'n', says: "'n'" },
  "chat n '2'": { path: '/v1/chat/completions', extra: { n: '2' }, param: 'n', says: "'n'" },
  'chat an uploaded file (file_id)': {
    path: '/v1/chat/completions',
    extra: withPart('/v1/chat/completions', { type: 'file', file: { file_id: 'file-abc' } }),
    param: null,
    says: 'Files uploaded',
  },
  // Responses
  'responses previous_response_id': {
    path: '/v1/responses',
    extra: { previous_response_id: 'resp_someone_elses' },
    param: 'previous_response_id',
    says: 'previous_response_id',
  },
  'responses conversation': {
    path: '/v1/responses',
    extra: { conversation: 'conv_someone_elses' },
    param: 'conversation',
    says: 'conversation',
  },
  'responses background: true': {
    path: '/v1/responses',
    extra: { background: true },
    param: 'background',
    says: 'background',
  },
  'responses stored prompt': {
    path: '/v1/responses',
    extra: { prompt: { id: 'pmpt_someone_elses' } },
    param: 'prompt',
    says: 'prompt',
  },
  'responses service_tier priority': {
    path: '/v1/responses',
    extra: { service_tier: 'priority' },
    param: 'service_tier',
    says: 'service_tier',
  },
  'responses web_search tool': {
    path: '/v1/responses',
    extra: { tools: [{ type: 'function', name: 'f', parameters: {} }, { type: 'web_search' }] },
    param: 'tools.1.type',
    says: 'web_search',
  },
  'responses code_interpreter tool': {
    path: '/v1/responses',
    extra: { tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] },
    param: 'tools.0.type',
    says: 'code_interpreter',
  },
  'responses file_search tool': {
    path: '/v1/responses',
    extra: { tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] },
    param: 'tools.0.type',
    says: 'file_search',
  },
  'responses hosted MCP tool': {
    path: '/v1/responses',
    extra: { tools: [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example' }] },
    param: 'tools.0.type',
    says: 'mcp',
  },
  'responses image_generation tool': {
    path: '/v1/responses',
    extra: { tools: [{ type: 'image_generation' }] },
    param: 'tools.0.type',
    says: 'image_generation',
  },
  'responses an item_reference': {
    path: '/v1/responses',
    extra: { input: [{ type: 'item_reference', id: 'msg_someone_elses' }] },
    param: null,
    says: 'Stored items',
  },
  'responses an input_file by file_id': {
    path: '/v1/responses',
    extra: withPart('/v1/responses', { type: 'input_file', file_id: 'file-abc' }),
    param: null,
    says: 'Files uploaded',
  },
  'responses an input_image by file_id': {
    path: '/v1/responses',
    extra: withPart('/v1/responses', { type: 'input_image', file_id: 'file-abc', detail: 'auto' }),
    param: null,
    says: 'Files uploaded',
  },
  // Messages
  'messages mcp_servers': {
    path: '/v1/messages',
    extra: { mcp_servers: [{ type: 'url', url: 'https://mcp.example', name: 'x' }] },
    param: null,
    says: 'mcp_servers',
  },
  'messages container': { path: '/v1/messages', extra: { container: 'container_1' }, param: null, says: 'container' },
  'messages web_search tool': {
    path: '/v1/messages',
    extra: { tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }] },
    param: null,
    says: 'web_search_20250305',
  },
  'messages code_execution tool': {
    path: '/v1/messages',
    extra: { tools: [{ type: 'code_execution_20250522', name: 'code_execution' }] },
    param: null,
    says: 'code_execution_20250522',
  },
  "messages cache_control ttl '1h'": {
    path: '/v1/messages',
    extra: { system: [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral', ttl: '1h' } }] },
    param: null,
    says: 'cache_control.ttl',
  },
  'messages a document by file_id': {
    path: '/v1/messages',
    extra: withPart('/v1/messages', { type: 'document', source: { type: 'file', file_id: 'file_abc' } }),
    param: null,
    says: 'Files uploaded',
  },
  'messages speed fast': { path: '/v1/messages', extra: { speed: 'fast' }, param: null, says: 'speed' },
  'messages inference_geo us': {
    path: '/v1/messages',
    extra: { inference_geo: 'us' },
    param: null,
    says: 'inference_geo',
  },
  'messages anthropic-beta context-1m': {
    path: '/v1/messages',
    extra: {},
    headers: { 'anthropic-beta': 'prompt-caching-2024-07-31,context-1m-2025-08-07' },
    param: null,
    says: 'context-1m-2025-08-07',
  },
  'messages anthropic-beta extended-cache-ttl': {
    path: '/v1/messages',
    extra: {},
    headers: { 'anthropic-beta': 'extended-cache-ttl-2025-04-11' },
    param: null,
    says: 'extended-cache-ttl-2025-04-11',
  },
  'messages anthropic-beta files-api': {
    path: '/v1/messages',
    extra: {},
    headers: { 'anthropic-beta': 'files-api-2025-04-14' },
    param: null,
    says: 'files-api-2025-04-14',
  },
  'messages anthropic-beta mcp-client': {
    path: '/v1/messages',
    extra: {},
    headers: { 'anthropic-beta': 'mcp-client-2025-04-04' },
    param: null,
    says: 'mcp-client-2025-04-04',
  },
  'chat → Claude with anthropic-beta code-execution': {
    path: '/v1/chat/completions',
    extra: { model: 'claude' },
    headers: { 'anthropic-beta': 'code-execution-2025-05-22' },
    param: null,
    says: 'code-execution-2025-05-22',
  },
};

describe('guard-spend: price modifiers and stored objects are refused before anything is held or sent', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', upstreamModel: 'gpt-upstream' });
    await putRoute(db, { model: 'claude', provider: 'anthropic', upstreamModel: 'claude-upstream' });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const post = (secret: string, path: Path, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    gateway.post(secret, path, body, { headers });
  const usageRows = async (accountId: string) =>
    (await db.stores.wallets.allLedgerRows(accountId)).filter((row) => row.kind === 'usage');

  describe('refused with 400', () => {
    let account: { accountId: string; secret: string };
    beforeAll(async () => {
      account = await createAccountWithKey(db);
    });

    it.each(Object.entries(REFUSALS))('%s', async (_name, { path, extra, headers, param, says }) => {
      // Act
      const response = await post(account.secret, path, bodyFor(path, extra), headers);
      // Assess: 400 in the client's envelope, naming the field; nothing held, nothing sent
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { type: string; message: string; param?: string | null } };
      expect(body.error.type).toBe('invalid_request_error');
      expect(body.error.message).toContain(says);
      if (path === '/v1/messages') expect(body).toMatchObject({ type: 'error' });
      else expect(body.error.param).toBe(param);
      expect(upstream.requestCount).toBe(0);
      expect(await usageRows(account.accountId)).toEqual([]);
      expect((await db.stores.wallets.get(account.accountId))?.balance).toBe(5_000_000_000);
    });
  });

  describe('passed', () => {
    it('forwards only the allow-listed anthropic-beta values, dropping unknown ones', async () => {
      const { secret } = await createAccountWithKey(db);
      const beta = 'prompt-caching-2024-07-31, some-future-beta-2099-01-01 ,interleaved-thinking-2025-05-14';
      expect((await post(secret, '/v1/messages', bodyFor('/v1/messages'), { 'anthropic-beta': beta })).status).toBe(
        200,
      );
      expect(upstream.lastRequest?.headers['anthropic-beta']).toBe(
        'prompt-caching-2024-07-31,interleaved-thinking-2025-05-14',
      );
      // Only unknown values: no header at all
      const unknown = { 'anthropic-beta': 'some-future-beta-2099-01-01' };
      expect((await post(secret, '/v1/messages', bodyFor('/v1/messages'), unknown)).status).toBe(200);
      expect(upstream.lastRequest?.headers['anthropic-beta']).toBeUndefined();
      // …also on a request translated to Anthropic
      const translated = await post(
        secret,
        '/v1/chat/completions',
        bodyFor('/v1/chat/completions', { model: 'claude' }),
        {
          'anthropic-beta': beta,
        },
      );
      expect(translated.status).toBe(200);
      expect(upstream.lastRequest?.path).toBe('/v1/messages');
      expect(upstream.lastRequest?.headers['anthropic-beta']).toBe(
        'prompt-caching-2024-07-31,interleaved-thinking-2025-05-14',
      );
    });

    it.each([
      ['chat service_tier flex', '/v1/chat/completions', { service_tier: 'flex' }],
      ['chat service_tier auto', '/v1/chat/completions', { service_tier: 'auto' }],
      ['responses service_tier default', '/v1/responses', { service_tier: 'default' }],
      ['responses background: false', '/v1/responses', { background: false }],
      ['chat n 2', '/v1/chat/completions', { n: 2 }],
      ['chat n 128', '/v1/chat/completions', { n: 128, max_tokens: 4 }],
      ['chat function tool', '/v1/chat/completions', { tools: [{ type: 'function', function: { name: 'f' } }] }],
      ['responses function tool', '/v1/responses', { tools: [{ type: 'function', name: 'f', parameters: {} }] }],
      ['messages custom tool', '/v1/messages', { tools: [{ name: 'f', input_schema: { type: 'object' } }] }],
      ['messages bash tool', '/v1/messages', { tools: [{ type: 'bash_20250124', name: 'bash' }] }],
      [
        "messages cache_control ttl '5m'",
        '/v1/messages',
        { system: [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral', ttl: '5m' } }] },
      ],
      ['messages speed standard', '/v1/messages', { speed: 'standard' }],
      ['messages inference_geo global', '/v1/messages', { inference_geo: 'global' }],
    ] as const)('%s', async (_name, path, extra) => {
      const { accountId, secret } = await createAccountWithKey(db);
      const response = await post(secret, path, bodyFor(path, extra));
      expect(response.status).toBe(200);
      await response.text();
      expect(upstream.requestCount).toBe(1);
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({ outcome: 'completed' });
    });
  });
});
