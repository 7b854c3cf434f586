import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashKey } from '../../lambdas/gateway/keys.ts';
import { seedIfEmpty } from '../../lambdas/runtime/seed.ts';
import { getAccount } from '../../lambdas/services/accounts.ts';
import { catalogueRoutes, DEFAULT_CATALOGUE } from '../../lambdas/services/catalogue.ts';
import { createTestDatabase } from '../support/dynamo.ts';
import { runOn, runWithEnv } from './in-process.ts';

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
    expect((await getAccount(db.stores, { accountId: 'demo' })).balance_usd).toBe('5.00');
    expect(await db.stores.keys.get(hashKey(first.key))).toMatchObject({
      keyId: first.keyId,
      accountId: 'demo',
      name: 'demo',
    });
    expect(second).toEqual({ seeded: false });
    expect(await db.stores.keys.listByAccount('demo')).toHaveLength(1);
    expect((await getAccount(db.stores, { accountId: 'demo' })).balance_usd).toBe('5.00');
  });

  it('leaves a database that already has routes alone', async () => {
    const db = await createTestDatabase();
    await db.stores.routes.put({ model: 'mine', provider: 'echo', prices: { input: 1, output: 1 } });
    expect(await seedIfEmpty(db.stores)).toEqual({ seeded: false });
    expect(await db.stores.wallets.get('demo')).toBeUndefined();
  });
});

describe('routes import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-catalogue-'));
  const file = (name: string, json: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(json));
    return path;
  };

  it('imports a catalogue file and prints what it created', async () => {
    const db = await createTestDatabase();
    const path = file('two.json', {
      routes: [
        { model: 'first', provider: 'echo', prices: { input: '1', output: '2' }, fallbacks: ['second'] },
        { model: 'second', provider: 'echo', prices: { input: '1', output: '2' } },
      ],
    });

    const run = await runOn(db, 'routes', 'import', path);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'Imported 2 routes (2 created, 0 replaced): first, second. A gateway on this database may use the old routes for up to 30 s (cache TTL).\n',
    );
  });

  it('exits 1 before connecting on a missing file or a catalogue it refuses, naming the entry', async () => {
    const offline = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };
    const bad = file('bad.json', {
      routes: [{ model: 'x', provider: 'bedrock', prices: { input: '1', output: '1' } }],
    });

    const missing = await runWithEnv(offline, 'routes', 'import', join(dir, 'nope.json'));
    const refused = await runWithEnv(offline, 'routes', 'import', bad, '--json');

    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('no such file') });
    expect(missing.stderr).toContain("Cannot read catalogue '");
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual({
      error: { message: expect.stringContaining("Invalid catalogue: routes[0] (x): Unknown provider 'bedrock'") },
    });
  });
});
