import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { auditAccounts } from '../../lambdas/services/audit.ts';
import {
  CodeRefusedError,
  createCodes,
  generateCode,
  hashCode,
  listCodes,
  normaliseCode,
  redeemCode,
  revokeCode,
} from '../../lambdas/services/codes.ts';
import { ConflictError, InvalidInputError, LimitExceededError } from '../../lambdas/services/errors.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { MAX_BALANCE_NANO, MAX_TOP_UP_NANO } from '../../lambdas/vocabulary.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => (error instanceof CodeRefusedError ? [error.reason, error.message] : error),
  );

describe('redemption codes', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    for (const accountId of ['acme', 'beta', 'gamma', 'racer', 'r1', 'r2', 'r3'])
      await createAccount(db.stores, { accountId });
  });

  describe('codes', () => {
    it('carries 100 random bits as TG- and four groups of five Crockford base32 characters', () => {
      const codes = Array.from({ length: 2000 }, generateCode);

      for (const code of codes) expect(code).toMatch(/^TG(-[0-9A-HJKMNP-TV-Z]{5}){4}$/);
      expect(new Set(codes).size).toBe(codes.length);
      // Every one of the 32 characters turns up in every position over 2000 codes.
      const bodies = codes.map((code) => normaliseCode(code) as string);
      for (let position = 0; position < 20; position += 1) {
        expect(new Set(bodies.map((body) => body[position])).size).toBe(32);
      }
    });

    it('hashes a code the same however it is typed: case, dashes, spaces, prefix, look-alikes', () => {
      const code = 'TG-0ABCD-EFGH1-JKMNP-QRSTV';
      const hash = hashCode(normaliseCode(code) as string);

      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      for (const typed of [
        'tg-0abcd-efgh1-jkmnp-qrstv',
        ' 0ABCD EFGH1 JKMNP QRSTV ',
        'TGOABCDEFGHIJKMNPQRSTV',
        'oabcdefghljkmnpqrstv',
      ]) {
        expect(hashCode(normaliseCode(typed) as string), typed).toBe(hash);
      }
      expect(normaliseCode('TG-0ABCD-EFGH1-JKMNP')).toBeUndefined();
      expect(normaliseCode('TG-0ABCD-EFGH1-JKMNP-QRSTU')).toBeUndefined();
    });
  });

  describe('create, list, revoke', () => {
    it('creates a batch, stores only hashes, and lists status without the secret', async () => {
      const created = await createCodes(db.stores, { amountUsd: '25.00', count: 3, note: 'conference' });

      expect(created).toMatchObject({
        amount_usd: '25.00',
        amount_nano: 25_000_000_000,
        note: 'conference',
        expires_at: null,
      });
      expect(created.codes).toHaveLength(3);
      const listed = await listCodes(db.stores, { batchId: created.batch_id });
      expect(listed.codes.map((code) => code.code_id).sort()).toEqual(created.codes.map((code) => code.code_id).sort());
      const text = JSON.stringify(listed);
      for (const { code } of created.codes) {
        expect(text).not.toContain(code);
        expect(text).not.toContain(normaliseCode(code));
      }
      expect(listed.codes[0]).toMatchObject({ status: 'active', batch_id: created.batch_id, redeemed_by: null });
      expect(created.codes.map(({ code }) => code.slice(-4))).toContain(listed.codes[0]?.last4);
    });

    it('refuses a count above 1000, an amount above the top-up limit, and a past expiry', async () => {
      await expect(createCodes(db.stores, { amountUsd: '1', count: 1001 })).rejects.toThrow(InvalidInputError);
      await expect(createCodes(db.stores, { amountUsd: '1', count: 0 })).rejects.toThrow(InvalidInputError);
      await expect(createCodes(db.stores, { amountUsd: String(MAX_TOP_UP_NANO / 1e9 + 1), count: 1 })).rejects.toThrow(
        InvalidInputError,
      );
      await expect(createCodes(db.stores, { amountUsd: '1', count: 1, expires: '2001-01-01' })).rejects.toThrow(
        InvalidInputError,
      );
    });

    it('revokes by id or by the code; a revoked code is refused with its own message', async () => {
      const { codes } = await createCodes(db.stores, { amountUsd: '1', count: 2 });
      const [byId, byCode] = codes;
      if (!byId || !byCode) throw new Error('no codes');

      expect(await revokeCode(db.stores, { code: byId.code_id })).toMatchObject({ status: 'revoked' });
      expect(await revokeCode(db.stores, { code: byCode.code.toLowerCase() })).toMatchObject({ status: 'revoked' });
      await expect(revokeCode(db.stores, { code: byId.code_id })).rejects.toThrow(ConflictError);
      expect(await refusal(redeemCode(db.stores, { accountId: 'acme', code: byId.code }))).toEqual([
        'revoked',
        'This code has been revoked.',
      ]);
      expect((await db.stores.wallets.get('acme'))?.balance).toBe(0);
    });
  });

  describe('redeem', () => {
    it('credits the amount once, as a normal top-up row with id code-<codeId>, and marks the code redeemed', async () => {
      const { codes } = await createCodes(db.stores, { amountUsd: '12.50', count: 1 });
      const [{ code, code_id }] = codes as [{ code: string; code_id: string }];

      const redeemed = await redeemCode(db.stores, { accountId: 'beta', code });

      expect(redeemed).toMatchObject({
        account: 'beta',
        code_id,
        top_up_id: `code-${code_id}`,
        amount_usd: '12.50',
        balance_usd: '12.50',
      });
      const rows = await db.stores.wallets.allLedgerRows('beta');
      expect(rows).toEqual([
        expect.objectContaining({ kind: 'topup', topUpId: `code-${code_id}`, amount: 12_500_000_000 }),
      ]);
      const [listed] = (await listCodes(db.stores)).codes.filter((row) => row.code_id === code_id);
      expect(listed).toMatchObject({ status: 'redeemed', redeemed_by: 'beta' });
      expect(await refusal(redeemCode(db.stores, { accountId: 'beta', code }))).toEqual([
        'redeemed',
        'This code has already been redeemed.',
      ]);
      // Another account learns only that it was redeemed, not by whom.
      const other = await refusal(redeemCode(db.stores, { accountId: 'gamma', code }));
      expect(other).toEqual(['redeemed', 'This code has already been redeemed.']);
      expect((await db.stores.wallets.get('beta'))?.balance).toBe(12_500_000_000);
      expect((await db.stores.wallets.get('gamma'))?.balance).toBe(0);
    });

    it('refuses an unknown or malformed code with its own message', async () => {
      expect(await refusal(redeemCode(db.stores, { accountId: 'acme', code: generateCode() }))).toEqual([
        'unknown',
        expect.stringMatching(/^This code is not valid/),
      ]);
      expect(await refusal(redeemCode(db.stores, { accountId: 'acme', code: 'hello' }))).toEqual([
        'unknown',
        expect.stringMatching(/^This code is not valid/),
      ]);
    });

    it('refuses a code past its expiry (injected clock), and redeems it just before', async () => {
      let now = new Date('2026-12-01T00:00:00Z');
      const deps = { ...db.stores, now: () => now };
      const { codes } = await createCodes(deps, { amountUsd: '2', count: 2, expires: '2026-12-02T00:00:00Z' });
      const [early, late] = codes as unknown as [{ code: string }, { code: string }];

      now = new Date('2026-12-01T23:59:59Z');
      expect(await redeemCode(deps, { accountId: 'gamma', code: early.code })).toMatchObject({ amount_usd: '2.00' });
      now = new Date('2026-12-02T00:00:00Z');
      expect(await refusal(redeemCode(deps, { accountId: 'gamma', code: late.code }))).toEqual([
        'expired',
        'This code has expired.',
      ]);
      expect((await db.stores.wallets.get('gamma'))?.balance).toBe(2_000_000_000);
    });

    it('refuses a code that would carry the wallet past its ceiling and leaves the code active', async () => {
      await createAccount(db.stores, { accountId: 'full' });
      let left = MAX_BALANCE_NANO;
      for (let i = 0; left > 0; i += 1) {
        const amount = Math.min(left, MAX_TOP_UP_NANO);
        await topUp(db.stores, { accountId: 'full', amountNano: amount, topUpId: `fill-${i}` });
        left -= amount;
      }
      const { codes } = await createCodes(db.stores, { amountUsd: '1', count: 1 });
      const [{ code, code_id }] = codes as [{ code: string; code_id: string }];

      await expect(redeemCode(db.stores, { accountId: 'full', code })).rejects.toThrow(LimitExceededError);
      const [listed] = (await listCodes(db.stores)).codes.filter((row) => row.code_id === code_id);
      expect(listed?.status).toBe('active');
    });

    it('credits exactly once under 50 concurrent redemptions, from one account and from several; audit exact', async () => {
      const { codes } = await createCodes(db.stores, { amountUsd: '7.00', count: 2 });
      const [one, several] = codes as unknown as [{ code: string }, { code: string }];

      // Act
      const sameAccount = await Promise.allSettled(
        Array.from({ length: 50 }, () => redeemCode(db.stores, { accountId: 'racer', code: one.code })),
      );
      const accounts = ['r1', 'r2', 'r3'];
      const manyAccounts = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          redeemCode(db.stores, { accountId: accounts[i % 3] as string, code: several.code }),
        ),
      );

      // Assess
      for (const results of [sameAccount, manyAccounts]) {
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect((result.reason as CodeRefusedError).reason).toBe('redeemed');
        }
      }
      expect((await db.stores.wallets.get('racer'))?.balance).toBe(7_000_000_000);
      const balances = await Promise.all(accounts.map(async (id) => (await db.stores.wallets.get(id))?.balance ?? 0));
      expect(balances.reduce((a, b) => a + b, 0)).toBe(7_000_000_000);
      const audit = await auditAccounts(db.stores, { accountIds: ['racer', ...accounts, 'beta', 'gamma', 'acme'] });
      expect(audit).toMatchObject({ ok: true });
    });
  });
});
