import { beforeAll, describe, expect, it } from 'vitest';
import type { RouteSpec } from '../../lambdas/services/route-spec.ts';
import { setRoute } from '../../lambdas/services/routes.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { runOn, runWithEnv } from './in-process.ts';

const route = (model: string, fallbacks?: string[]): RouteSpec => ({
  model,
  provider: 'echo',
  prices: { input: '1', output: '2' },
  ...(fallbacks ? { fallbacks } : {}),
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
    const listed = await runOn(db, 'routes', 'list', '--wide');

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

    // Help wraps at 100 columns: compared with its line breaks and indents as single spaces.
    expect(help.stdout).toContain('[--fallbacks m1,m2]');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('429 or 5xx');
    expect(help.stdout).toContain('--fallbacks claude-sonnet-4-6');
  });
});
