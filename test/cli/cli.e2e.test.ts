import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableOutputKey } from '../../lambdas/cli/stack.ts';
import { TABLE_NAMES } from '../../lib/tables.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from './fake-cloudformation.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const NODE = resolve('node_modules/.bin/node');
const CLI = resolve('bin/tollgate.ts');

/** Runs the real CLI as an operator would, with this environment added to the test's. */
const spawnCli = (env: NodeJS.ProcessEnv, args: string[]): Promise<Run> =>
  new Promise((done, fail) => {
    const child = spawn(NODE, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });

/** Runs the real CLI against this file's tables. */
const tollgate = (db: TestDatabase, ...args: string[]): Promise<Run> =>
  spawnCli({ TOLLGATE_DYNAMODB_ENDPOINT: db.endpoint, TOLLGATE_TABLE_PREFIX: db.prefix }, args);

const json = (run: Run): Record<string, unknown> => {
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
};

// Each spawn costs ~0.3 s of Node start-up; the cases touch disjoint data, so they overlap.
describe.concurrent('tollgate CLI (spawned)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('creates an account, mints a key shown once, lists it without secret or hash, and revokes it', async () => {
    // Prepare
    expect((await tollgate(db, 'accounts', 'create', 'acme', '--json')).code).toBe(0);

    // Act
    const created = await tollgate(db, 'keys', 'create', 'acme', '--name', 'laptop', '--json');
    const { key, key_id: keyId } = json(created) as { key: string; key_id: string };
    const listed = await tollgate(db, 'keys', 'list', 'acme', '--json');
    const revoked = await tollgate(db, 'keys', 'revoke', keyId, '--json');
    const afterRevoke = await tollgate(db, 'keys', 'list', 'acme');

    // Assess
    expect(created.code).toBe(0);
    expect(key).toMatch(/^sk-[^-]+$/);
    expect(keyId).toMatch(/^key_/);
    expect(listed.code).toBe(0);
    expect(json(listed)).toEqual({
      data: [expect.objectContaining({ key_id: keyId, name: 'laptop', prefix: key.slice(0, 9), status: 'active' })],
      has_more: false,
      next_cursor: null,
    });
    expect(listed.stdout).not.toContain(key);
    const [stored] = await db.stores.keys.listByAccount('acme');
    expect(listed.stdout).not.toContain(stored?.keyHash);
    expect(json(revoked)).toMatchObject({ key_id: keyId, status: 'revoked' });
    expect(afterRevoke.stdout).toMatch(new RegExp(`${keyId}.*revoked`));
  });

  it('credits a top-up once per --id, refuses the id with another amount, and shows the balance as a decimal', async () => {
    // Prepare
    await db.stores.wallets.create('topper');

    // Act
    const first = await tollgate(db, 'topup', 'topper', '5', '--id', 'inv-1', '--json');
    const again = await tollgate(db, 'topup', 'topper', '5.00', '--id', 'inv-1', '--json');
    const [conflict, balance] = await Promise.all([
      tollgate(db, 'topup', 'topper', '7', '--id', 'inv-1'),
      tollgate(db, 'balance', 'topper', '--json'),
    ]);

    // Assess
    expect(json(first)).toMatchObject({ top_up_id: 'inv-1', applied: true, amount_usd: '5.00', balance_usd: '5.00' });
    expect(json(again)).toMatchObject({ top_up_id: 'inv-1', applied: false, balance_usd: '5.00' });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('already used for a different amount');
    expect(json(balance)).toEqual({
      account: 'topper',
      balance_usd: '5.00',
      balance_nano: 5_000_000_000,
      credit_limit_usd: '0.00',
      credit_limit_nano: 0,
      available_usd: '5.00',
      available_nano: 5_000_000_000,
      discount: '1',
      discount_ppm: 1_000_000,
      alert_below_usd: null,
      alert_below_nano: null,
    });
  });

  it('exits 0 on an audit that balances and 1 on one that does not, printing one JSON object either way', async () => {
    // Prepare
    await db.stores.wallets.create('audited');
    await db.stores.wallets.topUp('audited', 3_000_000_000);
    const before = await tollgate(db, 'audit', 'audited', '--json');
    await db.client.send(
      new UpdateCommand({
        TableName: db.tables.wallets,
        Key: { accountId: 'audited' },
        UpdateExpression: 'SET balance = balance - :d',
        ExpressionAttributeValues: { ':d': 1_000_000_000 },
      }),
    );

    // Act
    const after = await tollgate(db, 'audit', 'audited', '--json');

    // Assess
    expect(before.code).toBe(0);
    expect(json(before)).toMatchObject({ ok: true, balance_usd: '3.00', difference_usd: '0.00' });
    expect(after.code).toBe(1);
    expect(json(after)).toMatchObject({
      ok: false,
      expected_balance_usd: '3.00',
      balance_usd: '2.00',
      difference_usd: '-1.00',
      error: { message: expect.stringMatching(/^AUDIT FAILED: /) },
    });
  });

  it('sets, lists and deletes a route', async () => {
    // Act
    const set = await tollgate(
      db,
      'routes',
      'set',
      'cheap-model',
      '--provider',
      'openai',
      '--input-price',
      '0.075',
      '--output-price',
      '0.30',
      '--json',
    );
    const listed = await tollgate(db, 'routes', 'list', '--json');
    const deleted = await tollgate(db, 'routes', 'delete', 'cheap-model', '--json');

    // Assess
    expect(set.code).toBe(0);
    expect(json(listed)['data']).toEqual([
      expect.objectContaining({
        model: 'cheap-model',
        provider: 'openai',
        prices: { input_usd: '0.075', input_nano: 75_000_000, output_usd: '0.30', output_nano: 300_000_000 },
      }),
    ]);
    expect(json(deleted)).toMatchObject({ model: 'cheap-model', deleted: true, warnings: [] });
    expect(await db.stores.routes.get('cheap-model')).toBeUndefined();
  });

  it('exits 2 with a one-line message naming an unknown command or flag', async () => {
    const [unknownCommand, unknownFlag] = await Promise.all([
      tollgate(db, 'acounts', 'create', 'x'),
      tollgate(db, 'balance', 'acme', '--colour', '--json'),
    ]);

    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr.trim().split('\n')).toEqual([
      expect.stringContaining("Unknown command 'acounts create'. Did you mean 'accounts create'?"),
    ]);
    expect(unknownFlag.code).toBe(2);
    expect(json(unknownFlag)).toEqual({ error: { message: expect.stringContaining("'--colour'") } });
  });

  it('prints usage with examples for --help, globally and per command', async () => {
    const [global, command] = await Promise.all([tollgate(db, '--help'), tollgate(db, 'routes', 'set', '-h')]);

    expect(global.code).toBe(0);
    expect(global.stdout).toContain('Usage: npx tollgate <command>');
    expect(global.stdout).toContain('keys create <account>');
    expect(command.code).toBe(0);
    expect(command.stdout).toContain('Usage: npx tollgate routes set <model> --provider P');
    expect(command.stdout).toContain('Secrets Manager');
    expect(command.stdout).toMatch(/Examples:\n {2}npx tollgate routes set/);
  });
});

describe('tollgate --stack (spawned)', () => {
  let db: TestDatabase;
  let cfn: FakeCloudFormation;
  beforeAll(async () => {
    db = await createTestDatabase();
    const outputs = Object.fromEntries(TABLE_NAMES.map((name) => [tableOutputKey(name), db.tables[name]]));
    cfn = await startFakeCloudFormation({ 'Tollgate-e2e': outputs });
  });
  afterAll(async () => {
    await cfn.close();
  });

  it('finds the tables through the stack, mints and limits a key, and routes with a fallback', async () => {
    // Prepare: the DynamoDB endpoint override still applies; the stack's outputs name the tables.
    const env = {
      TOLLGATE_DYNAMODB_ENDPOINT: db.endpoint,
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const cli = (...args: string[]) => spawnCli(env, ['--stack', 'Tollgate-e2e', '--region', 'eu-west-1', ...args]);
    await db.stores.wallets.create('stacked');

    // Act
    const created = await cli('keys', 'create', 'stacked', '--rpm', '60', '--json');
    const { key_id: keyId } = json(created) as { key_id: string };
    const changed = await cli('keys', 'set', keyId, '--rpm', 'none', '--tpm', '1000', '--json');
    const routed = await cli(
      ...['routes', 'set', 'main', '--provider', 'echo', '--input-price', '1', '--output-price', '2'],
      ...['--fallbacks', 'spare'],
    );

    // Assess
    expect(created.code).toBe(0);
    expect(json(changed)).toMatchObject({ key_id: keyId, account: 'stacked', tpm: 1000, rpm: null });
    expect(await db.stores.keys.findByKeyId(keyId)).toMatchObject({ tpm: 1000 });
    expect(routed.code).toBe(0);
    expect(routed.stderr).toContain("tollgate: warning: Route main: fallback 'spare' has no route yet");
    expect(await db.stores.routes.get('main')).toMatchObject({ fallbacks: ['spare'] });
    expect(cfn.requests.every((request) => request['StackName'] === 'Tollgate-e2e')).toBe(true);
  });
});
