import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseTarget } from '../../lambdas/cli/connect.ts';
import { CommandError, UsageError } from '../../lambdas/cli/errors.ts';
import { TABLE_PREFIX_OUTPUT, tableNamesFromOutputs, tableOutputKey } from '../../lambdas/cli/stack.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { TABLE_NAMES, type TableNames } from '../../lib/tables.ts';
import { TollgateStack } from '../../lib/tollgate-stack.ts';
import { NO_BUNDLING } from '../lib/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from './fake-cloudformation.ts';
import { runWithEnv } from './in-process.ts';

/** The outputs a deployed stack has for these tables, as `lib/tollgate-stack.ts` names them. */
const outputsFor = (tables: TableNames, prefix: string): Record<string, string> => ({
  ProxyUrl: 'https://abc.lambda-url.eu-west-1.on.aws/',
  [TABLE_PREFIX_OUTPUT]: prefix,
  ...Object.fromEntries(TABLE_NAMES.map((name) => [tableOutputKey(name), tables[name]])),
});

describe('table names from stack outputs', () => {
  it('takes each table from its <Name>TableName output', () => {
    const tables = tableNamesFromOutputs('S', {
      KeysTableName: 'k',
      WalletsTableName: 'w',
      RoutesTableName: 'r',
      LedgerTableName: 'l',
      CountersTableName: 'c',
      MembersTableName: 'm',
      SessionsTableName: 's',
      CodesTableName: 'o',
    });

    expect(tables).toEqual({
      keys: 'k',
      wallets: 'w',
      routes: 'r',
      ledger: 'l',
      counters: 'c',
      members: 'm',
      sessions: 's',
      codes: 'o',
    });
  });

  it('falls back to <TablePrefix>-<table> for a table without its own output (a stack from before it)', () => {
    expect(tableNamesFromOutputs('S', { TablePrefix: 'tollgate-prod', KeysTableName: 'custom-keys' })).toEqual({
      keys: 'custom-keys',
      wallets: 'tollgate-prod-wallets',
      routes: 'tollgate-prod-routes',
      ledger: 'tollgate-prod-ledger',
      counters: 'tollgate-prod-counters',
      members: 'tollgate-prod-members',
      sessions: 'tollgate-prod-sessions',
      codes: 'tollgate-prod-codes',
    });
  });

  it('names every missing output when neither the table output nor TablePrefix is there', () => {
    const outputs = { KeysTableName: 'k', WalletsTableName: 'w', RoutesTableName: 'r' };

    expect(() => tableNamesFromOutputs('Other', outputs)).toThrow(CommandError);
    expect(() => tableNamesFromOutputs('Other', outputs)).toThrow(
      "Stack 'Other' has no output LedgerTableName, CountersTableName, MembersTableName, SessionsTableName, CodesTableName nor TablePrefix",
    );
  });

  it('reads the output keys the stack really declares', () => {
    const app = new App({ context: NO_BUNDLING });
    const declared = Object.keys(
      Template.fromStack(new TollgateStack(app, 'Tollgate-dev', { stage: 'dev' })).findOutputs('*'),
    );

    expect(declared).toEqual(expect.arrayContaining([TABLE_PREFIX_OUTPUT, ...TABLE_NAMES.map(tableOutputKey)]));
  });
});

describe('--stack target', () => {
  const env = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' };

  it('reads the tables from the stack on DynamoDB on AWS, over any TOLLGATE_TABLE_* variable', () => {
    const target = chooseTarget(
      { ...env, TOLLGATE_TABLE_PREFIX: 'ignored', AWS_REGION: 'eu-west-1' },
      { stack: 'Tollgate-prod' },
    );

    expect(target).toEqual({
      kind: 'aws',
      region: 'eu-west-1',
      stack: {
        stack: 'Tollgate-prod',
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      },
    });
  });

  it('keeps an explicit DynamoDB endpoint while the stack names the tables', () => {
    const target = chooseTarget(
      { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:4566' },
      { stack: 'Tollgate-dev', region: 'us-west-2' },
    );

    expect(target).toMatchObject({
      kind: 'endpoint',
      endpoint: 'http://127.0.0.1:8000',
      stack: { stack: 'Tollgate-dev', region: 'us-west-2', endpoint: 'http://127.0.0.1:4566' },
    });
    expect(target).not.toHaveProperty('tables');
  });

  it.each([
    [{ stack: 'Tollgate-prod' }, "Which AWS region is stack 'Tollgate-prod' in?"],
    [{ stack: '', region: 'eu-west-1' }, "Invalid stack name ''"],
    [{ stack: 'has space', region: 'eu-west-1' }, "Invalid stack name 'has space'"],
  ])('refuses %j as a usage error', (flags, message) => {
    expect(() => chooseTarget({}, flags)).toThrow(UsageError);
    expect(() => chooseTarget({}, flags)).toThrow(message);
  });
});

describe('tollgate --stack (fake CloudFormation on 127.0.0.1, DynamoDB Local)', () => {
  let db: TestDatabase;
  let cfn: FakeCloudFormation;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    db = await createTestDatabase();
    cfn = await startFakeCloudFormation({
      'Tollgate-test': outputsFor(db.tables, db.prefix),
      'Not-tollgate': { BucketName: 'b' },
    });
    env = {
      TOLLGATE_DYNAMODB_ENDPOINT: db.endpoint,
      // Would name other tables: --stack must win.
      TOLLGATE_TABLE_PREFIX: 'wrong',
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'secret',
    };
    await createAccount(db.stores, { accountId: 'acme' });
    await topUp(db.stores, { accountId: 'acme', amountUsd: '7.25', topUpId: 'inv-1' });
  });
  afterAll(async () => {
    await cfn.close();
  });

  it("reads the stack's outputs with DescribeStacks and uses its tables", async () => {
    const result = await runWithEnv(
      env,
      '--stack',
      'Tollgate-test',
      '--region',
      'eu-west-1',
      'balance',
      'acme',
      '--json',
    );

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ account: 'acme', balance_usd: '7.25' });
    expect(cfn.requests).toContainEqual(
      expect.objectContaining({ Action: 'DescribeStacks', StackName: 'Tollgate-test' }),
    );
  });

  it('fails with exit 1 naming a stack that does not exist, and its region', async () => {
    const result = await runWithEnv(env, 'balance', 'acme', '--stack', 'Tollgate-gone', '--region', 'eu-west-1');

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("No CloudFormation stack 'Tollgate-gone' in eu-west-1");
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('fails with exit 1 naming the outputs a stack lacks', async () => {
    const result = await runWithEnv(
      env,
      'balance',
      'acme',
      '--stack',
      'Not-tollgate',
      '--region',
      'eu-west-1',
      '--json',
    );

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      error: { message: expect.stringContaining("Stack 'Not-tollgate' has no output KeysTableName, WalletsTableName") },
    });
  });

  it('explains in the global help where --stack reads the tables and that the endpoint still applies', async () => {
    const help = (await runWithEnv({}, '--help')).stdout;

    expect(help).toContain('--stack NAME');
    expect(help).toContain('TOLLGATE_DYNAMODB_ENDPOINT set: that DynamoDB (Local), even with --stack');
    expect(help).toContain('AWS_ENDPOINT_URL_CLOUDFORMATION');
    expect(help).toContain('npx tollgate --stack Tollgate-prod --region eu-west-1 balance acme');
  });
});
