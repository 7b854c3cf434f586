import { beforeAll, describe, expect, it } from 'vitest';
import { deleteRoute, importRoutes, listRoutes, setRoute } from '../../lambdas/cli/routes.ts';
import { catalogueRoutes } from '../../lambdas/services/catalogue.ts';
import { CommandError, UsageError } from '../../lambdas/services/errors.ts';
import type { RouteSpec } from '../../lambdas/services/route-spec.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { runOn, runWithEnv } from './in-process.ts';

const route = (model: string, fallbacks?: string[]): RouteSpec => ({
  model,
  provider: 'echo',
  prices: { input: '1', output: '2' },
  ...(fallbacks ? { fallbacks } : {}),
});

describe('route fallbacks', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await setRoute(db.stores, route('backup-a'));
    await setRoute(db.stores, route('backup-b'));
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

  it.each<[string[], string]>([
    [['backup-a', 'loop'], 'cannot fall back to itself'],
    [['backup-a', 'backup-b', 'backup-a'], "'backup-a' is listed twice"],
    [['has space'], "Invalid fallback model 'has space'"],
  ])('refuses the fallbacks %j and writes nothing', async (fallbacks, message) => {
    await expect(setRoute(db.stores, route('loop', fallbacks))).rejects.toThrow(UsageError);
    await expect(setRoute(db.stores, route('loop', fallbacks))).rejects.toThrow(message);
    expect(await db.stores.routes.get('loop')).toBeUndefined();
  });

  it('clears the fallbacks when a route is set again without them', async () => {
    await setRoute(db.stores, route('fickle', ['backup-a']));
    await setRoute(db.stores, route('fickle'));

    expect(await db.stores.routes.get('fickle')).not.toHaveProperty('fallbacks');
    expect((await listRoutes(db.stores)).routes.find((view) => view.model === 'fickle')).not.toHaveProperty(
      'fallbacks',
    );
  });

  it('warns, on deleting a route, about the routes that still fall back to it', async () => {
    await setRoute(db.stores, route('doomed'));
    await setRoute(db.stores, route('dependent', ['doomed']));

    const deleted = await deleteRoute(db.stores, 'doomed');

    expect(deleted).toEqual({
      model: 'doomed',
      deleted: true,
      warnings: [expect.stringContaining("Route dependent still lists 'doomed' as a fallback")],
    });
  });
});

describe('catalogue fallbacks', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('imports fallbacks that name routes of the same file, in any order, without warnings', async () => {
    const result = await importRoutes(db.stores, {
      routes: [
        { ...route('first', ['second']), prices: { input: '1', output: '2' } },
        { ...route('second'), prices: { input: '1', output: '2' } },
      ],
    });

    expect(result).toMatchObject({ imported: 2, warnings: [] });
    expect((await db.stores.routes.get('first'))?.fallbacks).toEqual(['second']);
  });

  it('imports a fallback with no route anywhere with a warning', async () => {
    const result = await importRoutes(db.stores, { routes: [route('lonely', ['ghost'])] });

    expect(result.warnings).toEqual([expect.stringMatching(/^Route lonely: fallback 'ghost' has no route yet/)]);
  });

  it('refuses a self or duplicate fallback, or fallbacks that are not a list of strings, naming the entry', () => {
    expect(() => catalogueRoutes({ routes: [route('ok'), route('self', ['self'])] })).toThrow(
      "routes[1] (self): Invalid fallback 'self'",
    );
    expect(() => catalogueRoutes({ routes: [route('dup', ['a', 'a'])] })).toThrow(CommandError);
    expect(() => catalogueRoutes({ routes: [{ ...route('str'), fallbacks: 'a,b' }] })).toThrow('routes.0.fallbacks');
  });

  it('reads back the output of routes list with its fallbacks', async () => {
    const listed = await listRoutes(db.stores);

    const again = await importRoutes(db.stores, listed);

    expect(again.updated).toBe(listed.routes.length);
    expect((await listRoutes(db.stores)).routes.map((view) => view.fallbacks)).toEqual(
      listed.routes.map((view) => view.fallbacks),
    );
  });
});

describe('route fallback commands', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await setRoute(db.stores, route('backup'));
  });

  const set = (model: string, ...flags: string[]) =>
    runOn(db, 'routes', 'set', model, '--provider', 'echo', '--input-price', '1', '--output-price', '2', ...flags);

  it('sets fallbacks from --fallbacks and shows them in routes list', async () => {
    const result = await set('main', '--fallbacks', 'backup, spare');
    const listed = await runOn(db, 'routes', 'list');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('falls back to backup, then spare');
    expect(result.stderr).toBe(
      "tollgate: warning: Route main: fallback 'spare' has no route yet; requests skip it until one is set\n",
    );
    const [header, ...rows] = listed.stdout.trim().split('\n');
    expect(header).toMatch(/MAX TOKENS\s+FALLBACKS/);
    expect(rows.find((row) => row.startsWith('main '))).toContain('backup,spare');
  });

  it('keeps warnings in the one JSON object with --json', async () => {
    const result = await set('json-main', '--fallbacks', 'nowhere', '--json');

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      route: { model: 'json-main', fallbacks: ['nowhere'] },
      warnings: [expect.stringContaining("'nowhere'")],
    });
  });

  it('exits 2 on a fallback to the route itself, before connecting', async () => {
    const result = await runWithEnv(
      { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' },
      ...['routes', 'set', 'm', '--provider', 'echo', '--input-price', '1', '--output-price', '1'],
      ...['--fallbacks', 'other,m'],
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot fall back to itself');
  });

  it('explains fallbacks in routes set --help', async () => {
    const help = await runWithEnv({}, 'routes', 'set', '--help');

    expect(help.stdout).toContain('[--fallbacks m1,m2]');
    expect(help.stdout).toContain('429 or 5xx');
    expect(help.stdout).toContain('--fallbacks claude-sonnet-4-6');
  });
});
