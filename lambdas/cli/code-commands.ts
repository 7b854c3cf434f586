import {
  type CodeSummary,
  checkNewCodes,
  createCodes,
  listCodes,
  MAX_CODES_PER_BATCH,
  type NewCodes,
  revokeCode,
} from '../services/codes.ts';
import { parsePositiveInteger } from '../services/validate.ts';
import { arg, type Command, defineCommand, requireFlags, str } from './command.ts';
import { UsageError } from './errors.ts';
import { table, usd } from './format.ts';
import { wholePage } from './json.ts';

const BATCH_ID = /^batch_[0-9a-f]{12}$/;

const codeRows = (codes: readonly CodeSummary[]): string[][] =>
  codes.map((code) => [
    code.code_id,
    `…${code.last4}`,
    code.batch_id,
    usd(code.amount_usd),
    code.created_at,
    code.expires_at ?? 'never',
    code.status,
    code.redeemed_by ?? '',
    code.redeemed_at ?? '',
    code.note ?? '',
  ]);

/**
 * `tollgate codes create --amount USD --count N [--expires ISO] [--note TEXT]`: mints a batch of
 * single-use redemption codes and prints them once.
 *
 * @example tollgate codes create --amount 25.00 --count 10 --expires 2027-01-31 --note "PyCon booth"
 */
export const codesCreateCommand: Command = defineCommand({
  name: 'codes create',
  summary: 'Mint single-use redemption codes; the codes are shown once',
  args: [],
  synopsis: '--amount USD --count N [--expires ISO-8601] [--note TEXT]',
  description: `Mints a batch of N redemption codes (TG-XXXXX-XXXXX-XXXXX-XXXXX, 100 random bits each), each worth the amount once. Hand them out; an account holder redeems one on the console's wallet page, which credits their wallet as a top-up (id code-<code id>). Only SHA-256 hashes are stored: copy the codes now, they are not shown again. At most ${MAX_CODES_PER_BATCH} codes per batch, each at most the top-up limit.`,
  options: {
    amount: { type: 'string' },
    count: { type: 'string' },
    expires: { type: 'string' },
    note: { type: 'string' },
  },
  optionHelp: [
    ['--amount USD', 'what each code credits, exact decimal USD, e.g. 25.00'],
    ['--count N', `how many codes (1-${MAX_CODES_PER_BATCH})`],
    ['--expires ISO-8601', 'refuse the codes from this date or time on, e.g. 2027-01-31 (default: never)'],
    ['--note TEXT', 'what the batch is for, shown by codes list'],
  ],
  examples: [
    'npx tollgate codes create --amount 25.00 --count 10',
    'npx tollgate codes create --amount 5 --count 200 --expires 2027-01-31 --note "PyCon booth" --json',
  ],
  run: async (context) => {
    requireFlags(context.values, ['amount', 'count'], 'npx tollgate codes create --amount USD --count N');
    const input: NewCodes = {
      amountUsd: str(context.values, 'amount') ?? '',
      count: parsePositiveInteger(str(context.values, 'count') ?? '', 'count'),
    };
    const expires = str(context.values, 'expires');
    if (expires !== undefined) input.expires = expires;
    const note = str(context.values, 'note');
    if (note !== undefined) input.note = note;
    checkNewCodes(input);
    return createCodes(await context.stores(), input);
  },
  print: (r) => {
    const expiry = r.expires_at ? `, expiring ${r.expires_at}` : '';
    return [
      `Created ${r.codes.length} code${r.codes.length === 1 ? '' : 's'} of ${usd(r.amount_usd)} each (batch ${r.batch_id}${expiry}). Copy them now, they are not shown again:`,
      ...r.codes.map(({ code }) => code),
    ].join('\n');
  },
});

export const codesListCommand: Command = defineCommand({
  name: 'codes list',
  summary: 'List redemption codes and their status (never the codes)',
  args: [],
  synopsis: '[--batch ID]',
  description:
    "Lists redemption codes, oldest first: id, last four characters, batch, amount, expiry, status (active, expired, redeemed or revoked) and who redeemed it when. The codes themselves are never shown: only their hashes are stored. Name one to 'codes revoke' by its id.",
  options: { batch: { type: 'string' } },
  optionHelp: [['--batch ID', 'only the codes of this batch (batch_…, as codes create printed it)']],
  examples: ['npx tollgate codes list', 'npx tollgate codes list --batch batch_0123456789ab --json'],
  run: async (context) => {
    const batchId = str(context.values, 'batch');
    if (batchId !== undefined && !BATCH_ID.test(batchId)) {
      throw new UsageError(`Invalid batch id '${batchId}': batch ids look like batch_0123456789ab`);
    }
    return listCodes(await context.stores(), batchId === undefined ? {} : { batchId });
  },
  print: (r, view) => {
    if (r.codes.length === 0) return 'No codes. Create some with: npx tollgate codes create --amount 25.00 --count 10';
    return table(
      ['CODE ID', 'ENDS', 'BATCH', 'AMOUNT', 'CREATED', 'EXPIRES', 'STATUS', 'REDEEMED BY', 'REDEEMED AT', 'NOTE'],
      codeRows(r.codes),
      {
        wide: view?.wide,
        wideOnly: ['BATCH', 'CREATED', 'REDEEMED AT', 'NOTE'],
        times: ['EXPIRES'],
        maxWidth: { AMOUNT: 12, 'REDEEMED BY': 24 },
      },
    );
  },
  json: ({ codes }) => wholePage(codes),
});

export const codesRevokeCommand: Command = defineCommand({
  name: 'codes revoke',
  summary: 'Revoke an unused redemption code',
  args: ['code'],
  description:
    'Revokes an active code, named by its id (code_…, as codes list shows it) or by the code itself: it can no longer be redeemed. A redeemed code cannot be revoked (its credit is a top-up in the ledger).',
  options: {},
  optionHelp: [],
  examples: ['npx tollgate codes revoke code_0123456789abcdef', 'npx tollgate codes revoke TG-7K2QM-…'],
  run: async (context) => revokeCode(await context.stores(), { code: arg(context, 0) }),
  print: (r) => `Revoked ${r.code_id} (…${r.last4}, ${usd(r.amount_usd)}, batch ${r.batch_id}).`,
});

export const CODES_COMMANDS: readonly Command[] = [codesCreateCommand, codesListCommand, codesRevokeCommand];
