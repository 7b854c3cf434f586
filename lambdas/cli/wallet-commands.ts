import { UsageError } from '../services/errors.ts';
import { checkAccountId } from '../services/validate.ts';
import { checkAccountSettings, getBalance, setAccount, type WalletSummary } from './accounts.ts';
import {
  type AccountAudit,
  type AuditOfAll,
  accountAuditFailure,
  auditAccount,
  auditAccounts,
  auditOfAllFailure,
} from './audit.ts';
import { arg, type Command, defineCommand, str } from './command.ts';
import { describeDiscount, table, usd } from './format.ts';
import {
  checkUsageOptions,
  type LedgerEntry,
  listUsage,
  USAGE_LIMIT_DEFAULT,
  USAGE_LIMIT_MAX,
  type UsageListing,
} from './ledger.ts';
import { DEFAULT_OLDER_THAN_SECONDS, parseOlderThan, sweepHolds } from './sweep.ts';

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

const walletLine = (wallet: WalletSummary): string =>
  `balance ${usd(wallet.balance_usd)}, credit limit ${usd(wallet.credit_limit_usd)}, ` +
  `available ${usd(wallet.available_usd)}, discount ${describeDiscount(wallet.discount_ppm)}`;

export const accountsSetCommand: Command = defineCommand({
  name: 'accounts set',
  summary: "Set an account's credit limit and/or discount",
  args: ['account'],
  synopsis: '[--credit-limit USD] [--discount FRACTION]',
  description:
    'Sets how far below zero the account may go (its credit limit) and/or the fraction of list price it is charged. Requests may hold up to balance + credit limit. A discount applies to requests from then on (a running gateway picks it up within about 30 s); rows already in the ledger keep the price they were charged.',
  options: { 'credit-limit': { type: 'string' }, discount: { type: 'string' } },
  optionHelp: [
    ['--credit-limit USD', 'USD the account may go below zero, exact decimal, e.g. 50.00 (0 removes the credit)'],
    [
      '--discount FRACTION',
      'fraction of list price charged, more than 0 and at most 1, up to 6 decimals: 0.8 = 20% off, 1 = no discount',
    ],
  ],
  examples: [
    'tollgate accounts set acme --credit-limit 50',
    'tollgate accounts set acme --discount 0.8',
    'tollgate accounts set acme --credit-limit 0 --discount 1 --json',
  ],
  run: async (context) => {
    const settings: Parameters<typeof setAccount>[2] = {};
    const creditLimit = str(context.values, 'credit-limit');
    const discount = str(context.values, 'discount');
    if (creditLimit !== undefined) settings.creditLimit = creditLimit;
    if (discount !== undefined) settings.discount = discount;
    const account = checkAccountId(arg(context, 0));
    checkAccountSettings(settings);
    return setAccount(await context.stores(), account, settings);
  },
  print: (r) => `Updated ${r.account}: ${walletLine(r)}`,
});

export const balanceCommand: Command = defineCommand({
  name: 'balance',
  summary: "Show an account's balance, credit limit and discount",
  args: ['account'],
  description:
    "Shows the account's balance, credit limit, what requests may still hold (available = balance + credit limit) and its discount. Open holds are already taken out of the balance.",
  options: {},
  optionHelp: [],
  examples: ['tollgate balance acme', 'tollgate balance acme --json'],
  run: async (context) => {
    checkAccountId(arg(context, 0));
    return getBalance(await context.stores(), arg(context, 0));
  },
  print: (r) => `${r.account}: ${walletLine(r)}`,
});

const tokens = (entry: LedgerEntry, field: 'input' | 'output' | 'cache_read' | 'cache_write'): string =>
  entry.kind === 'usage' && entry.tokens ? entry.tokens[field].toString() : '';

const usageRows = (rows: readonly LedgerEntry[]): string[][] =>
  rows.map((entry) => {
    if (entry.kind === 'topup')
      return [entry.at, entry.top_up_id, '(top-up)', '', '', '', '', '', `+${usd(entry.amount_usd)}`];
    return [
      entry.at,
      entry.request_id,
      entry.fallback_from === null ? entry.model : `${entry.model} (fallback from ${entry.fallback_from})`,
      entry.outcome,
      tokens(entry, 'input'),
      tokens(entry, 'output'),
      tokens(entry, 'cache_read'),
      tokens(entry, 'cache_write'),
      entry.cost_usd === null
        ? `hold ${usd(entry.hold_usd)}`
        : `${usd(entry.cost_usd)}${entry.estimated ? ' (estimated)' : ''}`,
    ];
  });

const printUsage = (r: UsageListing): string => {
  const since = r.since === null ? '' : ` since ${r.since}`;
  if (r.rows.length === 0) return `No ledger rows for ${r.account}${since}.`;
  const { totals } = r;
  const pending = totals.pending > 0 ? ` + ${usd(totals.held_usd)} held by ${totals.pending} pending` : '';
  const topUps = totals.top_ups > 0 ? `; top-ups ${usd(totals.top_ups_usd)}` : '';
  const lines = [
    table(
      ['TIME', 'REQUEST / TOP-UP', 'MODEL', 'OUTCOME', 'IN', 'OUT', 'CACHE READ', 'CACHE WRITE', 'USD'],
      usageRows(r.rows),
    ),
    '',
    `Shown: ${plural(r.rows.length, 'row')}${since}, ${plural(totals.requests, 'request')} costing ${usd(totals.cost_usd)}${pending}${topUps}; ` +
      `tokens ${totals.tokens.input} in, ${totals.tokens.output} out, ${totals.tokens.cache_read} cache read, ${totals.tokens.cache_write} cache write`,
  ];
  if (r.next_cursor !== null) {
    const sinceFlag = r.since === null ? '' : ` --since ${r.since}`;
    const limitFlag = r.limit === USAGE_LIMIT_DEFAULT ? '' : ` --limit ${r.limit}`;
    lines.push(`Older rows: tollgate usage ${r.account}${sinceFlag}${limitFlag} --cursor '${r.next_cursor}'`);
  }
  return lines.join('\n');
};

export const usageCommand: Command = defineCommand({
  name: 'usage',
  summary: "List an account's requests and top-ups, newest first",
  args: ['account'],
  synopsis: '[--since ISO-8601] [--limit N] [--cursor C]',
  description: `Lists the account's ledger newest first: each request with its model, outcome (or pending while its hold is open), normalized tokens (input excludes cache reads and writes) and cost (or the amount held), and each top-up. Costs marked estimated were billed by the documented estimate because the upstream reported no usage. The totals cover the rows shown. At most ${USAGE_LIMIT_MAX} rows per page; pass the printed cursor for older ones.`,
  options: { since: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  optionHelp: [
    [
      '--since ISO-8601',
      'only rows at or after this date (midnight UTC) or time, e.g. 2026-11-01 or 2026-11-01T09:30:00Z',
    ],
    ['--limit N', `rows per page, 1-${USAGE_LIMIT_MAX} (default ${USAGE_LIMIT_DEFAULT})`],
    ['--cursor C', 'the next_cursor of the previous page, with the same --since'],
  ],
  examples: [
    'tollgate usage acme',
    'tollgate usage acme --since 2026-11-01 --limit 200',
    "tollgate usage acme --json --cursor '2026-11-02T10:00:00.000Z#req_01'",
  ],
  run: async (context) => {
    const options: Parameters<typeof listUsage>[2] = {};
    for (const flag of ['since', 'limit', 'cursor'] as const) {
      const value = str(context.values, flag);
      if (value !== undefined) options[flag] = value;
    }
    const account = checkAccountId(arg(context, 0));
    checkUsageOptions(options);
    return listUsage(await context.stores(), account, options);
  },
  print: printUsage,
});

const auditRows = (audits: readonly AccountAudit[]): string[][] =>
  audits.map((audit) => [
    audit.account,
    usd(audit.balance_usd),
    usd(audit.expected_balance_usd),
    usd(audit.difference_usd),
    `${audit.open_holds} (${usd(audit.open_holds_usd)})`,
    audit.ok ? 'ok' : 'FAILED',
  ]);

const printAccountAudit = (audit: AccountAudit): string =>
  [
    `Audit of ${audit.account} (${plural(audit.ledger_rows, 'ledger row')})`,
    ...table(
      ['', 'USD'],
      [
        ['top-ups', usd(audit.top_ups_usd)],
        ['settled costs', usd(audit.settled_costs_usd)],
        [`open holds (${audit.open_holds})`, usd(audit.open_holds_usd)],
        ['expected balance', usd(audit.expected_balance_usd)],
        ['actual balance', usd(audit.balance_usd)],
        ['difference', usd(audit.difference_usd)],
      ],
    )
      .split('\n')
      .slice(1)
      .map((line) => `  ${line}`),
    accountAuditFailure(audit) ?? 'OK: the balance equals top-ups − settled costs − open holds, to the nano-USD.',
  ].join('\n');

const printAuditOfAll = (all: AuditOfAll): string => {
  if (all.audited === 0) return 'No accounts to audit.';
  return [
    table(['ACCOUNT', 'BALANCE', 'EXPECTED', 'DIFFERENCE', 'OPEN HOLDS', 'STATUS'], auditRows(all.accounts)),
    '',
    auditOfAllFailure(all) ?? `OK: all ${all.audited} accounts balance with their ledger.`,
  ].join('\n');
};

export const auditCommand: Command = defineCommand({
  name: 'audit',
  summary: "Prove an account's balance from its ledger (exit 1 if it differs)",
  args: [],
  optionalArgs: ['account'],
  synopsis: '| --all',
  description:
    'Reads every ledger row of the account and checks that its balance equals Σ top-ups − Σ settled costs − Σ open holds, to the nano-USD. Exits 0 when it does and 1 with AUDIT FAILED when it does not (the --json object then carries error.message). With --all, audits every account (a scan of the wallets table) and exits 1 if any differs. Live traffic is allowed: an account whose balance moves during its audit is read again.',
  options: { all: { type: 'boolean' } },
  optionHelp: [['--all', 'audit every account instead of one']],
  examples: ['tollgate audit acme', 'tollgate audit --all --json'],
  run: async (context): Promise<AccountAudit | AuditOfAll> => {
    const all = context.values.all === true;
    const account = context.args[0];
    if (all === (account !== undefined)) {
      throw new UsageError('Give one account or --all. Usage: tollgate audit [<account>] | --all');
    }
    if (account !== undefined) return auditAccount(await context.stores(), checkAccountId(account));
    return auditAccounts(await context.stores(), await context.accountIds());
  },
  print: (r) => ('accounts' in r ? printAuditOfAll(r) : printAccountAudit(r)),
  failure: (r) => ('accounts' in r ? auditOfAllFailure(r) : accountAuditFailure(r)),
});

export const sweepCommand: Command = defineCommand({
  name: 'sweep',
  summary: 'Release holds left pending by requests that died',
  args: [],
  synopsis: '[--older-than SECONDS]',
  description: `Releases every hold pending for longer than --older-than seconds, as the scheduled sweeper does: the row becomes final with outcome expired_hold and cost 0, and the hold goes back to the wallet. Each hold is released exactly once however often this runs. The default (${DEFAULT_OLDER_THAN_SECONDS} s) is the proxy's maximum duration plus a margin; a shorter one may release the hold of a request still running, which then goes unbilled.`,
  options: { 'older-than': { type: 'string' } },
  optionHelp: [
    ['--older-than SECONDS', `release holds pending for longer than this (default ${DEFAULT_OLDER_THAN_SECONDS})`],
  ],
  examples: ['tollgate sweep', 'tollgate sweep --older-than 3600 --json'],
  run: async (context) => {
    const olderThan = str(context.values, 'older-than');
    parseOlderThan(olderThan);
    return sweepHolds(await context.stores(), olderThan === undefined ? {} : { olderThan });
  },
  print: (r) => {
    const already = r.already_settled > 0 ? `; ${r.already_settled} were settled meanwhile` : '';
    if (r.released === 0 && r.already_settled === 0) {
      return `No holds pending since before ${r.cutoff} (older than ${r.older_than_seconds} s): nothing to release.`;
    }
    return `Released ${plural(r.released, 'hold')} pending since before ${r.cutoff} (older than ${r.older_than_seconds} s)${already}.`;
  },
});
