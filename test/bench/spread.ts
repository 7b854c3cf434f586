/** A figure measured in several independent rounds: its median (what PASS/FAIL uses) and spread. */
import { quantile } from './stats.ts';

export interface Figure {
  name: string;
  unit: string;
  /** One value per round, in round order. */
  values: number[];
  median: number;
  min: number;
  max: number;
}

/**
 * @example
 * figure('module init p50', 'ms', [98, 104, 101]); // { median: 101, min: 98, max: 104, … }
 */
export const figure = (name: string, unit: string, values: readonly number[]): Figure => {
  const finite = values.filter((value) => Number.isFinite(value));
  const sorted = Float64Array.from(finite).sort();
  return {
    name,
    unit,
    values: [...values],
    median: quantile(sorted, 0.5),
    min: sorted.length > 0 ? (sorted[0] ?? Number.NaN) : Number.NaN,
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
  };
};

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** `0.42 [0.31–0.77]`. */
export const withSpread = (value: Figure, digits = 2): string =>
  `${fixed(value.median, digits)} [${fixed(value.min, digits)}–${fixed(value.max, digits)}]`;
