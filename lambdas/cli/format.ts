/** What a table shows without `--wide`, so that it fits in {@link TABLE_WIDTH} columns. */
export interface TableFit {
  /** `--wide`: every column, every cell whole. */
  wide?: boolean | undefined;
  /** Headers of the columns only `--wide` shows. */
  wideOnly?: readonly string[];
  /** Headers of the columns that stand in for some of those without `--wide` (one LIMITS for RPM, TPM…). */
  narrowOnly?: readonly string[];
  /** Longest a column's cells may be, by header; a longer one is cut and ends in `…`. */
  maxWidth?: Readonly<Record<string, number>>;
  /** Headers of ISO-8601 time columns, shown to the minute (`2026-11-02 10:00`, UTC). */
  times?: readonly string[];
}

/** The width a table fits in without `--wide`. */
export const TABLE_WIDTH = 100;

const toMinute = (cell: string): string =>
  /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(cell) ? `${cell.slice(0, 10)} ${cell.slice(11, 16)}` : cell;

const cut = (cell: string, width: number | undefined): string =>
  width === undefined || cell.length <= width ? cell : `${cell.slice(0, width - 1)}…`;

/**
 * Left-aligned columns separated by two spaces; the header row first. Without `fit.wide`, the
 * `wideOnly` columns are left out, times are shown to the minute and long cells are cut.
 *
 * @example table(['MODEL', 'UPSTREAM'], rows, { wide: view?.wide, wideOnly: ['UPSTREAM'] })
 */
export const table = (headers: readonly string[], rows: readonly (readonly string[])[], fit: TableFit = {}): string => {
  const shown = headers.flatMap((header, column) =>
    (fit.wide ? fit.narrowOnly : fit.wideOnly)?.includes(header) ? [] : [{ header, column }],
  );
  const cell = (row: readonly string[], { header, column }: { header: string; column: number }): string => {
    const text = row[column] ?? '';
    if (fit.wide) return text;
    return cut(fit.times?.includes(header) ? toMinute(text) : text, fit.maxWidth?.[header]);
  };
  const cells = [shown.map(({ header }) => header), ...rows.map((row) => shown.map((column) => cell(row, column)))];
  const widths = shown.map((_, column) => Math.max(...cells.map((line) => (line[column] ?? '').length)));
  const line = (texts: readonly string[]): string =>
    texts
      .map((text, column) => text.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return cells.map(line).join('\n');
};

/** A count in a few characters: 600, 2k, 1.5M (exact only when it divides evenly; then the digits). */
export const compactCount = (count: number): string => {
  if (count >= 1_000_000 && count % 100_000 === 0) return `${count / 1_000_000}M`;
  if (count >= 1_000 && count % 100 === 0) return `${count / 1_000}k`;
  return count.toLocaleString('en-US');
};

export { describeDiscount, usd } from '../gateway/wallet-view.ts';
