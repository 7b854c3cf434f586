import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../lambdas/cli/commands.ts';
import { formatUsd } from '../../lambdas/gateway/money.ts';
import { ledgerEntry } from '../../lambdas/gateway/wallet-view.ts';
import { updateKey } from '../../lambdas/services/keys.ts';
import { putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { usageRow } from '../support/rows.ts';
import { runOn } from './in-process.ts';

/**
 * The one JSON convention (README "Operator CLI" → "JSON output"), checked on every command of the
 * CLI's registry and every JSON body the gateway itself defines.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const KEY = /^[a-z][a-z0-9_]*$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LEDGER_TYPES = new Set(['usage', 'topup', 'adjustment']);
/** Words that name an amount of money: such a number must be a `*_nano`. */
const MONEY_WORD = /(^|_)(amount|balance|cost|costs|price|spent|held|hold|usd|difference)(_|$)/;
/** `usage --json` echoes its filters under the options' names: the one place a time is not `*_at`. */
const FILTER_ECHOES = new Set(['since', 'until']);

/** A `*_usd` string as nano-USD, exactly (a bigint: sums may pass the range of a number). */
const nanoOf = (usd: string): bigint => {
  const [whole = '0', fraction = ''] = usd.replace('-', '').split('.');
  const abs = BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'));
  return usd.startsWith('-') ? -abs : abs;
};
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Every problem of `value` with the convention, as `path: problem` lines. `openRouterNumbers` names
 * the fields an OpenRouter-compatible body keeps as USD numbers (next to their `_usd`/`_nano` twins).
 */
const problemsOf = (value: Json, path = '$', openRouterNumbers: ReadonlySet<string> = new Set()): string[] => {
  if (Array.isArray(value))
    return value.flatMap((item, index) => problemsOf(item, `${path}[${index}]`, openRouterNumbers));
  if (value === null || typeof value !== 'object') return [];
  const problems: string[] = [];
  for (const [key, field] of Object.entries(value)) {
    const at = `${path}.${key}`;
    if (!KEY.test(key)) problems.push(`${at}: not snake_case`);
    if (key.endsWith('_nano')) {
      const usd = value[`${key.slice(0, -5)}_usd`];
      if (usd === undefined) problems.push(`${at}: no ${key.slice(0, -5)}_usd next to it`);
      else if (field === null) {
        // null: no amount (then no _usd either), or a sum past the exact range (its _usd still exact).
        const past = typeof usd === 'string' && (nanoOf(usd) > MAX_EXACT || nanoOf(usd) < -MAX_EXACT);
        if (usd !== null && !past) problems.push(`${at}: null next to ${JSON.stringify(usd)}`);
      } else if (typeof field !== 'number' || !Number.isSafeInteger(field)) {
        problems.push(`${at}: ${JSON.stringify(field)} is not a safe integer`);
      } else if (usd !== formatUsd(field)) problems.push(`${at}: ${field} but _usd is ${JSON.stringify(usd)}`);
    }
    if (key.endsWith('_usd') && value[`${key.slice(0, -4)}_nano`] === undefined) {
      problems.push(`${at}: no ${key.slice(0, -4)}_nano next to it`);
    }
    if (typeof field === 'number' && MONEY_WORD.test(key) && !key.endsWith('_nano') && !openRouterNumbers.has(key)) {
      problems.push(`${at}: an amount as a bare number (${field})`);
    }
    if (
      (key === 'at' || key.endsWith('_at')) &&
      field !== null &&
      !(typeof field === 'string' && ISO_INSTANT.test(field))
    ) {
      problems.push(`${at}: ${JSON.stringify(field)} is not an ISO-8601 instant`);
    }
    if (
      typeof field === 'string' &&
      ISO_INSTANT.test(field) &&
      key !== 'at' &&
      !key.endsWith('_at') &&
      !FILTER_ECHOES.has(key)
    ) {
      problems.push(`${at}: a time not named *_at`);
    }
    if (key === 'data' && Array.isArray(field)) {
      if (typeof value['has_more'] !== 'boolean') problems.push(`${path}: data without has_more`);
      if (!(value['next_cursor'] === null || typeof value['next_cursor'] === 'string'))
        problems.push(`${path}: data without next_cursor`);
    }
    problems.push(...problemsOf(field, at, openRouterNumbers));
  }
  return problems;
};

/** Every ledger row (an object with a ledger `type`, an `id` and an `at`) found in `value`. */
const ledgerRowsIn = (value: Json): { [key: string]: Json }[] => {
  if (Array.isArray(value)) return value.flatMap(ledgerRowsIn);
  if (value === null || typeof value !== 'object') return [];
  const own =
    typeof value['type'] === 'string' && LEDGER_TYPES.has(value['type']) && 'id' in value && 'at' in value
      ? [value]
      : [];
  return [...own, ...Object.values(value).flatMap(ledgerRowsIn)];
};

/** Exactly one JSON object on stdout. */
const onlyObject = (stdout: string): { [key: string]: Json } => {
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  const parsed = JSON.parse(lines[0] ?? '') as Json;
  expect(parsed).toBeTypeOf('object');
  expect(Array.isArray(parsed)).toBe(false);
  return parsed as { [key: string]: Json };
};

describe('one JSON convention', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  const ACCOUNT = 'acme';
  /** A key that the walk changes and revokes. */
  let keyId = '';
  /** The key the HTTP requests use. */
  let secret = '';
  let secretId = '';
  let requestId = '';
  let codeId = '';
  /** The stored ledger row of the account with this public id (a request, top-up or adjustment id). */
  const storedRow = async (id: string) =>
    (await db.stores.wallets.allLedgerRows(ACCOUNT)).find((row) => ledgerEntry(row).id === id);
  const catalogue = join(tmpdir(), `tollgate-json-convention-${process.pid}.json`);

  /** Every command of the registry, with the command lines that exercise it (in the registry's order). */
  const SAMPLES: Record<string, () => string[][]> = {
    'accounts create': () => [['accounts', 'create', 'fresh']],
    'accounts set': () => [['accounts', 'set', ACCOUNT, '--credit-limit', '2.5', '--alert-below', '1']],
    'keys create': () => [['keys', 'create', ACCOUNT, '--name', 'ci', '--limit', '20', '--limit-reset', 'monthly']],
    'keys list': () => [['keys', 'list', ACCOUNT]],
    'keys set': () => [['keys', 'set', keyId, '--rpm', '60', '--expires', '2099-01-31']],
    'keys revoke': () => [['keys', 'revoke', keyId]],
    'members add': () => [['members', 'add', ACCOUNT, 'ada@example.com']],
    'members list': () => [['members', 'list', ACCOUNT]],
    'members remove': () => [['members', 'remove', ACCOUNT, 'gone@example.com']],
    'members link': () => [['members', 'link', 'ada@example.com', '--console-url', 'http://127.0.0.1:1/console']],
    topup: () => [['topup', ACCOUNT, '10', '--id', 'inv-json']],
    'codes create': () => [['codes', 'create', '--amount', '5', '--count', '2', '--note', 'booth']],
    'codes list': () => [['codes', 'list']],
    'codes revoke': () => [['codes', 'revoke', codeId]],
    balance: () => [['balance', ACCOUNT]],
    usage: () => [
      ['usage', ACCOUNT],
      ['usage', ACCOUNT, '--since', '2020-01-01', '--limit', '2'],
    ],
    audit: () => [
      ['audit', ACCOUNT],
      ['audit', '--all'],
    ],
    sweep: () => [['sweep']],
    'routes set': () => [
      ['routes', 'set', 'json-route', '--provider', 'echo', '--input-price', '1.25', '--output-price', '2'],
      [
        'routes',
        'set',
        'json-route',
        '--provider',
        'echo',
        '--input-price',
        '1',
        '--output-price',
        '2',
        '--cache-read-price',
        '0.1',
        '--fallbacks',
        'echo-json',
      ],
    ],
    'routes list': () => [['routes', 'list']],
    'routes delete': () => [['routes', 'delete', 'json-route']],
    'routes import': () => [['routes', 'import', catalogue]],
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startTestGateway(db, {});
    await putRoute(db, { model: 'echo-json', provider: 'echo' });
    expect(await runOn(db, 'accounts', 'create', ACCOUNT)).toMatchObject({ code: 0, stderr: '' });
    keyId = String(onlyObject((await runOn(db, 'keys', 'create', ACCOUNT, '--json')).stdout)['key_id']);
    const created = onlyObject((await runOn(db, 'keys', 'create', ACCOUNT, '--name', 'http', '--json')).stdout);
    secretId = String(created['key_id']);
    secret = String(created['key']);
    await runOn(db, 'topup', ACCOUNT, '3');
    await runOn(db, 'members', 'add', ACCOUNT, 'gone@example.com');
    // A settled request through the gateway, and a hold still open.
    const answer = await gateway.post(secret, '/v1/chat/completions', {
      model: 'echo-json',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hello tollgate' }],
    });
    expect(answer.status).toBe(200);
    requestId = answer.headers.get('x-request-id') ?? '';
    await settledUsage(db, ACCOUNT, 1);
    await db.stores.wallets.hold(usageRow(ACCOUNT, 'req-pending', new Date(), 1_000_000));
    const codes = onlyObject((await runOn(db, 'codes', 'create', '--amount', '1', '--count', '1', '--json')).stdout);
    codeId = String((codes['codes'] as { code_id: string }[])[0]?.code_id);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('has command lines for every command of the registry', () => {
    expect(COMMANDS.map((command) => command.name).filter((name) => !(name in SAMPLES))).toEqual([]);
  });

  it("prints every command's --json as one object in the convention, lists as pages, ledger rows as /v1/wallet's", async () => {
    for (const command of COMMANDS) {
      for (const argv of SAMPLES[command.name]?.() ?? []) {
        if (command.name === 'routes import') {
          await writeFile(catalogue, (await runOn(db, 'routes', 'list', '--json')).stdout);
        }
        const run = await runOn(db, ...argv, '--json');
        const where = `tollgate ${argv.join(' ')} --json`;

        expect(run.code, `${where}: ${run.stdout}`).toBe(0);
        const json = onlyObject(run.stdout);
        expect(problemsOf(json), where).toEqual([]);
        if (command.name.endsWith(' list')) {
          expect(Object.keys(json).sort(), where).toEqual(['data', 'has_more', 'next_cursor']);
        }
        for (const row of ledgerRowsIn(json)) {
          const source = await storedRow(String(row['id']));
          expect(source, `${where}: ledger row ${row['id']}`).toBeDefined();
          if (source) expect(row, where).toEqual(ledgerEntry(source));
        }
      }
    }
  });

  it('prints --version and --help with --json in the convention too', async () => {
    for (const argv of [['--version'], ['--help'], ['keys', 'list', '--help']]) {
      const run = await runOn(db, ...argv, '--json');

      expect(run.code).toBe(0);
      expect(problemsOf(onlyObject(run.stdout)), argv.join(' ')).toEqual([]);
    }
  });

  it('imports routes list --json back, and refuses a price whose _nano is not its _usd', async () => {
    const listed = onlyObject((await runOn(db, 'routes', 'list', '--json')).stdout);
    const route = (listed['data'] as { [key: string]: Json }[]).find((entry) => entry['model'] === 'echo-json');
    const wrong = { ...route, prices: { input_usd: '1.00', input_nano: 1_000_000_001, output_usd: '2.00' } };
    await writeFile(catalogue, JSON.stringify({ data: [wrong], has_more: false, next_cursor: null }));

    const run = await runOn(db, 'routes', 'import', catalogue);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain("data[0] (echo-json): prices.input_nano 1000000001 is not input_usd '1.00'");
  });

  it('pages the ledger of usage --json exactly as GET /v1/wallet does', async () => {
    const usage = onlyObject((await runOn(db, 'usage', ACCOUNT, '--limit', '3', '--json')).stdout);
    const wallet = (await (
      await fetch(`${gateway.url}/v1/wallet?limit=3`, { headers: { authorization: `Bearer ${secret}` } })
    ).json()) as { [key: string]: Json };

    expect(usage['ledger']).toEqual(wallet['ledger']);
    expect(ledgerRowsIn(usage['ledger'] ?? null).map((row) => row['type'])).toContain('usage');
  });

  it('answers every JSON body the gateway defines in the convention', async () => {
    await updateKey(db.stores, { keyId: secretId, spendLimit: 20_000_000_000, limitReset: 'monthly', rpm: 60 });
    const get = async (path: string) => {
      const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
      expect(response.headers.get('content-type')).toContain('application/json');
      return { status: response.status, body: (await response.json()) as Json };
    };
    // OpenRouter's own field names, kept as USD numbers next to their exact _usd/_nano twins.
    const openRouter = new Set([
      'limit',
      'limit_remaining',
      'usage',
      'usage_daily',
      'usage_weekly',
      'usage_monthly',
      'total_cost',
    ]);

    const bodies = {
      wallet: await get('/v1/wallet?limit=100'),
      key: await get('/v1/key'),
      generation: await get(`/v1/generation?id=${requestId}`),
      health: await get('/health'),
      notFound: await get('/v1/generation?id=gen-1-unknown'),
    };

    expect(bodies.wallet.status).toBe(200);
    expect(bodies.key.status).toBe(200);
    expect(bodies.generation.status).toBe(200);
    expect(bodies.notFound).toMatchObject({
      status: 404,
      body: { error: { message: expect.any(String), type: expect.any(String) } },
    });
    for (const [name, { body }] of Object.entries(bodies)) {
      expect(problemsOf(body, name, openRouter), name).toEqual([]);
    }
    const rows = [...ledgerRowsIn(bodies.wallet.body), ...ledgerRowsIn(bodies.generation.body)];
    expect(rows.length).toBeGreaterThan(2);
    for (const row of rows) {
      const source = await storedRow(String(row['id']));
      expect(source).toBeDefined();
      // /v1/generation adds OpenRouter's total_cost to the row, nothing else.
      const { total_cost: _, ...shape } = row;
      if (source) expect(shape).toEqual(ledgerEntry(source));
    }
  });

  it('refuses what breaks the convention (the checker checks)', () => {
    expect(
      problemsOf({
        keyId: 'x',
        amount_usd: '1.00',
        amount_nano: 2,
        cost_usd: '1.00',
        spendLimit: 5,
        createdAt: '2026-12-03T12:00:00.000Z',
        expires_at: 'tomorrow',
        data: [],
      }),
    ).toEqual([
      '$.keyId: not snake_case',
      '$.amount_nano: 2 but _usd is "1.00"',
      '$.cost_usd: no cost_nano next to it',
      '$.spendLimit: not snake_case',
      '$.createdAt: not snake_case',
      '$.createdAt: a time not named *_at',
      '$.expires_at: "tomorrow" is not an ISO-8601 instant',
      '$: data without has_more',
      '$: data without next_cursor',
    ]);
  });
});
