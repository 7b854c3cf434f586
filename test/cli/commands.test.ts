import { beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../lambdas/cli/errors.ts';
import { parseNewKey } from '../../lambdas/cli/key-commands.ts';
import { InvalidInputError } from '../../lambdas/services/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { runOn, runWithEnv } from './in-process.ts';

/** No database listens here: a command that gets this far before failing would exit 1, not 2. */
const OFFLINE = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };

const jsonOf = (run: { stdout: string }): Record<string, unknown> => {
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
};

describe('accounts create', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('creates an account with a zero balance and says how to top it up', async () => {
    const run = await runOn(db, 'accounts', 'create', 'acme.eu_1-x');

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'Created account acme.eu_1-x (balance $0.00). Top it up with: npx tollgate topup acme.eu_1-x 10.00\n',
    );
  });

  it('exits 1 on an account that already exists', async () => {
    await runOn(db, 'accounts', 'create', 'twice');

    const again = await runOn(db, 'accounts', 'create', 'twice', '--json');

    expect(again.code).toBe(1);
    expect(jsonOf(again)).toEqual({ error: { message: "Account 'twice' already exists" } });
  });

  it.each(['has space', 'a/b', 'x'.repeat(65)])('exits 2 on the account id %j before connecting', async (id) => {
    const run = await runWithEnv(OFFLINE, 'accounts', 'create', id);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Invalid account id '${id}'`);
  });
});

describe('topup and balance', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await runOn(db, 'accounts', 'create', 'exact');
  });

  it('credits exact decimal amounts and prints the balance as a decimal', async () => {
    const small = await runOn(db, 'topup', 'exact', '0.000000001', '--json');
    const big = await runOn(db, 'topup', 'exact', '12.50', '--id', 'inv-9');
    const balance = await runOn(db, 'balance', 'exact', '--json');

    expect(jsonOf(small)).toMatchObject({ applied: true, amount_usd: '0.000000001', top_up_id: expect.any(String) });
    expect(big.stdout).toBe('Credited $12.50 to exact (top-up inv-9). Balance: $12.500000001\n');
    expect(jsonOf(balance)).toMatchObject({
      account: 'exact',
      balance_usd: '12.500000001',
      balance_nano: 12_500_000_001,
      credit_limit_usd: '0.00',
    });
  });

  it('gives each top-up without --id a new id, so two credit twice', async () => {
    await runOn(db, 'accounts', 'create', 'twice-credited');

    const first = jsonOf(await runOn(db, 'topup', 'twice-credited', '1', '--json'));
    const second = jsonOf(await runOn(db, 'topup', 'twice-credited', '1', '--json'));

    expect(first['top_up_id']).not.toBe(second['top_up_id']);
    expect(second).toMatchObject({ applied: true, balance_usd: '2.00' });
  });

  it('says so when an --id was already applied, and what to do when it was used for another amount', async () => {
    await runOn(db, 'topup', 'exact', '1', '--id', 'inv-once');

    const again = await runOn(db, 'topup', 'exact', '1.00', '--id', 'inv-once');
    const other = await runOn(db, 'topup', 'exact', '2', '--id', 'inv-once');

    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Top-up inv-once was already applied; nothing changed\. Balance of exact: \$/);
    expect(other).toMatchObject({ code: 1, stdout: '' });
    expect(other.stderr).toBe(
      "tollgate: Top-up id 'inv-once' was already used for a different amount; use a new --id\n",
    );
  });

  it.each(['0', '-1', '1.0000000001', '1e3', 'ten', '1,50'])(
    'exits 2 on the top-up amount %j before connecting',
    async (amount) => {
      const run = await runWithEnv(OFFLINE, 'topup', 'exact', '--', amount);

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^tollgate: Invalid amount/);
    },
  );

  it('exits 1 on a top-up or a balance of an unknown account, saying how to create it', async () => {
    const topUp = await runOn(db, 'topup', 'ghost', '1');
    const balance = await runOn(db, 'balance', 'ghost', '--json');

    expect(topUp).toMatchObject({
      code: 1,
      stderr: "tollgate: Unknown account 'ghost' (create it with: npx tollgate accounts create ghost)\n",
    });
    expect(balance.code).toBe(1);
    expect(jsonOf(balance)).toEqual({ error: { message: "Unknown account 'ghost'" } });
  });
});

describe('keys create', () => {
  let db: TestDatabase;
  const now = new Date('2026-11-01T00:00:00Z');
  beforeAll(async () => {
    db = await createTestDatabase();
    await runOn(db, 'accounts', 'create', 'acme');
  });

  it('reads a comma-separated model list, trimmed and without duplicates', () => {
    expect(
      parseNewKey('acme', { name: 'ci', models: 'gpt-5.2, claude-haiku-4-5,,gpt-5.2', expires: '2027-01-31' }, now),
    ).toEqual({
      accountId: 'acme',
      name: 'ci',
      models: ['gpt-5.2', 'claude-haiku-4-5'],
      expiresAt: '2027-01-31',
    });
  });

  it.each([
    [{ models: ' , ' }, "Invalid model list ' , '"],
    [{ expires: '2026-10-31' }, 'not in the future'],
    [{ expires: 'next tuesday' }, "Invalid expiry 'next tuesday'"],
  ])('refuses %j as a value the command line got wrong (exit 2)', (options, message) => {
    const refuse = () => parseNewKey('acme', options, now);

    expect(refuse).toThrow(InvalidInputError);
    expect(refuse).toThrow(message);
    try {
      refuse();
    } catch (error) {
      expect(exitCodeOf(error)).toBe(2);
    }
  });

  it('mints a key with its allow-list and a normalized expiry, and prints the secret once', async () => {
    const human = await runOn(db, 'keys', 'create', 'acme', '--name', 'ci');
    const json = await runOn(
      db,
      ...['keys', 'create', 'acme', '--models', 'gpt-5.2, claude-haiku-4-5,,gpt-5.2', '--expires', '2099-01-31'],
      '--json',
    );

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      /^Created key key_\S+ \(ci\) for acme\. Copy the secret now, it is not shown again:\nsk-[0-9a-f]{48}\n$/,
    );
    expect(jsonOf(json)).toMatchObject({
      key: expect.stringMatching(/^sk-[0-9a-f]{48}$/),
      key_id: expect.stringMatching(/^key_/),
      account: 'acme',
      models: ['gpt-5.2', 'claude-haiku-4-5'],
      expires_at: '2099-01-31T00:00:00.000Z',
    });
  });

  it('exits 1 on an unknown account, saying how to create it, and on an unknown key id', async () => {
    const key = await runOn(db, 'keys', 'create', 'ghost');
    const list = await runOn(db, 'keys', 'list', 'ghost');
    const revoke = await runOn(db, 'keys', 'revoke', 'key_nope', '--json');

    for (const run of [key, list]) {
      expect(run).toMatchObject({
        code: 1,
        stderr: "tollgate: Unknown account 'ghost' (create it with: npx tollgate accounts create ghost)\n",
      });
    }
    expect(revoke.code).toBe(1);
    expect(jsonOf(revoke)).toEqual({ error: { message: "Unknown key id 'key_nope'" } });
  });
});
