import { beforeAll, describe, expect, it } from 'vitest';
import { redeemCode } from '../../lambdas/services/codes.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { runOn, runWithEnv } from './in-process.ts';

/** No database listens here: a command that gets this far before failing would exit 1, not 2. */
const OFFLINE = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };

const CODE = /TG(-[0-9A-HJKMNP-TV-Z]{5}){4}/g;

describe('tollgate codes', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await runOn(db, 'accounts', 'create', 'acme');
  });

  it('creates codes and prints them once, with the batch id', async () => {
    const run = await runOn(db, 'codes', 'create', '--amount', '25.00', '--count', '3', '--note', 'booth');

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(
      /^Created 3 codes of \$25\.00 each \(batch batch_[0-9a-f]{12}\)\. Copy them now, they are not shown again:\n/,
    );
    expect(run.stdout.match(CODE)).toHaveLength(3);
  });

  it('answers --json in snake_case with the codes and their ids', async () => {
    const run = await runOn(
      db,
      'codes',
      'create',
      '--amount',
      '5',
      '--count',
      '2',
      '--expires',
      '2099-01-01',
      '--json',
    );

    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      amount_usd: '5.00',
      amount_nano: 5_000_000_000,
      expires_at: '2099-01-01T00:00:00.000Z',
      codes: [
        { code: expect.stringMatching(CODE), code_id: expect.stringMatching(/^code_[0-9a-f]{16}$/) },
        { code: expect.stringMatching(CODE), code_id: expect.stringMatching(/^code_[0-9a-f]{16}$/) },
      ],
    });
  });

  it('lists status and the last four characters, never the codes; filters by batch', async () => {
    const created = JSON.parse(
      (await runOn(db, 'codes', 'create', '--amount', '1', '--count', '2', '--json')).stdout,
    ) as {
      batch_id: string;
      codes: { code: string; code_id: string }[];
    };
    const [first] = created.codes;
    if (!first) throw new Error('no code');
    await redeemCode(db.stores, { accountId: 'acme', code: first.code });

    const run = await runOn(db, 'codes', 'list', '--batch', created.batch_id);
    const json = JSON.parse((await runOn(db, 'codes', 'list', '--batch', created.batch_id, '--json')).stdout) as {
      data: Record<string, unknown>[];
    };

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('CODE ID');
    expect(run.stdout).toContain(`…${first.code.slice(-4)}`);
    expect(run.stdout).toMatch(/redeemed +acme/);
    expect(run.stdout.match(CODE)).toBeNull();
    expect(json.data).toHaveLength(2);
    expect(json.data.find((code) => code['code_id'] === first.code_id)).toMatchObject({
      status: 'redeemed',
      redeemed_by: 'acme',
    });
    expect(JSON.stringify(json)).not.toContain(first.code);
  });

  it('revokes by id or by code; a second revoke fails with exit 1', async () => {
    const created = JSON.parse(
      (await runOn(db, 'codes', 'create', '--amount', '1', '--count', '2', '--json')).stdout,
    ) as {
      codes: { code: string; code_id: string }[];
    };
    const [byId, byCode] = created.codes as [{ code: string; code_id: string }, { code: string; code_id: string }];

    const first = await runOn(db, 'codes', 'revoke', byId.code_id);
    const second = await runOn(db, 'codes', 'revoke', byCode.code);
    const again = await runOn(db, 'codes', 'revoke', byId.code_id);

    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(new RegExp(`^Revoked ${byId.code_id} \\(…${byId.code.slice(-4)}, \\$1\\.00`));
    expect(second.code).toBe(0);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already revoked');
    expect((await runOn(db, 'codes', 'revoke', 'code_0000000000000000')).stderr).toContain('Unknown code');
  });

  it('refuses bad input with exit 2 before connecting', async () => {
    for (const argv of [
      ['codes', 'create', '--count', '1'],
      ['codes', 'create', '--amount', '1', '--count', '1001'],
      ['codes', 'create', '--amount', '1', '--count', 'x'],
      ['codes', 'create', '--amount', '2000000', '--count', '1'],
      ['codes', 'create', '--amount', '1', '--count', '1', '--expires', '2001-01-01'],
      ['codes', 'list', '--batch', 'nope'],
    ]) {
      const run = await runWithEnv(OFFLINE, ...argv);
      expect(run.code, argv.join(' ')).toBe(2);
    }
  });

  it('explains itself with --help, examples included', async () => {
    const run = await runWithEnv(OFFLINE, 'codes', 'create', '--help');

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--amount USD');
    expect(run.stdout).toContain('npx tollgate codes create --amount 25.00 --count 10');
  });
});
