import { describe, expect, it } from 'vitest';
import {
  formatPpm,
  ledgerEntry,
  walletPageParams,
  walletSummary,
  walletView,
} from '../../lambdas/gateway/wallet-view.ts';
import type { TopUpRow, UsageRow, Wallet } from '../../lambdas/vocabulary.ts';

const wallet: Wallet = {
  accountId: 'acme',
  balance: 4_999_580_000,
  creditLimit: 50_000_000_000,
  spendable: 54_999_580_000,
  createdAt: '2026-11-01T00:00:00.000Z',
  discountPpm: 800_000,
};

const pending: UsageRow = {
  accountId: 'acme',
  sk: '2026-11-01T08:02:00.000Z#req-open',
  kind: 'usage',
  requestId: 'req-open',
  status: 'pending',
  hold: 20_000_000,
  model: 'gpt-5.2',
  provider: 'openai',
  upstreamModel: 'gpt-5.2-2025-12-11',
  keyId: 'key_0123',
  at: '2026-11-01T08:02:00.000Z',
  prices: { input: 1_750_000_000, output: 14_000_000_000 },
  discountPpm: 800_000,
};

const settled: UsageRow = {
  ...pending,
  sk: '2026-11-01T08:01:00.000Z#req-done',
  requestId: 'req-done',
  at: '2026-11-01T08:01:00.000Z',
  status: 'final',
  cost: 10_500_000,
  outcome: 'completed',
  usage: { inputTokens: 1_000, outputTokens: 500, cacheReadTokens: 200, cacheWriteTokens: 0 },
  fallbackFrom: 'claude-sonnet-4-6',
};

const credit: TopUpRow = {
  accountId: 'acme',
  sk: '2026-11-01T08:00:00.000Z#topup#inv-1',
  kind: 'topup',
  topUpId: 'inv-1',
  amount: 5_000_000_000,
  at: '2026-11-01T08:00:00.000Z',
};

describe('wallet view', () => {
  it('shows a wallet with every amount as an exact USD string and as nano-USD', () => {
    expect(walletSummary(wallet)).toEqual({
      account: 'acme',
      balance_usd: '4.99958',
      balance_nano: 4_999_580_000,
      credit_limit_usd: '50.00',
      credit_limit_nano: 50_000_000_000,
      available_usd: '54.99958',
      available_nano: 54_999_580_000,
      discount: '0.8',
      discount_ppm: 800_000,
      alert_below_usd: null,
      alert_below_nano: null,
    });
    const { discountPpm: _, ...undiscounted } = wallet;
    expect(walletSummary(undiscounted)).toMatchObject({
      discount: '1',
      discount_ppm: 1_000_000,
    });
  });

  it('gives a request row one shape, pending or final, with null where nothing is known yet', () => {
    expect(ledgerEntry(settled)).toEqual({
      type: 'usage',
      id: 'req-done',
      at: '2026-11-01T08:01:00.000Z',
      status: 'final',
      outcome: 'completed',
      model: 'gpt-5.2',
      fallback_from: 'claude-sonnet-4-6',
      provider: 'openai',
      key_id: 'key_0123',
      amount_usd: '-0.0105',
      amount_nano: -10_500_000,
      hold_usd: '0.02',
      hold_nano: 20_000_000,
      cost_usd: '0.0105',
      cost_nano: 10_500_000,
      discount: '0.8',
      estimated: false,
      overrun: false,
      usage: { input_tokens: 1_000, output_tokens: 500, cache_read_tokens: 200, cache_write_tokens: 0 },
    });
    expect(ledgerEntry(pending)).toMatchObject({
      status: 'pending',
      outcome: null,
      fallback_from: null,
      amount_usd: '-0.02',
      amount_nano: -20_000_000,
      cost_usd: null,
      cost_nano: null,
      usage: null,
    });
  });

  it('moves the balance by exactly 0, never -0, for a request that cost nothing', () => {
    const free = ledgerEntry({ ...settled, cost: 0, outcome: 'upstream_error' });

    expect(free).toMatchObject({ amount_usd: '0.00', cost_usd: '0.00' });
    expect(Object.is(free.type === 'usage' && free.amount_nano, 0)).toBe(true);
  });

  it('gives a top-up row its id and amount', () => {
    expect(ledgerEntry(credit)).toEqual({
      type: 'topup',
      id: 'inv-1',
      at: '2026-11-01T08:00:00.000Z',
      amount_usd: '5.00',
      amount_nano: 5_000_000_000,
      payment: null,
    });
  });

  it('answers GET /v1/wallet with the wallet and a page of its ledger, newest first', () => {
    const view = walletView(wallet, [pending, settled, credit], '2026-11-01T08:00:00.000Z#topup#inv-1');

    expect(view).toMatchObject({
      object: 'wallet',
      account: 'acme',
      currency: 'USD',
      balance_usd: '4.99958',
      credit_limit_usd: '50.00',
      discount: '0.8',
      ledger: { has_more: true, next_cursor: '2026-11-01T08:00:00.000Z#topup#inv-1' },
    });
    expect(view.ledger.data.map((entry) => entry.id)).toEqual(['req-open', 'req-done', 'inv-1']);
    expect(walletView(wallet, [], undefined).ledger).toEqual({ data: [], has_more: false, next_cursor: null });
  });

  it('writes parts per million as the same exact decimal', () => {
    expect([800_000, 333_333, 1_000_000, 1, 50_000].map(formatPpm)).toEqual([
      '0.8',
      '0.333333',
      '1',
      '0.000001',
      '0.05',
    ]);
  });

  it('checks ?limit and ?cursor, naming the parameter', () => {
    expect(walletPageParams(undefined)).toEqual({ limit: 20 });
    expect(walletPageParams({ limit: '100', cursor: '2026-11-01T08:00:00.000Z#req-1' })).toEqual({
      limit: 100,
      cursor: '2026-11-01T08:00:00.000Z#req-1',
    });
    for (const limit of ['0', '101', '2.5', 'ten']) {
      expect(() => walletPageParams({ limit })).toThrow("'limit' must be a whole number from 1 to 100");
    }
    expect(() => walletPageParams({ cursor: 'abc' })).toThrow("'cursor' is not a cursor this endpoint returned");
  });
});
