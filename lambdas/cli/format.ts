import { formatPpm } from '../gateway/wallet-view.ts';

/** Left-aligned columns separated by two spaces; the header row first. */
export const table = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
};

export const usd = (decimal: string): string => (decimal.startsWith('-') ? `-$${decimal.slice(1)}` : `$${decimal}`);

const PPM = 1_000_000;

/** A discount for people: "none", or "0.8 of list price (20% off)". */
export const describeDiscount = (ppm: number): string => {
  if (ppm >= PPM) return 'none';
  // Percent off = (1 − fraction) × 100 = (PPM − ppm) / 10_000, with up to four decimals.
  const off = PPM - ppm;
  const decimals = (off % 10_000).toString().padStart(4, '0').replace(/0+$/, '');
  const percent = `${(off - (off % 10_000)) / 10_000}${decimals === '' ? '' : `.${decimals}`}`;
  return `${formatPpm(ppm)} of list price (${percent}% off)`;
};
