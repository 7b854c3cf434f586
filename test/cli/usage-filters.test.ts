import { beforeAll, describe, expect, it } from 'vitest';
import { usageCommand } from '../../lambdas/cli/wallet-commands.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import type { UsageListing } from '../../lambdas/services/usage.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { tokens, usageRow } from '../support/rows.ts';
import { runOn, runWithEnv } from './in-process.ts';

/** No database listens here: a command that gets this far before failing would exit 1, not 2. */
const OFFLINE = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };

describe('usage --until, --key and --model', () => {
  let db: TestDatabase;
  const at = (minutes: number) => new Date(Date.parse('2026-11-01T08:00:00.000Z') + minutes * 60_000);

  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'user' });
    await db.stores.wallets.topUp('user', 5_000_000_000, 'inv-1', at(-1));
    for (let minute = 0; minute < 6; minute++) {
      const row = {
        ...usageRow('user', `req-${minute}`, at(minute), 1_000_000),
        keyId: minute % 2 ? 'key_b' : 'key_a',
        model: minute < 3 ? 'gpt-test' : "odd'model",
      };
      await db.stores.wallets.hold(row);
      await db.stores.wallets.settle(row, { cost: 1_000, outcome: 'completed', usage: tokens(10, 5) });
    }
  });

  it('lists the rows of one key before --until, and prints the filters in the next command', async () => {
    const { code, stdout } = await runOn(
      db,
      ...['usage', 'user', '--key', 'key_a', '--until', '2026-11-01T08:05:00Z', '--limit', '1', '--wide'],
    );
    const lines = stdout.trimEnd().split('\n');

    expect(code).toBe(0);
    expect(lines[1]).toMatch(/^2026-11-01T08:04:00.000Z\s+req-4\s+odd'model\s+completed/);
    expect(lines[3]).toBe('Shown: 1 row until 2026-11-01T08:05:00.000Z of key key_a, 1 request costing $0.000001');
    expect(lines[4]).toBe('Tokens: 10 in, 5 out, 0 cache read, 0 cache write');
    expect(lines[5]).toBe(
      "Older rows: npx tollgate usage user --until 2026-11-01T08:05:00.000Z --key key_a --limit 1 --cursor '2026-11-01T08:04:00.000Z#req-4'",
    );
  });

  it('quotes a model name for the shell, and the printed command lists the same rows', async () => {
    const first = await runOn(db, 'usage', 'user', '--model', "odd'model", '--limit', '2');
    const hint = first.stdout.trimEnd().split('\n').at(-1) ?? '';

    expect(hint).toBe(
      "Older rows: npx tollgate usage user --model 'odd'\\''model' --limit 2 --cursor '2026-11-01T08:04:00.000Z#req-4'",
    );
    const next = await runOn(
      db,
      ...[
        'usage',
        'user',
        '--model',
        "odd'model",
        '--limit',
        '2',
        '--cursor',
        '2026-11-01T08:04:00.000Z#req-4',
        '--json',
      ],
    );
    const parsed = JSON.parse(next.stdout) as { model: string; ledger: { data: { id: string }[] } };
    expect(parsed.model).toBe("odd'model");
    expect(parsed.ledger.data.map((entry) => entry.id)).toEqual(['req-3']);
  });

  it('says so when nothing matches', async () => {
    const none = await runOn(db, 'usage', 'user', '--key', 'key_nobody');

    expect(none).toMatchObject({ code: 0, stdout: 'No ledger rows for user of key key_nobody.\n' });
  });

  it('says where to search on when a page found no match among the rows it searched', () => {
    const listing: UsageListing = {
      ...{ account: 'user', since: null, until: null, key_id: 'key_rare', model: null, limit: 50 },
      ledger: { data: [], has_more: true, next_cursor: '2026-11-01T08:00:00.000Z#req-0' },
      totals: {
        ...{ requests: 0, pending: 0, cost_usd: '0.00', cost_nano: 0, held_usd: '0.00', held_nano: 0 },
        ...{ top_ups: 0, top_ups_usd: '0.00', top_ups_nano: 0 },
        usage: { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 },
      },
    };

    expect(usageCommand.print(listing)).toBe(
      'No matching rows for user of key key_rare among the 5000 rows searched; search older rows: ' +
        "npx tollgate usage user --key key_rare --cursor '2026-11-01T08:00:00.000Z#req-0'",
    );
  });

  it('documents the flags in --help', async () => {
    const help = await runWithEnv({}, 'usage', '--help');

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--until ISO-8601');
    expect(help.stdout).toContain('exclusive');
    expect(help.stdout).toContain('--key KEY_ID');
    expect(help.stdout).toContain('--model MODEL');
    expect(help.stdout).toContain('searches at most 5000 rows');
  });

  it.each([
    [['--until', 'soon'], "Invalid --until 'soon'"],
    [['--since', '2026-11-02', '--until', '2026-11-01'], 'must come after since'],
    [['--key', 'key a'], "Invalid key id 'key a'"],
    [['--model', ''], "Invalid model ''"],
    [['--until', '2026-11-01', '--cursor', '2026-11-02T00:00:00.000Z#req-1'], 'lies outside since/until'],
  ])('exits 2 on %j before connecting', async (flags, message) => {
    const run = await runWithEnv(OFFLINE, 'usage', 'user', ...flags);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe('usage --key given an API key', () => {
  it.each([
    [`sk-${'3f'.repeat(24)}`],
    [`sk-${'3f'.repeat(24)}-openai/gpt-4o`],
    ['sk-proj-AbCdEf0123456789AbCdEf0123456789'],
  ])('exits 2 before connecting and never echoes the secret (%#)', async (secret) => {
    const run = await runWithEnv(OFFLINE, 'usage', 'user', '--key', secret);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--key takes a key id');
    expect(run.stderr + run.stdout).not.toContain(secret.slice(3, 20));
  });
});
