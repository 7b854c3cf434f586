import { beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../lambdas/cli/errors.ts';
import { parseKeySettings, parseNewKey } from '../../lambdas/cli/key-commands.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { runOn, runWithEnv } from './in-process.ts';

const now = new Date('2026-11-01T00:00:00Z');

/** What `attempt` throws, for assertions on the error itself. */
const thrown = (attempt: () => unknown): unknown => {
  try {
    attempt();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
};

describe('key limit options', () => {
  it('reads --rpm and --tpm as whole numbers for the keys service', () => {
    expect(parseNewKey('acme', { name: 'batch', rpm: '60', tpm: '200000' }, now)).toEqual({
      accountId: 'acme',
      name: 'batch',
      rpm: 60,
      tpm: 200_000,
    });
    expect(parseNewKey('acme', {}, now)).toEqual({ accountId: 'acme' });
  });

  it.each([
    [{ rpm: '0' }, "requests per minute (--rpm) '0'"],
    [{ rpm: '1.5' }, 'requests per minute (--rpm)'],
    [{ tpm: '-10' }, 'tokens per minute (--tpm)'],
    [{ tpm: 'none' }, "tokens per minute (--tpm) 'none'"],
    [{ rpm: '9007199254740993' }, 'requests per minute (--rpm)'],
  ])('refuses the limit %j when minting, as a usage error (exit 2)', (options, message) => {
    const error = thrown(() => parseNewKey('acme', options, now));

    expect((error as Error).message).toContain(message);
    expect(exitCodeOf(error)).toBe(2);
  });

  it.each([
    [{}, 'Nothing to change'],
    [{ rpm: 'unlimited' }, "or 'none' for no limit"],
    [{ tpm: '0' }, 'tokens per minute'],
    [{ expires: '2026-10-01' }, 'not in the future'],
    [{ expires: 'someday' }, 'Invalid expiry'],
    [{ models: ',' }, 'Invalid model list'],
    [{ name: '' }, 'Invalid key name'],
  ])('refuses the settings %j as a usage error (exit 2)', (settings, message) => {
    const error = thrown(() => parseKeySettings(settings, now));

    expect((error as Error).message).toContain(message);
    expect(exitCodeOf(error)).toBe(2);
  });

  it('turns the words none, all and never into removals', () => {
    expect(parseKeySettings({ rpm: 'none', tpm: ' none ', models: 'all', expires: 'never' }, now)).toEqual({
      rpm: null,
      tpm: null,
      models: null,
      expiresAt: null,
    });
  });

  it('reads a comma-separated model list and keeps the other settings as given', () => {
    expect(parseKeySettings({ models: 'a, b,a', expires: '2027-02-01', name: 'ci-2', rpm: '45' }, now)).toEqual({
      models: ['a', 'b'],
      expiresAt: '2027-02-01',
      name: 'ci-2',
      rpm: 45,
    });
  });
});

describe('key limit commands', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'acme' });
  });

  it('shows RPM and TPM columns in keys list, "unlimited" where there is none', async () => {
    // Prepare
    const created = await runOn(db, 'keys', 'create', 'acme', '--rpm', '60', '--tpm', '200000', '--json');
    const { key_id: keyId } = JSON.parse(created.stdout) as { key_id: string };
    await runOn(db, 'keys', 'create', 'acme', '--name', 'free');

    // Act
    const listed = await runOn(db, 'keys', 'list', 'acme', '--wide');

    // Assess
    expect(created.code).toBe(0);
    const [header, ...rows] = listed.stdout.trim().split('\n');
    expect(header).toMatch(/MODELS\s+RPM\s+TPM\s+SPEND LIMIT\s+CREATED/);
    expect(rows.find((row) => row.startsWith(keyId))).toMatch(/\(all\)\s+60\s+200,000\s/);
    expect(rows.find((row) => row.includes('free'))).toMatch(/\(all\)\s+unlimited\s+unlimited\s/);
  });

  it('changes a key with keys set and says when a running gateway applies it', async () => {
    const { key_id: keyId } = JSON.parse((await runOn(db, 'keys', 'create', 'acme', '--json')).stdout) as {
      key_id: string;
    };

    const set = await runOn(db, 'keys', 'set', keyId, '--rpm', '5', '--models', 'gpt-5-mini');
    const json = await runOn(db, 'keys', 'set', keyId, '--rpm', 'none', '--json');

    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`Updated ${keyId} of acme: models gpt-5-mini, rpm 5, tpm unlimited`);
    expect(set.stdout).toContain('30 s');
    expect(JSON.parse(json.stdout)).toEqual(
      expect.objectContaining({ key_id: keyId, account: 'acme', models: ['gpt-5-mini'], status: 'active' }),
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ rpm: null });
  });

  it('exits 2 on a bad keys set before connecting, and 1 on an unknown key', async () => {
    const offline = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };
    const [nothing, badLimit, unknown] = await Promise.all([
      runWithEnv(offline, 'keys', 'set', 'key_x'),
      runWithEnv(offline, 'keys', 'create', 'acme', '--tpm', 'lots'),
      runOn(db, 'keys', 'set', 'key_missing', '--rpm', '1', '--json'),
    ]);

    expect(nothing).toMatchObject({ code: 2, stderr: expect.stringContaining('Nothing to change') });
    expect(badLimit).toMatchObject({ code: 2, stderr: expect.stringContaining("tokens per minute (--tpm) 'lots'") });
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toEqual({ error: { message: "Unknown key id 'key_missing'" } });
  });

  it('documents the limits, the removal words and the 30 s key cache in help', async () => {
    const help = await runWithEnv({}, 'keys', 'set', '--help');
    const create = await runWithEnv({}, 'keys', 'create', '--help');

    // Help wraps at 100 columns: compared with its line breaks and indents as single spaces.
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toContain(
      'Usage: npx tollgate keys set <keyId> [--limit USD|none] [--limit-reset P] [--rpm N|none] [--tpm N|none] [--models m1,m2|all] [--expires ISO-8601|never] [--name N]',
    );
    expect(text).toContain('caches keys for 30 s');
    expect(help.stdout).toMatch(/Examples:\n {2}npx tollgate keys set key_/);
    expect(create.stdout).toContain('--rpm N');
    expect(create.stdout).toContain('--tpm N');
  });
});

describe('key spend limits on the command line', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'acme' });
  });

  it('mints a key with a monthly limit, lists it, changes and removes it', async () => {
    // Act
    const created = await runOn(
      db,
      'keys',
      'create',
      'acme',
      '--name',
      'cline',
      '--limit',
      '20',
      '--limit-reset',
      'monthly',
    );
    const keyId = /Created key (key_\w+)/.exec(created.stdout)?.[1] as string;
    const listed = await runOn(db, 'keys', 'list', 'acme');
    const daily = await runOn(db, 'keys', 'set', keyId, '--limit', '2.5', '--limit-reset', 'daily', '--json');
    const removed = await runOn(db, 'keys', 'set', keyId, '--limit', 'none', '--json');

    // Assess
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('It may spend $20.00 per month.');
    expect(listed.stdout.split('\n').find((row) => row.startsWith(keyId))).toContain('$20.00/month');
    expect(JSON.parse(daily.stdout)).toMatchObject({
      key_id: keyId,
      spend_limit_usd: '2.50',
      spend_limit_nano: 2_500_000_000,
      limit_reset: 'daily',
    });
    expect(JSON.parse(removed.stdout)).toMatchObject({
      spend_limit_usd: null,
      spend_limit_nano: null,
      limit_reset: null,
    });
    expect((await db.stores.keys.findByKeyId(keyId))?.spendLimit).toBeUndefined();
  });

  it('makes a limit without a reset a total that never resets', async () => {
    const created = await runOn(db, 'keys', 'create', 'acme', '--limit', '5', '--json');

    expect(JSON.parse(created.stdout)).toMatchObject({
      spend_limit_usd: '5.00',
      spend_limit_nano: 5_000_000_000,
      limit_reset: 'never',
    });
  });

  it.each([
    [['keys', 'create', 'acme', '--limit-reset', 'daily'], '--limit-reset needs --limit'],
    [['keys', 'create', 'acme', '--limit=-5'], 'must be greater than zero'],
    [['keys', 'create', 'acme', '--limit', '0'], 'greater than zero'],
    [['keys', 'create', 'acme', '--limit', 'none'], 'spend limit (--limit)'],
    [['keys', 'create', 'acme', '--limit', '5', '--limit-reset', 'hourly'], "Invalid --limit-reset 'hourly'"],
    [['keys', 'set', 'key_x', '--limit', 'none', '--limit-reset', 'daily'], 'give no --limit-reset'],
    [['keys', 'set', 'key_x', '--limit', '0.0000000001'], 'spend limit (--limit)'],
  ])('refuses %j as a usage error (exit 2), before connecting', async (argv, message) => {
    const result = await runWithEnv({ TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' }, ...argv);

    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining(message) });
  });

  it('refuses a reset alone on a key without a limit', async () => {
    const { key_id: keyId } = JSON.parse((await runOn(db, 'keys', 'create', 'acme', '--json')).stdout) as {
      key_id: string;
    };

    const result = await runOn(db, 'keys', 'set', keyId, '--limit-reset', 'weekly');

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('has no spend limit');
  });

  it('documents --limit and --limit-reset in help', async () => {
    const create = await runWithEnv({}, 'keys', 'create', '--help');
    const set = await runWithEnv({}, 'keys', 'set', '--help');

    expect(create.stdout).toContain('--limit USD');
    expect(create.stdout).toContain('daily, weekly (Mondays), monthly or never');
    expect(set.stdout).toContain('--limit USD|none');
    expect(set.stdout).toContain('Key limit reached');
  });
});
