import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../lambdas/cli/command.ts';
import { consoleUrlFor } from '../../lambdas/cli/members-commands.ts';
import { secretHash } from '../../lambdas/services/members.ts';
import { writeGatewayInfo } from '../../lambdas/store/local-database.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from './fake-cloudformation.ts';
import { runOn, runWithEnv } from './in-process.ts';

/** No database listens here: a command that gets this far before failing would exit 1, not 2. */
const OFFLINE = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };

const jsonOf = (run: { stdout: string }): Record<string, unknown> => {
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
};

const tokenOf = (url: string): string => new URL(url).searchParams.get('token') ?? '';

describe('tollgate members', () => {
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { TOLLGATE_DYNAMODB_ENDPOINT: db.endpoint, TOLLGATE_TABLE_PREFIX: db.prefix };
    await runOn(db, 'accounts', 'create', 'acme');
    await runOn(db, 'accounts', 'create', 'beta');
  });

  it('adds a member (address normalized) and says how to send them a link', async () => {
    const run = await runOn(db, 'members', 'add', 'acme', ' Ada@Example.COM ');

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'Added ada@example.com to acme. They can sign in at the console, or send them a link: npx tollgate members link ada@example.com\n',
    );
  });

  it('says a second add of the same member is already a member and changes nothing', async () => {
    await runOn(db, 'members', 'add', 'acme', 'twice@example.com');

    const again = await runOn(db, 'members', 'add', 'acme', 'twice@example.com');
    const json = jsonOf(await runOn(db, 'members', 'add', 'acme', 'twice@example.com', '--json'));

    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^twice@example\.com is already a member of acme \(since .+\); nothing changed\.\n$/);
    expect(json).toEqual({ email: 'twice@example.com', account: 'acme', added_at: expect.any(String), added: false });
  });

  it('exits 1 on an unknown account, saying how to create it', async () => {
    const run = await runOn(db, 'members', 'add', 'nobody', 'ada@example.com');

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('npx tollgate accounts create nobody');
  });

  it.each([
    ['add', 'acme', 'not-an-email'],
    ['remove', 'acme', 'a@b'],
    ['link', 'no at sign'],
  ])('exits 2 on an invalid e-mail address (members %s) before connecting', async (...argv) => {
    const run = await runWithEnv(OFFLINE, 'members', ...argv);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Invalid e-mail address');
  });

  it('exits 2 on an invalid account id before connecting', async () => {
    const run = await runWithEnv(OFFLINE, 'members', 'list', 'has space', '--json');

    expect(run.code).toBe(2);
    expect(jsonOf(run)).toEqual({ error: { message: expect.stringContaining("Invalid account id 'has space'") } });
  });

  it('lists the members of an account, and says how to add one when there are none', async () => {
    await runOn(db, 'accounts', 'create', 'listed');
    const empty = await runOn(db, 'members', 'list', 'listed');
    await runOn(db, 'members', 'add', 'listed', 'b@example.com');
    await runOn(db, 'members', 'add', 'listed', 'a@example.com');

    const run = await runOn(db, 'members', 'list', 'listed');
    const json = jsonOf(await runOn(db, 'members', 'list', 'listed', '--json'));

    expect(empty.stdout).toBe('No members of listed. Add one with: npx tollgate members add listed <email>\n');
    expect(run.stdout.split('\n')[0]).toMatch(/^EMAIL\s+ADDED$/);
    expect(run.stdout).toContain('a@example.com');
    expect(json).toEqual({
      data: [
        { email: 'a@example.com', account: 'listed', added_at: expect.any(String) },
        { email: 'b@example.com', account: 'listed', added_at: expect.any(String) },
      ],
      has_more: false,
      next_cursor: null,
    });
  });

  it('exits 1 on listing an unknown account', async () => {
    const run = await runOn(db, 'members', 'list', 'ghost');

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('npx tollgate accounts create ghost');
  });

  it('removes a member, and exits 1 naming members list when they were not one', async () => {
    await runOn(db, 'members', 'add', 'acme', 'gone@example.com');

    const removed = await runOn(db, 'members', 'remove', 'acme', 'gone@example.com', '--json');
    const again = await runOn(db, 'members', 'remove', 'acme', 'gone@example.com');

    expect(jsonOf(removed)).toEqual({ email: 'gone@example.com', account: 'acme', added_at: expect.any(String) });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("'gone@example.com' is not a member of account 'acme'");
    expect(again.stderr).toContain('npx tollgate members list acme');
  });

  describe('members link', () => {
    beforeAll(async () => {
      await runOn(db, 'members', 'add', 'acme', 'linked@example.com');
      await runOn(db, 'members', 'add', 'beta', 'linked@example.com');
    });

    it('prints a one-time link, who it is for, and that it works once for 15 minutes', async () => {
      const run = await runWithEnv({ ...env, PORT: '9123' }, 'members', 'link', 'linked@example.com');

      expect(run).toMatchObject({ code: 0, stderr: '' });
      const [first, blank, url, , last] = run.stdout.trimEnd().split('\n');
      expect(first).toBe('One-time sign-in link for linked@example.com (accounts acme, beta):');
      expect(blank).toBe('');
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:9123\/console\/auth\?token=[A-Za-z0-9_-]{43}$/);
      expect(last).toMatch(
        /^It works once, for 15 minutes \(until .+Z\)\. Whoever opens it signs in as linked@example\.com/,
      );
    });

    it('answers --json with url, email, expires_at, accounts and console_url; stores only the hash', async () => {
      const before = Date.now();
      const run = await runWithEnv(
        { ...env, TOLLGATE_CONSOLE_URL: 'https://console.example.com/console/' },
        'members',
        'link',
        'LINKED@example.com',
        '--json',
      );

      const json = jsonOf(run);
      expect(run.code).toBe(0);
      expect(json).toEqual({
        url: expect.stringMatching(/^https:\/\/console\.example\.com\/console\/auth\?token=[A-Za-z0-9_-]+$/),
        email: 'linked@example.com',
        expires_at: expect.any(String),
        accounts: ['acme', 'beta'],
        console_url: 'https://console.example.com/console',
        single_use: true,
      });
      const expires = Date.parse(String(json['expires_at']));
      expect(expires - before).toBeGreaterThanOrEqual(15 * 60_000 - 1000);
      expect(expires - before).toBeLessThanOrEqual(15 * 60_000 + 5000);
      const token = tokenOf(String(json['url']));
      const link = await db.stores.sessions.consumeLink(secretHash(token), Date.now());
      expect(link).toBe('linked@example.com');
    });

    it('takes --console-url over TOLLGATE_CONSOLE_URL', async () => {
      const run = await runWithEnv(
        { ...env, TOLLGATE_CONSOLE_URL: 'https://env.example.com/console' },
        'members',
        'link',
        'linked@example.com',
        '--console-url',
        'https://flag.example.com/console',
        '--json',
      );

      expect(String(jsonOf(run)['url'])).toMatch(/^https:\/\/flag\.example\.com\/console\/auth\?token=/);
    });

    it('exits 2 on a --console-url that is not an http(s) URL, before connecting', async () => {
      const run = await runWithEnv(OFFLINE, 'members', 'link', 'a@example.com', '--console-url', 'javascript:alert(1)');

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Invalid console URL');
    });

    it('exits 1 for an address that is no member, with a hint to members add, and makes no link', async () => {
      const run = await runOn(db, 'members', 'link', 'stranger@example.com');
      const json = jsonOf(await runOn(db, 'members', 'link', 'stranger@example.com', '--json'));

      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('npx tollgate members add <account> stranger@example.com');
      expect(json).toEqual({ error: { message: expect.stringContaining('is not a member of any account') } });
    });

    it("uses the running local gateway's port from gateway.json in the data dir, else PORT, else 8787", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-members-'));
      const context = (env: NodeJS.ProcessEnv): CommandContext => ({
        args: [],
        values: {},
        env,
        target: { kind: 'local', dataDir },
        stores: () => Promise.reject(new Error('not connected')),
        accountIds: () => Promise.reject(new Error('not connected')),
      });
      try {
        const none = await consoleUrlFor(context({}));
        const port = await consoleUrlFor(context({ PORT: '9000' }));
        writeGatewayInfo(dataDir, { pid: process.pid, dynamoEndpoint: db.endpoint, port: 8999, startedAt: '' });
        const running = await consoleUrlFor(context({ PORT: '9000' }));

        expect([none, port, running]).toEqual([
          'http://127.0.0.1:8787/console',
          'http://127.0.0.1:9000/console',
          'http://127.0.0.1:8999/console',
        ]);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('asks for --console-url on DynamoDB on AWS without --stack', async () => {
      const run = await runWithEnv(
        { AWS_REGION: 'eu-west-1', TOLLGATE_TABLE_PREFIX: 'x' },
        'members',
        'link',
        'a@example.com',
      );

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('--console-url');
    });
  });

  describe('members link --stack', () => {
    let cfn: FakeCloudFormation;
    let stackEnv: NodeJS.ProcessEnv;
    beforeAll(async () => {
      cfn = await startFakeCloudFormation({
        'Tollgate-console': {
          TablePrefix: db.prefix,
          ConsoleUrl: 'https://abc.lambda-url.eu-west-1.on.aws/console',
        },
        'Tollgate-old': { TablePrefix: db.prefix },
      });
      stackEnv = {
        TOLLGATE_DYNAMODB_ENDPOINT: db.endpoint,
        AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint,
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'secret',
      };
      await runOn(db, 'members', 'add', 'acme', 'stack@example.com');
    });
    afterAll(async () => {
      await cfn.close();
    });

    it("takes the console's address from the stack's ConsoleUrl output", async () => {
      const run = await runWithEnv(
        stackEnv,
        '--stack',
        'Tollgate-console',
        '--region',
        'eu-west-1',
        'members',
        'link',
        'stack@example.com',
        '--json',
      );

      expect(run.code).toBe(0);
      expect(String(jsonOf(run)['url'])).toMatch(
        /^https:\/\/abc\.lambda-url\.eu-west-1\.on\.aws\/console\/auth\?token=[A-Za-z0-9_-]+$/,
      );
    });

    it('exits 1 naming --console-url when the stack has no ConsoleUrl output', async () => {
      const run = await runWithEnv(
        stackEnv,
        '--stack',
        'Tollgate-old',
        '--region',
        'eu-west-1',
        'members',
        'link',
        'stack@example.com',
      );

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('no output ConsoleUrl');
      expect(run.stderr).toContain('--console-url');
    });
  });
});
