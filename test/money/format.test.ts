import { describe, expect, it } from 'vitest';
import { formatUsd, parseUsd } from '../../lambdas/gateway/money.ts';
import { MAX_CREDIT_LIMIT_NANO, MAX_TOP_UP_NANO } from '../../lambdas/vocabulary.ts';

describe('formatUsd', () => {
  it('formats every safe integer exactly', () => {
    expect(formatUsd(0)).toBe('0.00');
    expect(formatUsd(3)).toBe('0.000000003');
    expect(formatUsd(-1_500_000_000)).toBe('-1.50');
    expect(formatUsd(Number.MAX_SAFE_INTEGER)).toBe('9007199.254740991');
    expect(formatUsd(-Number.MAX_SAFE_INTEGER)).toBe('-9007199.254740991');
  });

  it('formats a bigint exactly at any size, e.g. a lifetime sum of top-ups', () => {
    expect(formatUsd(18_014_398_509_481_985n)).toBe('18014398.509481985');
    expect(formatUsd(-(10n ** 30n))).toBe('-1000000000000000000000.00');
  });

  it('refuses an amount a JS number cannot hold exactly with a clear message, not a rounded figure', () => {
    expect(() => formatUsd(2 ** 53 + 2)).toThrow(
      '9007199254740994 nano-USD is outside the exact range of amounts (±$9007199.254740991); refusing to print it rounded',
    );
    expect(() => formatUsd(0.5)).toThrow('0.5 nano-USD is not a whole number of nano-USD');
    expect(() => formatUsd(Number.NaN)).toThrow(RangeError);
  });
});

describe('parseUsd', () => {
  it('parses decimal USD exactly', () => {
    expect(parseUsd('12.50')).toBe(12_500_000_000);
    expect(parseUsd('0.000000001')).toBe(1);
    expect(parseUsd('-3')).toBe(-3_000_000_000);
  });

  it('refuses an amount beyond the exact range, saying where the range ends', () => {
    expect(() => parseUsd('9007199.254740992')).toThrow(
      "'9007199.254740992' is too large: amounts are exact only up to $9007199.254740991",
    );
    expect(parseUsd('9007199.254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses more than a given maximum, naming it (e.g. the top-up maximum)', () => {
    expect(parseUsd('1000000', { max: MAX_TOP_UP_NANO })).toBe(MAX_TOP_UP_NANO);
    expect(() => parseUsd('1000000.000000001', { max: MAX_TOP_UP_NANO })).toThrow(
      "'1000000.000000001' is more than the maximum of $1000000.00",
    );
    expect(() => parseUsd('9000000', { max: MAX_CREDIT_LIMIT_NANO })).toThrow(RangeError);
  });
});
