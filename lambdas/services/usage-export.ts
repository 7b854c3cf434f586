import { type LedgerEntry, ledgerEntry } from '../gateway/wallet-view.ts';
import { requireWallet } from './accounts.ts';
import { clock } from './deps.ts';
import { InvalidInputError } from './errors.ts';
import { checkUsageRange, type UsageDeps, type UsageRange } from './usage.ts';
import { checkPositiveInteger } from './validate.ts';

/**
 * The most rows one CSV export holds. A range with more is refused before the first line
 * ({@link ExportTooLargeError}), never cut short: a spreadsheet that silently lacks rows would
 * add up wrong.
 */
export const USAGE_EXPORT_MAX_ROWS = 200_000;
/** Rows read per ledger page while exporting. */
const EXPORT_PAGE_ROWS = 1_000;

/** The columns of a usage CSV, in order. */
export const USAGE_CSV_COLUMNS = [
  'time',
  'type',
  'request_id',
  'key_id',
  'model',
  'fallback_from',
  'provider',
  'status',
  'outcome',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost_usd',
  'hold_usd',
  'amount_usd',
  'discount',
  'estimated',
  'overrun',
] as const;

/** A range with more rows than {@link USAGE_EXPORT_MAX_ROWS}: nothing was exported. */
export class ExportTooLargeError extends InvalidInputError {}

/** RFC 4180 lines end with CRLF. */
const EOL = '\r\n';
/** What a spreadsheet reads as the start of a formula (or may strip before one). */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell, quoted when it holds a quote, a comma or a line break (RFC 4180). */
const quoted = (cell: string): string => (NEEDS_QUOTES.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);

/**
 * A cell of text that may come from outside — a model name a client sent, a key id, a top-up id —
 * neutralised against spreadsheet formula injection: one starting with = + - @ tab or CR gets a
 * leading apostrophe, so the spreadsheet shows it as text. Numeric cells (tokens, amounts such as
 * -0.0105) are written by us from integers and are never touched, so they stay numbers.
 *
 * @example textCell('=HYPERLINK("http://x")') // `"'=HYPERLINK(""http://x"")"`
 */
export const textCell = (value: string): string => quoted(FORMULA_START.test(value) ? `'${value}` : value);

const numberCell = (value: string | number | null): string => (value === null ? '' : quoted(String(value)));

const blank = (count: number): string[] => Array<string>(count).fill('');

const booleanCell = (value: boolean): string => (value ? 'true' : 'false');

/** One ledger row as a CSV line (with its CRLF). */
export const csvLine = (entry: LedgerEntry): string => {
  const cells =
    entry.type === 'topup'
      ? [textCell(entry.at), 'topup', textCell(entry.id), ...blank(12), numberCell(entry.amount_usd), ...blank(3)]
      : entry.type === 'adjustment'
        ? [
            textCell(entry.at),
            'adjustment',
            textCell(entry.id),
            ...blank(12),
            numberCell(entry.amount_usd),
            ...blank(3),
          ]
        : [
            textCell(entry.at),
            'usage',
            textCell(entry.id),
            textCell(entry.key_id),
            textCell(entry.model),
            entry.fallback_from === null ? '' : textCell(entry.fallback_from),
            textCell(entry.provider),
            textCell(entry.status),
            entry.outcome === null ? '' : textCell(entry.outcome),
            numberCell(entry.usage?.input_tokens ?? null),
            numberCell(entry.usage?.output_tokens ?? null),
            numberCell(entry.usage?.cache_read_tokens ?? null),
            numberCell(entry.usage?.cache_write_tokens ?? null),
            numberCell(entry.cost_usd),
            numberCell(entry.hold_usd),
            numberCell(entry.amount_usd),
            numberCell(entry.discount),
            booleanCell(entry.estimated),
            booleanCell(entry.overrun),
          ];
  return `${cells.join(',')}${EOL}`;
};

const HEADER = `${USAGE_CSV_COLUMNS.join(',')}${EOL}`;

/**
 * The account's ledger rows in a range (same bounds and filters as {@link listUsage}) as CSV text,
 * newest first: the header line, then one chunk per page of rows. RFC 4180 (CRLF, quotes doubled),
 * amounts as exact USD decimals (`amount_usd` is what the row moves the balance by: minus a cost or
 * an open hold, plus a top-up), text cells neutralised against formula injection ({@link textCell}).
 *
 * Nothing is read until the first chunk is asked for, and every refusal comes from that first
 * `next()`, before any text: invalid input, an unknown account ({@link NotFoundError}), or a range
 * of more than `maxRows` rows (default and at most {@link USAGE_EXPORT_MAX_ROWS}; {@link ExportTooLargeError}) — the rows are
 * counted first (a COUNT query: the reads cost as much as reading the rows, but nothing is sent
 * back). A range open towards the future ends when the export starts, so rows written meanwhile
 * are left out and the count holds; only rows written into the past of the range during the export
 * could carry it over the maximum, and then it throws rather than go past.
 *
 * @example
 * const chunks = exportUsageCsv(stores, { accountId: 'acme', since: '2026-11-01', until: '2026-12-01' });
 * const first = await chunks.next(); // refusals surface here, before the response starts
 * // first.value === 'time,type,request_id,key_id,model,…\r\n'
 */
export async function* exportUsageCsv(
  deps: UsageDeps,
  query: UsageRange,
  { maxRows = USAGE_EXPORT_MAX_ROWS }: { maxRows?: number } = {},
): AsyncGenerator<string, void, undefined> {
  const { accountId, ...range } = checkUsageRange(query);
  checkPositiveInteger(maxRows, 'maxRows', USAGE_EXPORT_MAX_ROWS);
  await requireWallet(deps, accountId);
  const now = clock(deps).toISOString();
  if (range.until === undefined || range.until > now) range.until = now;
  const count = await deps.wallets.countLedger(accountId, range, maxRows);
  const tooMany = () =>
    new ExportTooLargeError(
      `The range holds more than ${maxRows} ledger rows, the most one export holds; ` +
        'export a shorter range (since/until), e.g. a month or a week at a time',
    );
  if (count > maxRows) throw tooMany();
  yield HEADER;
  let exported = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.wallets.ledger(accountId, {
      ...range,
      limit: EXPORT_PAGE_ROWS,
      ...(cursor === undefined ? {} : { cursor }),
    });
    exported += page.rows.length;
    if (exported > maxRows) throw tooMany();
    if (page.rows.length > 0) yield page.rows.map((row) => csvLine(ledgerEntry(row))).join('');
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}
