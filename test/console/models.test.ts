import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointsOf } from '../../lambdas/gateway/model-endpoints.ts';
import { createAccount, updateAccount } from '../../lambdas/services/accounts.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { accountModels, discountedUsd } from '../../lambdas/services/models.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { route } from '../support/fakes.ts';
import { startTestConsole, type TestConsole } from './console-client.ts';

const USD = 1_000_000_000;

/** The table row of a model on the page (its header cell holds the model id). */
const rowOf = (page: string, model: string): string => {
  const start = page.indexOf(`<th scope="row" class="name"><code>${model}</code>`);
  expect(start).toBeGreaterThan(-1);
  return page.slice(start, page.indexOf('</tr>', start));
};

describe('prices after a discount', () => {
  it('multiplies in integers and keeps every digit', () => {
    expect(discountedUsd(3 * USD, 800_000)).toBe('2.40');
    expect(discountedUsd(3 * USD, 1_000_000)).toBe('3.00');
    expect(discountedUsd(75_000_000, 800_000)).toBe('0.06');
    // 1_000_000_003 × 0.7 = 700_000_002.1 nano-USD: no float would print this.
    expect(discountedUsd(1_000_000_003, 700_000)).toBe('0.7000000021');
    expect(discountedUsd(1, 333_333)).toBe('0.000000000333333');
    expect(discountedUsd(0, 800_000)).toBe('0.00');
  });
});

describe('the protocols a route answers', () => {
  it("lists its provider's own protocol and the ones the gateway translates", () => {
    const names = (provider: string) =>
      endpointsOf(route('m', { provider })).map((e) => `${e.operation}${e.translated ? '*' : ''}`);

    expect(names('openai')).toEqual(['chat', 'messages*', 'responses', 'embeddings']);
    expect(names('anthropic')).toEqual(['chat*', 'messages', 'responses*']);
    expect(names('nonsense')).toEqual([]);
  });
});

describe('GET /console/models', () => {
  let db: TestDatabase;
  let console: TestConsole;
  let cookie: string;
  let full: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    console = await startTestConsole(db);
    await createAccount(db.stores, { accountId: 'acme' });
    await updateAccount(db.stores, { accountId: 'acme', discount: '0.8' });
    await createAccount(db.stores, { accountId: 'plain' });
    await addMember(db.stores, { accountId: 'acme', email: 'ada@example.com' });
    await addMember(db.stores, { accountId: 'plain', email: 'bob@example.com' });
    await db.stores.routes.put(
      route('claude-sonnet-4-6', {
        provider: 'anthropic',
        prices: { input: 3 * USD, output: 15 * USD, cacheRead: 300_000_000, cacheWrite: 3_750_000_000 },
        fallbacks: ['gpt-5.2'],
      }),
    );
    await db.stores.routes.put(
      route('gpt-5.2', { provider: 'openai', prices: { input: 1_000_000_003, output: 14 * USD } }),
    );
    await db.stores.routes.put(route(`very-long-model-name-${'x'.repeat(80)}<b>`, { provider: 'openai-compatible' }));
    cookie = await console.signIn('ada@example.com');
    full = await console.signIn('bob@example.com');
  });
  afterAll(async () => {
    await console.close();
  });

  it('needs a session', async () => {
    const page = await console.get('/console/models');

    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/console/sign-in');
  });

  it("lists every routed model with provider, protocols, fallbacks and the account's exact prices beside the list price", async () => {
    const page = await console.get('/console/models', { cookie });

    expect(page.status).toBe(200);
    expect(page.body).toContain('Plugins quote list prices; these are what you pay.');
    expect(page.body).toContain('0.8 of list price (20% off)');
    const claude = rowOf(page.body, 'claude-sonnet-4-6');
    expect(claude).toContain('<td>anthropic</td>');
    expect(claude).toContain('Messages</span>');
    expect(claude).toContain('Chat Completions (translated)');
    expect(claude).toContain('Responses (translated)');
    expect(claude).not.toContain('Embeddings');
    expect(claude).toContain('gpt-5.2');
    expect(claude).toMatch(/\$2\.40<\/span><br\/><span class="muted small">list <span class="usd">\$3\.00/);
    expect(claude).toContain('$12.00');
    expect(claude).toContain('$0.24');
    expect(claude).toContain('$3.00</span>'); // cache write 3.75 × 0.8
    expect(claude).toContain('sk-…-anthropic/claude-sonnet-4-6');
    const gpt = rowOf(page.body, 'gpt-5.2');
    expect(gpt).toContain('$0.8000000024');
    expect(gpt).toContain('input price'); // no cache prices of its own
    expect(gpt).toContain('Embeddings');
    expect(gpt).toContain('<span class="muted">none</span>');
  });

  it('escapes and wraps long model names inside a scrolling table', async () => {
    const page = await console.get('/console/models', { cookie });

    expect(page.body).toContain('<div class="table-wrap">');
    expect(page.body).toContain(`very-long-model-name-${'x'.repeat(80)}&lt;b>`);
    expect(page.body).not.toContain(`${'x'.repeat(80)}<b>`);
    expect(page.body).toContain('<th scope="row" class="name">');
  });

  it('shows list prices only, without a second column, to an account without a discount', async () => {
    const page = await console.get('/console/models', { cookie: full });

    expect(rowOf(page.body, 'claude-sonnet-4-6')).not.toContain('list <span');
    expect(page.body).not.toContain('of list price');
  });

  it('answers the same numbers as the service', async () => {
    const models = await accountModels(db.stores, { accountId: 'acme' });

    expect(models.models.find((m) => m.model === 'claude-sonnet-4-6')?.prices.output).toEqual({
      usd: '12.00',
      list_usd: '15.00',
      as_input: false,
    });
  });
});

describe('GET /console/models with no routes', () => {
  it('says that no models are routed yet', async () => {
    const db = await createTestDatabase();
    const console = await startTestConsole(db);
    try {
      await createAccount(db.stores, { accountId: 'empty' });
      await addMember(db.stores, { accountId: 'empty', email: 'e@example.com' });
      const page = await console.get('/console/models', { cookie: await console.signIn('e@example.com') });

      expect(page.status).toBe(200);
      expect(page.body).toContain('No models are routed yet');
      expect(page.body).not.toContain('<table');
    } finally {
      await console.close();
    }
  });
});
