import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lambdas/services/errors.ts';
import { amountOf, parseDiscount, parseSince } from '../../lambdas/services/validate.ts';

describe('discount parsing', () => {
  it.each([
    ['0.8', 800_000],
    ['0.333333', 333_333],
    ['1', 1_000_000],
    ['1.0', 1_000_000],
    ['0.000001', 1],
    ['0.05', 50_000],
    [' 0.75 ', 750_000],
  ])('parses %j exactly to %i parts per million', (text, ppm) => {
    expect(parseDiscount(text)).toBe(ppm);
  });

  it.each(['0', '0.0', '1.5', '2', '0.1234567', 'abc', '', '-0.5', '.8', '80%', '1e-1', '0,8'])(
    'refuses %j as invalid input',
    (text) => {
      expect(() => parseDiscount(text)).toThrow(InvalidInputError);
    },
  );

  it('says why a discount is refused', () => {
    expect(() => parseDiscount('0.1234567')).toThrow('at most 6 decimals');
    expect(() => parseDiscount('1.5')).toThrow('0.8 = 20% off');
  });
});

describe('amounts', () => {
  it('takes an amount in USD or in nano-USD, exactly one', () => {
    expect(amountOf({ usd: '12.50' }, 'amount')).toBe(12_500_000_000);
    expect(amountOf({ nano: 7 }, 'amount')).toBe(7);
    expect(() => amountOf({}, 'amount')).toThrow('Missing amount');
    expect(() => amountOf({ usd: '1', nano: 1 }, 'amount')).toThrow('not both');
  });

  it('refuses more than a maximum, naming it, either way the amount is given', () => {
    expect(amountOf({ usd: '1.00' }, 'credit', { max: 1_000_000_000 })).toBe(1_000_000_000);
    expect(() => amountOf({ usd: '1.000000001' }, 'credit', { max: 1_000_000_000 })).toThrow(
      "Invalid credit: '1.000000001' is more than the maximum of $1.00",
    );
    expect(() => amountOf({ nano: 1_000_000_001 }, 'credit', { max: 1_000_000_000 })).toThrow(
      'Invalid credit: 1000000001 nano-USD is more than the maximum of $1.00',
    );
  });

  it('names the value as the caller knows it', () => {
    expect(() => parseSince('last week', '--since')).toThrow("Invalid --since 'last week'");
    expect(() => parseSince('last week')).toThrow("Invalid since 'last week'");
    expect(() => amountOf({ usd: '0' }, 'credit', { positive: true })).toThrow("Invalid credit '0'");
  });
});
