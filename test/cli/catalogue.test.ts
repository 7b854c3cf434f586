import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getBalance } from '../../lambdas/cli/accounts.ts';
import { importRoutes, listRoutes } from '../../lambdas/cli/routes.ts';
import { hashKey } from '../../lambdas/gateway/keys.ts';
import { seedIfEmpty } from '../../lambdas/runtime/seed.ts';
import { catalogueRoutes, DEFAULT_CATALOGUE } from '../../lambdas/services/catalogue.ts';
import { CommandError } from '../../lambdas/services/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

describe('default catalogue (lib/catalogue.json)', () => {
  const routes = catalogueRoutes(DEFAULT_CATALOGUE);
  const byModel = new Map(routes.map((route) => [route.model, route]));

  it('routes the current OpenAI and Anthropic models and the built-in echo model', () => {
    for (const model of [
      'claude-sonnet-4-6',
      'claude-opus-4-6',
      'claude-haiku-4-5',
      'gpt-5.3-codex',
      'gpt-5.2',
      'gpt-5-mini',
      'text-embedding-3-small',
      'tollgate-echo',
    ]) {
      expect(byModel.has(model), model).toBe(true);
    }
    expect(byModel.get('tollgate-echo')).toMatchObject({
      provider: 'echo',
      prices: { input: 1_000_000_000, output: 2_000_000_000 },
    });
  });

  it('leaves credential and base URL of openai and anthropic routes to the gateway defaults', () => {
    for (const route of routes.filter((r) => r.provider === 'openai' || r.provider === 'anthropic')) {
      expect(route.credential, route.model).toBeUndefined();
      expect(route.baseUrl, route.model).toBeUndefined();
    }
  });

  it('records its source and writes every price as a decimal string', () => {
    const raw = JSON.parse(readFileSync('lib/catalogue.json', 'utf8')) as {
      _source: string;
      routes: { prices: Record<string, unknown> }[];
    };
    expect(raw._source).toMatch(/2026/);
    for (const { prices } of raw.routes) {
      for (const price of Object.values(prices)) expect(price).toMatch(/^\d+\.\d+$/);
    }
  });
});

describe('route import', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('refuses a catalogue with any bad entry and writes nothing', async () => {
    const catalogue = {
      routes: [
        { model: 'fine', provider: 'openai', prices: { input: '1', output: '2' } },
        { model: 'float', provider: 'openai', prices: { input: 0.1, output: '2' } },
      ],
    };
    await expect(importRoutes(db.stores, catalogue)).rejects.toThrow(CommandError);
    await expect(importRoutes(db.stores, catalogue)).rejects.toThrow('routes.1.prices.input');
    await expect(
      importRoutes(db.stores, { routes: [{ model: 'x', provider: 'bedrock', prices: { input: '1', output: '1' } }] }),
    ).rejects.toThrow("routes[0] (x): Unknown provider 'bedrock'");
    expect((await listRoutes(db.stores)).routes).toEqual([]);
  });

  it('imports the output of routes list back unchanged', async () => {
    await importRoutes(db.stores, DEFAULT_CATALOGUE);
    const listed = await listRoutes(db.stores);
    const again = await importRoutes(db.stores, listed);
    expect(again).toMatchObject({ created: 0, updated: listed.routes.length });
    expect((await listRoutes(db.stores)).routes.map(({ updatedAt: _, ...route }) => route)).toEqual(
      listed.routes.map(({ updatedAt: _, ...route }) => route),
    );
  });
});

describe('seedIfEmpty', () => {
  it('loads the catalogue, credits a demo account $5 and mints its key, once', async () => {
    // Prepare
    const db = await createTestDatabase();

    // Act
    const first = await seedIfEmpty(db.stores);
    const second = await seedIfEmpty(db.stores);

    // Assess
    if (!first.seeded) throw new Error('expected the empty database to be seeded');
    expect(first.key).toMatch(/^sk-[^-]+$/);
    expect(first.routes).toBe(catalogueRoutes(DEFAULT_CATALOGUE).length);
    expect((await db.stores.routes.list()).length).toBe(first.routes);
    expect((await getBalance(db.stores, 'demo')).balance_usd).toBe('5.00');
    expect(await db.stores.keys.get(hashKey(first.key))).toMatchObject({
      keyId: first.keyId,
      accountId: 'demo',
      name: 'demo',
    });
    expect(second).toEqual({ seeded: false });
    expect(await db.stores.keys.listByAccount('demo')).toHaveLength(1);
    expect((await getBalance(db.stores, 'demo')).balance_usd).toBe('5.00');
  });

  it('leaves a database that already has routes alone', async () => {
    const db = await createTestDatabase();
    await db.stores.routes.put({ model: 'mine', provider: 'echo', prices: { input: 1, output: 1 } });
    expect(await seedIfEmpty(db.stores)).toEqual({ seeded: false });
    expect(await db.stores.wallets.get('demo')).toBeUndefined();
  });
});
