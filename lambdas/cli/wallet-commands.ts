import { parsePresentedKey } from '../gateway/keys.ts';
import type { TokenUsage, UsageEntry, WalletSummary } from '../gateway/wallet-view.ts';
import { type AccountChanges, checkAccountChanges, getAccount, updateAccount } from '../services/accounts.ts';
import { type AccountAudit, type AuditOfAll, auditAccount, auditAccounts } from '../services/audit.ts';
import { DEFAULT_OLDER_THAN_SECONDS, sweepHolds } from '../services/sweep.ts';
import {
  checkUsageQuery,
  listUsage,
  USAGE_EVALUATION_BUDGET,
  USAGE_LIMIT_DEFAULT,
  USAGE_LIMIT_MAX,
  type UsageListing,
  type UsageQuery,
} from '../services/usage.ts';
import {
  checkAccountId,
  checkPositiveInteger,
  parseCursor,
  parsePositiveInteger,
  parseSince,
  parseUntil,
} from '../services/validate.ts';
import { arg, type Command, defineCommand, type PrintView, str } from './command.ts';
import { UsageError, withAccountHint } from './errors.ts';
import { describeDiscount, table, usd } from './format.ts';
import { secretShape } from './secret-shape.ts';

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

const walletLine = (wallet: WalletSummary): string =>
  `balance ${usd(wallet.balance_usd)}, credit limit ${usd(wallet.credit_limit_usd)}, ` +
  `available ${usd(wallet.available_usd)}, discount ${describeDiscount(wallet.discount_ppm)}` +
  (wallet.alert_below_usd === null ? '' : `, low-balance alert below ${usd(wallet.alert_below_usd)}`);

export const accountsSetCommand: Command = defineCommand({
  name: 'accounts set',
  summary: "Set an account's credit limit, discount and/or low-balance alert",
  args: ['account'],
  synopsis: '[--credit-limit USD] [--discount FRACTION] [--alert-below USD|none]',
  description:
    'Sets how far below zero the account may go (its credit limit) and/or the fraction of list price it is charged. Requests may hold up to balance + credit limit. A discount applies to requests from then on (a running gateway picks it up within about 30 s); rows already in the ledger keep the price they were charged. --alert-below sets the low-balance alert: when a settle leaves the balance below it, every member of the account gets one e-mail (sent by the sweeper), again only after a top-up brings the balance back to it or above.',
  options: { 'credit-limit': { type: 'string' }, discount: { type: 'string' }, 'alert-below': { type: 'string' } },
  optionHelp: [
    ['--credit-limit USD', 'USD the account may go below zero, exact decimal, e.g. 50.00 (0 removes the credit)'],
    [
      '--discount FRACTION',
      'fraction of list price charged, more than 0 and at most 1, up to 6 decimals: 0.8 = 20% off, 1 = no discount',
    ],
    [
      '--alert-below USD|none',
      'e-mail the members once when the balance falls below this, exact decimal; none removes it',
    ],
  ],
  examples: [
    'npx tollgate accounts set acme --credit-limit 50',
    'npx tollgate accounts set acme --discount 0.8',
    'npx tollgate accounts set acme --credit-limit 0 --discount 1 --json',
    'npx tollgate accounts set acme --alert-below 5',
    'npx tollgate accounts set acme --alert-below none',
  ],
  run: async (context) => {
    const changes: AccountChanges = { accountId: checkAccountId(arg(context, 0)) };
    const creditLimit = str(context.values, 'credit-limit');
    const discount = str(context.values, 'discount');
    const alertBelow = str(context.values, 'alert-below');
    if (creditLimit === undefined && discount === undefined && alertBelow === undefined) {
      throw new UsageError(
        'Nothing to set: give --credit-limit USD, --discount FRACTION and/or --alert-below USD. Usage: npx tollgate accounts set <account> [--credit-limit USD] [--discount FRACTION] [--alert-below USD|none]',
      );
    }
    if (creditLimit !== undefined) changes.creditLimitUsd = creditLimit;
    if (discount !== undefined) changes.discount = discount;
    if (alertBelow !== undefined) changes.alertBelowUsd = alertBelow;
    checkAccountChanges(changes);
    return withAccountHint(updateAccount(await context.stores(), changes));
  },
  print: (r) => `Updated ${r.account}: ${walletLine(r)}`,
});

export const balanceCommand: Command = defineCommand({
  name: 'balance',
  summary: "Show an account's balance, credit limit, discount and alert",
  args: ['account'],
  description:
    "Shows the account's balance, credit limit, what requests may still hold (available = balance + credit limit) and its discount. Open holds are already taken out of the balance.",
  options: {},
  optionHelp: [],
  examples: ['npx tollgate balance acme', 'npx tollgate balance acme --json'],
  run: async (context) => {
    const accountId = checkAccountId(arg(context, 0));
    return getAccount(await context.stores(), { accountId });
  },
  print: (r) => `${r.account}: ${walletLine(r)}`,
});

const tokenColumns = (usage: TokenUsage | null): string[] =>
  usage
    ? [usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens].map(String)
    : ['', '', '', ''];

const costColumn = (entry: UsageEntry): string =>
  entry.cost_usd === null
    ? `hold ${usd(entry.hold_usd)}`
    : `${usd(entry.cost_usd)}${entry.estimated ? ' (estimated)' : ''}`;

const usageRows = (listing: UsageListing): string[][] =>
  listing.ledger.data.map((entry) => {
    if (entry.type === 'topup')
      return [entry.at, entry.id, '(top-up)', '', '', '', '', '', `+${usd(entry.amount_usd)}`];
    if (entry.type === 'adjustment')
      return [entry.at, entry.id, `(adjustment) ${entry.reason}`, '', '', '', '', '', usd(entry.amount_usd)];
    return [
      entry.at,
      entry.id,
      entry.fallback_from === null ? entry.model : `${entry.model} (fallback from ${entry.fallback_from})`,
      entry.outcome ?? 'pending',
      ...tokenColumns(entry.usage),
      costColumn(entry),
    ];
  });

/** A word for a shell, quoted unless it is plainly safe. */
const shellWord = (word: string): string =>
  /^[\w./:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;

/** The flags that select the listing's rows, as typed: for the "older rows" command line. */
const rangeFlags = (r: UsageListing): string =>
  [
    r.since === null ? '' : ` --since ${r.since}`,
    r.until === null ? '' : ` --until ${r.until}`,
    r.key_id === null ? '' : ` --key ${shellWord(r.key_id)}`,
    r.model === null ? '' : ` --model ${shellWord(r.model)}`,
  ].join('');

/** "since …, until …, of key …, of model …" for the messages. */
const rangeWords = (r: UsageListing): string =>
  [
    r.since === null ? '' : ` since ${r.since}`,
    r.until === null ? '' : ` until ${r.until}`,
    r.key_id === null ? '' : ` of key ${r.key_id}`,
    r.model === null ? '' : ` of model ${r.model}`,
  ].join('');

const printUsage = (r: UsageListing, view?: PrintView): string => {
  const range = rangeWords(r);
  const next =
    r.ledger.next_cursor === null
      ? undefined
      : `npx tollgate usage ${r.account}${rangeFlags(r)}${r.limit === USAGE_LIMIT_DEFAULT ? '' : ` --limit ${r.limit}`} --cursor '${r.ledger.next_cursor}'`;
  if (r.ledger.data.length === 0) {
    if (next === undefined) return `No ledger rows for ${r.account}${range}.`;
    return `No matching rows for ${r.account}${range} among the ${USAGE_EVALUATION_BUDGET} rows searched; search older rows: ${next}`;
  }
  const { totals } = r;
  const pending = totals.pending > 0 ? ` + ${usd(totals.held_usd)} held by ${totals.pending} pending` : '';
  const topUps = totals.top_ups > 0 ? `; top-ups ${usd(totals.top_ups_usd)}` : '';
  const lines = [
    table(
      ['TIME', 'REQUEST / TOP-UP', 'MODEL', 'OUTCOME', 'IN', 'OUT', 'CACHE READ', 'CACHE WRITE', 'USD'],
      usageRows(r),
      {
        wide: view?.wide,
        wideOnly: ['REQUEST / TOP-UP', 'CACHE READ', 'CACHE WRITE'],
        times: ['TIME'],
        maxWidth: { MODEL: 22 },
      },
    ),
    '',
    `Shown: ${plural(r.ledger.data.length, 'row')}${range}, ${plural(totals.requests, 'request')} costing ${usd(totals.cost_usd)}${pending}${topUps}`,
    `Tokens: ${totals.usage.input_tokens} in, ${totals.usage.output_tokens} out, ${totals.usage.cache_read_tokens} cache read, ${totals.usage.cache_write_tokens} cache write`,
  ];
  if (next !== undefined) lines.push(`Older rows: ${next}`);
  return lines.join('\n');
};

export const usageCommand: Command = defineCommand({
  name: 'usage',
  summary: "List an account's requests and top-ups, newest first",
  args: ['account'],
  synopsis: '[--since ISO-8601] [--until ISO-8601] [--key KEY_ID] [--model MODEL] [--limit N] [--cursor C]',
  description: `Lists the account's ledger newest first: each request with its model, outcome (or pending while its hold is open), normalized tokens (input excludes cache reads and writes) and cost (or the amount held), and each top-up. Costs marked estimated were billed by the documented estimate because the upstream reported no usage. The totals cover the rows shown. At most ${USAGE_LIMIT_MAX} rows per page; pass the printed cursor for older ones. With --key or --model only that key's or model's requests are listed (no top-ups), and one page searches at most ${USAGE_EVALUATION_BUDGET} rows: a page may then show fewer rows than --limit, or none, and still print a cursor to search on.`,
  options: {
    since: { type: 'string' },
    until: { type: 'string' },
    key: { type: 'string' },
    model: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
  optionHelp: [
    [
      '--since ISO-8601',
      'only rows at or after this date (midnight UTC) or time, e.g. 2026-11-01 or 2026-11-01T09:30:00Z',
    ],
    [
      '--until ISO-8601',
      'only rows before this date (midnight UTC) or time, e.g. 2026-12-01 (November and earlier); exclusive',
    ],
    ['--key KEY_ID', 'only the requests of this key, e.g. key_0123456789abcdef (npx tollgate keys list shows the ids)'],
    ['--model MODEL', 'only the requests billed to this model (the route that answered), e.g. gpt-4o'],
    ['--limit N', `rows per page, 1-${USAGE_LIMIT_MAX} (default ${USAGE_LIMIT_DEFAULT})`],
    ['--cursor C', 'the next_cursor of the previous page, with the same --since, --until, --key and --model'],
  ],
  examples: [
    'npx tollgate usage acme',
    'npx tollgate usage acme --since 2026-11-01 --until 2026-12-01 --limit 200',
    'npx tollgate usage acme --key key_0123456789abcdef --model gpt-4o',
    "npx tollgate usage acme --json --cursor '2026-11-02T10:00:00.000Z#req_01'",
  ],
  run: async (context) => {
    const query: UsageQuery = { accountId: checkAccountId(arg(context, 0)) };
    const since = str(context.values, 'since');
    const until = str(context.values, 'until');
    const keyId = str(context.values, 'key');
    const model = str(context.values, 'model');
    const limit = str(context.values, 'limit');
    const cursor = str(context.values, 'cursor');
    if (since !== undefined) query.since = parseSince(since, '--since');
    if (until !== undefined) query.until = parseUntil(until, '--until');
    if (keyId !== undefined) {
      // A secret pasted where the id belongs is refused without being echoed (as keys revoke does).
      if (!keyId.startsWith('key_') && (parsePresentedKey(keyId.trim()) || secretShape(keyId))) {
        throw new UsageError(
          '--key takes a key id (key_0123456789abcdef, see `npx tollgate keys list <account>`), not an API key',
        );
      }
      query.keyId = keyId;
    }
    if (model !== undefined) query.model = model;
    if (limit !== undefined) {
      query.limit = checkPositiveInteger(parsePositiveInteger(limit, '--limit'), '--limit', USAGE_LIMIT_MAX);
    }
    if (cursor !== undefined) query.cursor = parseCursor(cursor, '--cursor');
    checkUsageQuery(query);
    return withAccountHint(listUsage(await context.stores(), query));
  },
  print: printUsage,
});

/** The "AUDIT FAILED: …" message of an account whose balance differs from its ledger, or undefined. */
export const accountAuditFailure = (audit: AccountAudit): string | undefined => {
  if (audit.ok) return undefined;
  const holds = `${plural(audit.open_holds, 'open hold')}`;
  const busy = audit.stable ? '' : ' The balance kept changing during the audit (live traffic?): run it again.';
  const adjusted = audit.adjustments_usd === '0.00' ? '' : ` + adjustments ${usd(audit.adjustments_usd)}`;
  return (
    `AUDIT FAILED: the balance of ${audit.account} is ${usd(audit.balance_usd)} but its ledger adds up to ` +
    `${usd(audit.expected_balance_usd)} (top-ups ${usd(audit.top_ups_usd)}${adjusted} − settled costs ` +
    `${usd(audit.settled_costs_usd)} − ${holds} ${usd(audit.open_holds_usd)}): ` +
    `a difference of ${usd(audit.difference_usd)}.${busy}`
  );
};

/** The "AUDIT FAILED: …" message of an audit of many accounts, or undefined when all could be read and balance. */
export const auditOfAllFailure = (all: AuditOfAll): string | undefined => {
  if (all.ok) return undefined;
  const problems: string[] = [];
  if (all.failed > 0) {
    const differing = all.accounts
      .filter((audit) => !audit.ok)
      .map((audit) => `${audit.account} (${usd(audit.difference_usd)})`);
    problems.push(`${all.failed} of ${all.audited} accounts differ from their ledger: ${differing.join(', ')}`);
  }
  if (all.unreadable.length > 0) {
    const named = all.unreadable.map((entry) => entry.account).join(', ');
    problems.push(`${plural(all.unreadable.length, 'account')} could not be read: ${named}`);
  }
  return `AUDIT FAILED: ${problems.join('; ')}. Run npx tollgate audit <account> for the details.`;
};

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
        ...(audit.adjustments_usd === '0.00' ? [] : [['adjustments (refunds, disputes)', usd(audit.adjustments_usd)]]),
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

const printAuditOfAll = (all: AuditOfAll, view?: PrintView): string => {
  if (all.audited === 0 && all.unreadable.length === 0) return 'No accounts to audit.';
  const lines: string[] = [];
  if (all.audited > 0) {
    lines.push(
      table(['ACCOUNT', 'BALANCE', 'EXPECTED', 'DIFFERENCE', 'OPEN HOLDS', 'STATUS'], auditRows(all.accounts), {
        wide: view?.wide,
        maxWidth: { ACCOUNT: 32 },
      }),
      '',
    );
  }
  for (const entry of all.unreadable) lines.push(`UNREADABLE ${entry.account}: ${entry.message}`);
  if (all.unreadable.length > 0) lines.push('');
  lines.push(auditOfAllFailure(all) ?? `OK: all ${all.audited} accounts balance with their ledger.`);
  return lines.join('\n');
};

export const auditCommand: Command = defineCommand({
  name: 'audit',
  summary: "Prove an account's balance from its ledger (exit 1 if not)",
  args: [],
  optionalArgs: ['account'],
  synopsis: '| --all',
  description:
    'Reads every ledger row of the account and checks that its balance equals Σ top-ups − Σ settled costs − Σ open holds, to the nano-USD. Exits 0 when it does and 1 with AUDIT FAILED when it does not (the --json object then carries error.message). With --all, audits every account (a scan of the wallets table) and exits 1 if any differs; an account whose wallet or ledger holds a corrupt or out-of-range amount is reported as unreadable and the others are still audited (exit 1 at the end). Live traffic is allowed: an account whose balance moves during its audit is read again.',
  options: { all: { type: 'boolean' } },
  optionHelp: [['--all', 'audit every account instead of one']],
  examples: ['npx tollgate audit acme', 'npx tollgate audit --all --json'],
  run: async (context): Promise<AccountAudit | AuditOfAll> => {
    const all = context.values['all'] === true;
    const account = context.args[0];
    if (all === (account !== undefined)) {
      throw new UsageError('Give one account or --all. Usage: npx tollgate audit [<account>] | --all');
    }
    if (account !== undefined) return auditAccount(await context.stores(), { accountId: checkAccountId(account) });
    return auditAccounts(await context.stores(), { accountIds: await context.accountIds() });
  },
  print: (r, view) => ('accounts' in r ? printAuditOfAll(r, view) : printAccountAudit(r)),
  failure: (r) => ('accounts' in r ? auditOfAllFailure(r) : accountAuditFailure(r)),
});

export const sweepCommand: Command = defineCommand({
  name: 'sweep',
  summary: 'Settle holds left pending by requests that died',
  args: [],
  synopsis: '[--older-than SECONDS]',
  description: `Settles every hold pending for longer than --older-than seconds, as the scheduled sweeper does: the row becomes final with outcome expired_hold, charged the last checkpoint a long stream wrote (marked estimated), or cost 0 when it has none, and the rest of the hold goes back to the wallet. Each hold is settled exactly once however often this runs. The default (${DEFAULT_OLDER_THAN_SECONDS} s) is the proxy's maximum duration plus a margin; a shorter one may settle the hold of a request still running, which is then billed no more than its checkpoint.`,
  options: { 'older-than': { type: 'string' } },
  optionHelp: [
    ['--older-than SECONDS', `settle holds pending for longer than this (default ${DEFAULT_OLDER_THAN_SECONDS})`],
  ],
  examples: ['npx tollgate sweep', 'npx tollgate sweep --older-than 3600 --json'],
  run: async (context) => {
    const olderThan = str(context.values, 'older-than');
    const olderThanSeconds = olderThan === undefined ? undefined : parsePositiveInteger(olderThan, '--older-than');
    return sweepHolds(await context.stores(), olderThanSeconds === undefined ? {} : { olderThanSeconds });
  },
  print: (r) => {
    const already = r.already_settled > 0 ? `; ${r.already_settled} were settled meanwhile` : '';
    const leases =
      r.leases_closed > 0 ? ` Closed ${plural(r.leases_closed, 'credit lease')} of gateway instances that died.` : '';
    if (r.released === 0 && r.charged === 0 && r.already_settled === 0 && r.leases_closed === 0) {
      return `No holds pending since before ${r.cutoff_at} (older than ${r.older_than_seconds} s): nothing to release.`;
    }
    const charged = r.charged > 0 ? `, charged ${plural(r.charged, 'hold')} its last checkpoint` : '';
    return `Released ${plural(r.released, 'hold')}${charged} pending since before ${r.cutoff_at} (older than ${r.older_than_seconds} s)${already}.${leases}`;
  },
});
