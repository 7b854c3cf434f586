import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_WIDTH } from '../../lambdas/cli/format.ts';
import { redeemCode } from '../../lambdas/services/codes.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { tokens, usageRow } from '../support/rows.ts';
import { runOn } from './in-process.ts';

const ACCOUNT = 'acme-corporation-eu-west';
const t0 = new Date('2026-11-01T08:00:00.000Z');
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
/** A request id as the gateway makes them: gen-<epoch ms>-<Lambda request id>. */
const requestId = (minutes: number) => `gen-${at(minutes).getTime()}-8f14e45f-ceea-467f-a0e6-c4a4c1f9d2b${minutes}`;

const widest = (text: string): number => Math.max(...text.split('\n').map((line) => line.length));

/** Every command that prints a table, the columns only `--wide` shows and a long value it shows whole. */
const TABLES: { argv: string[]; wideOnly: string[]; whole: string }[] = [
  {
    argv: ['keys', 'list', ACCOUNT],
    wideOnly: ['PREFIX', 'RPM', 'TPM', 'SPEND LIMIT', 'CREATED', 'EXPIRES'],
    whole: 'gpt-5-mini,claude-haiku-4-5,claude-sonnet-4-6,llama-3.3-70b',
  },
  {
    argv: ['routes', 'list'],
    wideOnly: ['UPSTREAM', 'CACHE READ', 'CACHE WRITE', 'MAX TOKENS', 'UPSTREAM SETUP'],
    whole: 'https://api.groq.com/openai/v1 credential GROQ_API_KEY',
  },
  {
    argv: ['codes', 'list'],
    wideOnly: ['BATCH', 'CREATED', 'REDEEMED AT', 'NOTE'],
    whole: 'PyCon US 2026 booth, Pittsburgh, handed out at the sprint',
  },
  { argv: ['members', 'list', ACCOUNT], wideOnly: [], whole: 'ada.lovelace-byron@analytical-engines.example.com' },
  {
    argv: ['usage', ACCOUNT],
    wideOnly: ['REQUEST / TOP-UP', 'CACHE READ', 'CACHE WRITE'],
    whole: 'claude-sonnet-4-6 (fallback from gpt-5.2-pro-2026-11)',
  },
  { argv: ['audit', '--all'], wideOnly: [], whole: 'globex-research-laboratories' },
];

describe('tables', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    // Prepare: long but realistic names, ids, lists and amounts in every table.
    db = await createTestDatabase();
    const run = async (...argv: string[]) => expect((await runOn(db, ...argv)).code).toBe(0);
    await run('accounts', 'create', ACCOUNT);
    await run('accounts', 'create', 'globex-research-laboratories');
    await run('topup', ACCOUNT, '125000.50', '--id', 'invoice-2026-11-000123');
    await run(
      ...['keys', 'create', ACCOUNT, '--name', 'ci-github-actions-nightly', '--rpm', '6000', '--tpm', '20000000'],
      ...['--models', 'gpt-5-mini,claude-haiku-4-5,claude-sonnet-4-6,llama-3.3-70b', '--expires', '2027-01-31'],
      ...['--limit', '12500.75', '--limit-reset', 'monthly'],
    );
    await run('keys', 'create', ACCOUNT, '--name', 'laptop-ada');
    await run('routes', 'import', 'lib/catalogue.json');
    await run(
      ...['routes', 'set', 'llama-3.3-70b-versatile-long', '--provider', 'openai-compatible'],
      ...['--base-url', 'https://api.groq.com/openai/v1', '--credential', 'GROQ_API_KEY'],
      ...['--upstream-model', 'meta-llama/llama-3.3-70b-versatile-instruct', '--input-price', '0.59'],
      ...['--output-price', '0.79', '--cache-read-price', '0.059', '--cache-write-price', '0.7375'],
      ...['--default-max-tokens', '32768', '--fallbacks', 'claude-sonnet-4-6,gpt-5-mini'],
    );
    const codes = await runOn(
      db,
      ...['codes', 'create', '--amount', '2500.00', '--count', '3', '--expires', '2027-01-31', '--json'],
      ...['--note', 'PyCon US 2026 booth, Pittsburgh, handed out at the sprint'],
    );
    const code = /TG-[A-Z0-9-]+/.exec(codes.stdout)?.[0] ?? '';
    await redeemCode(db.stores, { accountId: ACCOUNT, code });
    await run('members', 'add', ACCOUNT, 'ada.lovelace-byron@analytical-engines.example.com');
    const done = { ...usageRow(ACCOUNT, requestId(1), at(1), 50_000_000), model: 'claude-sonnet-4-6' };
    await db.stores.wallets.hold(done);
    await db.stores.wallets.settle(done, {
      cost: 10_500_000,
      outcome: 'client_disconnected',
      usage: tokens(1_234_567, 456_789, 1_200_000, 250_000),
      estimated: true,
      fallbackFrom: 'gpt-5.2-pro-2026-11',
    });
    await db.stores.wallets.hold(usageRow(ACCOUNT, requestId(2), at(2), 20_000_000));
  });

  it.each(TABLES)(
    '$argv.0 $argv.1 fits in 100 columns; --wide shows every column',
    async ({ argv, wideOnly, whole }) => {
      // Act
      const narrow = await runOn(db, ...argv);
      const wide = await runOn(db, ...argv, '--wide');

      // Assess
      expect(narrow).toMatchObject({ code: 0, stderr: '' });
      expect(widest(narrow.stdout)).toBeLessThanOrEqual(TABLE_WIDTH);
      const header = (text: string) => text.split('\n')[0] ?? '';
      expect(wide).toMatchObject({ code: 0, stderr: '' });
      expect(wide.stdout).toContain(whole);
      for (const column of wideOnly) {
        expect(header(wide.stdout)).toContain(column);
        expect(header(narrow.stdout)).not.toContain(column);
      }
    },
  );
});
