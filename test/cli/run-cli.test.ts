import { describe, expect, it } from 'vitest';
import { chooseTarget } from '../../lambdas/cli/connect.ts';
import { UsageError } from '../../lambdas/cli/errors.ts';
import { runCli } from '../../lambdas/cli/main.ts';

/** Runs the CLI in-process; these cases fail before any connection is made. */
const run = async (...argv: string[]) => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' },
  });
  return { code, stdout, stderr };
};

describe('tollgate argument handling', () => {
  it.each([
    [['keys'], 'Missing keys command: one of create, list, set, revoke'],
    [['keys', 'create'], 'Missing <account>'],
    [['balance', 'acme', 'extra'], "Unexpected argument 'extra'"],
    [['routes', 'set', 'm', '--provider', 'openai'], 'Missing --input-price, --output-price'],
    [['keys', 'create', 'acme', '--name'], "'--name"],
    [['--json'], 'Missing command'],
    [['topup', 'acme', '12.5.0'], 'Invalid amount'],
  ])('exits 2 on %j with a one-line message', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    const text = argv.includes('--json')
      ? (JSON.parse(result.stdout) as { error: { message: string } }).error.message
      : result.stderr;
    expect(text).toContain(message);
    expect(text.trim().split('\n')).toHaveLength(1);
  });

  it('tells option values from command words wherever the options stand', async () => {
    const result = await run('--json', 'topup', '--id', 'keys', 'acme', '0', '--region', 'balance');
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({ error: { message: expect.stringContaining("'0'") } });
  });

  it('prints the command list when run without arguments, and group help for a group', async () => {
    expect(await run()).toMatchObject({ code: 0, stdout: expect.stringContaining('Commands:') });
    const group = await run('keys', '--help');
    expect(group.code).toBe(0);
    expect(group.stdout).toContain('\n  keys revoke <keyId>  ');
  });

  it('lists the wallet commands and explains each with examples', async () => {
    const global = await run('--help');
    for (const line of ['accounts set <account>', 'usage <account>', 'audit [<account>]', 'sweep']) {
      expect(global.stdout).toContain(`\n  ${line}`);
    }
    const usage = await run('usage', '--help');
    // Help wraps at 100 columns: compared with its line breaks and indents as single spaces.
    expect(usage.stdout.replace(/\s+/g, ' ')).toContain(
      'Usage: npx tollgate usage <account> [--since ISO-8601] [--until ISO-8601] [--key KEY_ID] [--model MODEL] [--limit N] [--cursor C]',
    );
    expect(usage.stdout.split('\n').every((line) => [...line].length <= 100)).toBe(true);
    expect(usage.stdout).toMatch(/Examples:\n {2}npx tollgate usage acme/);
    expect((await run('accounts', 'set', '-h')).stdout).toContain('0.8 = 20% off');
    expect((await run('sweep', '--help')).stdout).toContain('--older-than SECONDS');
  });

  it.each([
    [['audit', 'a', 'b'], "Unexpected argument 'b'"],
    [['usage', 'acme', '--limit', '5000'], 'at most 1000'],
    [['usage', 'acme', '--since', 'last week'], "Invalid --since 'last week'"],
    [['sweep', '--older-than', '-5'], "'--older-than'"],
  ])('exits 2 on %j before connecting', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('wraps help in one JSON object with --json', async () => {
    const result = await run('balance', '--help', '--json');
    expect(JSON.parse(result.stdout)).toEqual({
      usage: expect.stringContaining('Usage: npx tollgate balance <account>'),
    });
  });
});

describe('where the CLI connects', () => {
  it('prefers an explicit DynamoDB endpoint, with tables from the prefix', () => {
    expect(
      chooseTarget({ TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', TOLLGATE_TABLE_PREFIX: 'p' }, { aws: true }),
    ).toMatchObject({ kind: 'endpoint', tables: { keys: 'p-keys', ledger: 'p-ledger' } });
  });

  it('uses AWS when asked or when table names are given, and needs a region for it', () => {
    expect(chooseTarget({ TOLLGATE_TABLE_WALLETS: 'prod-wallets', AWS_REGION: 'eu-west-1' })).toMatchObject({
      kind: 'aws',
      region: 'eu-west-1',
      tables: { wallets: 'prod-wallets', keys: 'tollgate-keys' },
    });
    expect(chooseTarget({}, { aws: true, region: 'us-west-2' })).toMatchObject({ kind: 'aws', region: 'us-west-2' });
    expect(() => chooseTarget({}, { aws: true })).toThrow(UsageError);
  });

  it('falls back to the local database in TOLLGATE_DATA_DIR or .tollgate', () => {
    expect(chooseTarget({})).toEqual({ kind: 'local', dataDir: '.tollgate' });
    expect(chooseTarget({ TOLLGATE_DATA_DIR: '/tmp/x' })).toEqual({ kind: 'local', dataDir: '/tmp/x' });
  });
});
