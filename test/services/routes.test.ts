import { beforeAll, describe, expect, it } from 'vitest';
import { catalogueRoutes, DEFAULT_CATALOGUE } from '../../lambdas/services/catalogue.ts';
import { InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import type { RouteSpec } from '../../lambdas/services/route-spec.ts';
import { deleteRoute, importRoutes, listRoutes, setRoute } from '../../lambdas/services/routes.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

const route = (model: string, fallbacks?: string[]): RouteSpec => ({
  model,
  provider: 'echo',
  prices: { input: '1', output: '2' },
  ...(fallbacks ? { fallbacks } : {}),
});

describe('routes service', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await setRoute(db.stores, route('backup-a'));
    await setRoute(db.stores, route('backup-b'));
  });

  describe('setRoute', () => {
    it('stores prices as exact nano-USD per million tokens ("0.075" is 75,000,000)', async () => {
      await setRoute(db.stores, {
        model: 'mini',
        provider: 'openai',
        prices: { input: '0.075', output: '0.3', cacheRead: '0.0075', cacheWrite: '0.09375' },
        defaultMaxTokens: '4096',
      });

      expect((await db.stores.routes.get('mini'))?.prices).toEqual({
        input: 75_000_000,
        output: 300_000_000,
        cacheRead: 7_500_000,
        cacheWrite: 93_750_000,
      });
      expect((await listRoutes(db.stores)).routes.find((view) => view.model === 'mini')).toMatchObject({
        prices: { input: '0.075', output: '0.30', cacheRead: '0.0075', cacheWrite: '0.09375' },
        defaultMaxTokens: 4096,
      });
    });

    it('replaces a route whole and keeps when it was created', async () => {
      const t0 = new Date('2026-11-01T00:00:00.000Z');
      const t1 = new Date('2026-11-01T00:00:01.000Z');
      const first = await setRoute(
        { ...db.stores, now: () => t0 },
        {
          model: 'llama',
          provider: 'openai-compatible',
          baseUrl: 'https://api.groq.com/openai/v1',
          credential: 'GROQ_API_KEY',
          prices: { input: '0.59', output: '0.79' },
        },
      );
      const second = await setRoute(
        { ...db.stores, now: () => t1 },
        { model: 'llama', provider: 'openai', prices: { input: '1', output: '2' } },
      );

      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      const stored = await db.stores.routes.get('llama');
      expect(stored).toMatchObject({ provider: 'openai', createdAt: t0.toISOString(), updatedAt: t1.toISOString() });
      expect(stored?.baseUrl).toBeUndefined();
    });

    it.each<[Partial<RouteSpec>, string]>([
      [{ model: 'has space' }, 'Invalid model id'],
      [{ provider: 'azure' }, "Unknown provider 'azure'"],
      [{ provider: 'openai', baseUrl: 'not a url' }, 'Invalid base URL'],
      [{ provider: 'openai', baseUrl: 'ftp://example.com' }, 'only http and https'],
      [{ provider: 'openai', baseUrl: 'https://user:pw@example.com' }, 'not in the URL'],
      [{ provider: 'openai-compatible' }, 'needs a base URL'],
      [{ provider: 'echo', credential: 'X' }, 'built in'],
      [{ provider: 'openai', credential: 'sk live key' }, 'Invalid credential name'],
      [{ provider: 'openai', defaultMaxTokens: '0' }, 'default max tokens'],
      [{ provider: 'openai', prices: { input: '-1', output: '1' } }, 'input price'],
      [{ provider: 'openai', prices: { input: '1', output: '0.1234567891' } }, 'output price'],
      [{ fallbacks: ['backup-a', 'bad'] }, 'cannot fall back to itself'],
      [{ fallbacks: ['backup-a', 'backup-b', 'backup-a'] }, "'backup-a' is listed twice"],
      [{ fallbacks: ['has space'] }, "Invalid fallback model 'has space'"],
    ])('refuses %j as invalid input and writes nothing', async (change, message) => {
      const spec: RouteSpec = { model: 'bad', provider: 'openai', prices: { input: '1', output: '1' }, ...change };

      await expect(setRoute(db.stores, spec)).rejects.toThrow(InvalidInputError);
      await expect(setRoute(db.stores, spec)).rejects.toThrow(message);
      expect(await db.stores.routes.get(spec.model)).toBeUndefined();
    });

    it('stores fallbacks in the order given and lists them', async () => {
      const result = await setRoute(db.stores, route('primary', ['backup-b', 'backup-a']));

      expect(result.warnings).toEqual([]);
      expect((await db.stores.routes.get('primary'))?.fallbacks).toEqual(['backup-b', 'backup-a']);
      const listed = (await listRoutes(db.stores)).routes.find((view) => view.model === 'primary');
      expect(listed?.fallbacks).toEqual(['backup-b', 'backup-a']);
    });

    it('writes a fallback that has no route yet, with a warning naming it', async () => {
      const result = await setRoute(db.stores, route('hopeful', ['backup-a', 'not-yet']));

      expect(result.warnings).toEqual([expect.stringContaining("fallback 'not-yet' has no route yet")]);
      expect((await db.stores.routes.get('hopeful'))?.fallbacks).toEqual(['backup-a', 'not-yet']);
    });

    it('clears the fallbacks when a route is set again without them', async () => {
      await setRoute(db.stores, route('fickle', ['backup-a']));
      await setRoute(db.stores, route('fickle'));

      expect(await db.stores.routes.get('fickle')).not.toHaveProperty('fallbacks');
      expect((await listRoutes(db.stores)).routes.find((view) => view.model === 'fickle')).not.toHaveProperty(
        'fallbacks',
      );
    });
  });

  describe('deleteRoute', () => {
    it('deletes a route, and refuses to delete one that does not exist', async () => {
      await setRoute(db.stores, route('doomed-alone'));

      expect(await deleteRoute(db.stores, { model: 'doomed-alone' })).toEqual({
        model: 'doomed-alone',
        deleted: true,
        warnings: [],
      });
      await expect(deleteRoute(db.stores, { model: 'doomed-alone' })).rejects.toThrow(NotFoundError);
      await expect(deleteRoute(db.stores, { model: 'doomed-alone' })).rejects.toThrow(
        "No route for model 'doomed-alone'",
      );
    });

    it('warns about the routes that still fall back to the deleted one', async () => {
      await setRoute(db.stores, route('doomed'));
      await setRoute(db.stores, route('dependent', ['doomed']));

      expect(await deleteRoute(db.stores, { model: 'doomed' })).toEqual({
        model: 'doomed',
        deleted: true,
        warnings: [expect.stringContaining("Route dependent still lists 'doomed' as a fallback")],
      });
    });
  });

  describe('importRoutes', () => {
    it('refuses a catalogue with any bad entry and writes nothing', async () => {
      const own = await createTestDatabase();
      const catalogue = {
        routes: [
          { model: 'fine', provider: 'openai', prices: { input: '1', output: '2' } },
          { model: 'float', provider: 'openai', prices: { input: 0.1, output: '2' } },
        ],
      };

      await expect(importRoutes(own.stores, { catalogue })).rejects.toThrow(InvalidInputError);
      await expect(importRoutes(own.stores, { catalogue })).rejects.toThrow('routes.1.prices.input');
      await expect(
        importRoutes(own.stores, {
          catalogue: { routes: [{ model: 'x', provider: 'bedrock', prices: { input: '1', output: '1' } }] },
        }),
      ).rejects.toThrow("routes[0] (x): Unknown provider 'bedrock'");
      expect((await listRoutes(own.stores)).routes).toEqual([]);
    });

    it('refuses a self or duplicate fallback, or fallbacks that are not a list of strings, naming the entry', () => {
      expect(() => catalogueRoutes({ routes: [route('ok'), route('self', ['self'])] })).toThrow(
        "routes[1] (self): Invalid fallback 'self'",
      );
      expect(() => catalogueRoutes({ routes: [route('dup', ['a', 'a'])] })).toThrow(InvalidInputError);
      expect(() => catalogueRoutes({ routes: [route('dup', ['a', 'a'])] })).toThrow(
        "routes[0] (dup): Invalid fallbacks: 'a' is listed twice",
      );
      expect(() => catalogueRoutes({ routes: [{ ...route('str'), fallbacks: 'a,b' }] })).toThrow('routes.0.fallbacks');
    });

    it('imports fallbacks that name routes of the same file, in any order, without warnings', async () => {
      const result = await importRoutes(db.stores, {
        catalogue: { routes: [route('first', ['second']), route('second')] },
      });

      expect(result).toMatchObject({ imported: 2, created: 2, updated: 0, warnings: [] });
      expect((await db.stores.routes.get('first'))?.fallbacks).toEqual(['second']);
    });

    it('imports a fallback with no route anywhere with a warning', async () => {
      const result = await importRoutes(db.stores, { catalogue: { routes: [route('lonely', ['ghost'])] } });

      expect(result.warnings).toEqual([expect.stringMatching(/^Route lonely: fallback 'ghost' has no route yet/)]);
    });

    it('imports the output of listRoutes back unchanged', async () => {
      await importRoutes(db.stores, { catalogue: DEFAULT_CATALOGUE });
      const listed = await listRoutes(db.stores);

      const again = await importRoutes(db.stores, { catalogue: listed });

      expect(again).toMatchObject({ created: 0, updated: listed.routes.length });
      expect((await listRoutes(db.stores)).routes.map(({ updatedAt: _, ...view }) => view)).toEqual(
        listed.routes.map(({ updatedAt: _, ...view }) => view),
      );
    });
  });
});
