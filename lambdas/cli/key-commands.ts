import { describeLimit } from '../gateway/key-budget.ts';
import { hashKey, parsePresentedKey } from '../gateway/keys.ts';
import { formatUsd } from '../gateway/money.ts';
import {
  checkKeyChanges,
  checkKeyUpdate,
  checkNewKey,
  createKey,
  type KeySummary,
  type KeyUpdate,
  listKeys,
  type NewKey,
  revokeKey,
  updateKey,
} from '../services/keys.ts';
import { checkAccountId, parseAmount, parseList, parsePositiveInteger } from '../services/validate.ts';
import { LIMIT_RESETS, type LimitReset, MAX_BALANCE_NANO } from '../vocabulary.ts';
import { arg, type Command, type CommandContext, defineCommand, type OptionValues, str } from './command.ts';
import { UsageError, withAccountHint } from './errors.ts';
import { compactCount, table } from './format.ts';
import { type CacheEffect, cacheTtlSeconds, flushGatewayCaches, withCacheEffect } from './gateway-control.ts';
import { keyJson, wholePage } from './json.ts';
import { secretShape } from './secret-shape.ts';

/** The options of `keys create` as typed: every value a string. */
export interface NewKeyOptions {
  name?: string;
  /** Comma-separated model allow-list, e.g. "gpt-5.2,claude-sonnet-4-6". */
  models?: string;
  /** ISO-8601 date or date-time in the future. */
  expires?: string;
  /** Requests per minute, a whole number > 0, e.g. "60". */
  rpm?: string;
  /** Tokens (input + output + cache) per minute, a whole number > 0, e.g. "200000". */
  tpm?: string;
  /** USD the key may spend per --limit-reset period, e.g. "20". */
  limit?: string;
  /** daily, weekly, monthly or never (the default). */
  'limit-reset'?: string;
}

/**
 * The options of `keys set` as typed: `'none'` removes a limit, `'all'` the model allow-list,
 * `'never'` the expiry.
 */
export interface KeySettings {
  name?: string;
  /** Comma-separated model allow-list, or "all". */
  models?: string;
  /** ISO-8601 date or date-time in the future, or "never". */
  expires?: string;
  /** Requests per minute, or "none". */
  rpm?: string;
  /** Tokens per minute, or "none". */
  tpm?: string;
  /** USD per period, or "none". */
  limit?: string;
  /** daily, weekly, monthly or never. */
  'limit-reset'?: string;
}

const RATE_WHAT = { rpm: 'requests per minute (--rpm)', tpm: 'tokens per minute (--tpm)' } as const;

/** A per-minute limit or `'none'` (null: remove the limit). */
const parseRateOrNone = (text: string, field: 'rpm' | 'tpm'): number | null => {
  if (text.trim() === 'none') return null;
  try {
    return parsePositiveInteger(text, RATE_WHAT[field]);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}, or 'none' for no limit`);
  }
};

const LIMIT_WHAT = 'spend limit (--limit)';

/** `--limit USD` as nano-USD, or null for `none` (when `none` is allowed). */
const parseSpendLimit = (text: string, allowNone: boolean): number | null => {
  if (allowNone && text.trim() === 'none') return null;
  try {
    return parseAmount(text, LIMIT_WHAT, { positive: true, max: MAX_BALANCE_NANO });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}${allowNone ? ", or 'none' for no limit" : ''}`);
  }
};

const parseLimitReset = (text: string): LimitReset => {
  const reset = text.trim();
  if (!(LIMIT_RESETS as readonly string[]).includes(reset)) {
    throw new UsageError(`Invalid --limit-reset '${text}': use ${LIMIT_RESETS.join(', ')}`);
  }
  return reset as LimitReset;
};

/**
 * `keys create`'s options as the keys service's input for `accountId`, checked.
 *
 * @example parseNewKey('acme', { models: 'gpt-5.2', rpm: '60' }) // { accountId: 'acme', models: ['gpt-5.2'], rpm: 60 }
 */
export const parseNewKey = (accountId: string, options: NewKeyOptions, now = new Date()): NewKey => {
  const input: NewKey = { accountId };
  if (options.name !== undefined) input.name = options.name;
  if (options.models !== undefined) input.models = parseList(options.models, 'model list');
  if (options.expires !== undefined) input.expiresAt = options.expires;
  if (options.rpm !== undefined) input.rpm = parsePositiveInteger(options.rpm, RATE_WHAT.rpm);
  if (options.tpm !== undefined) input.tpm = parsePositiveInteger(options.tpm, RATE_WHAT.tpm);
  if (options.limit !== undefined) input.spendLimit = parseSpendLimit(options.limit, false) as number;
  if (options['limit-reset'] !== undefined) input.limitReset = parseLimitReset(options['limit-reset']);
  if (input.limitReset !== undefined && input.spendLimit === undefined) {
    throw new UsageError('--limit-reset needs --limit (the USD the key may spend per period)');
  }
  checkNewKey(input, now);
  return input;
};

/**
 * `keys set`'s options as the keys service's changes, checked: `null` removes.
 *
 * @example parseKeySettings({ rpm: '60', tpm: 'none', models: 'all' }) // { rpm: 60, tpm: null, models: null }
 */
export const parseKeySettings = (settings: KeySettings, now = new Date()): Omit<KeyUpdate, 'keyId'> => {
  const update: Omit<KeyUpdate, 'keyId'> = {};
  if (settings.name !== undefined) update.name = settings.name;
  if (settings.models !== undefined) {
    update.models = settings.models.trim() === 'all' ? null : parseList(settings.models, 'model list');
  }
  if (settings.expires !== undefined) update.expiresAt = settings.expires.trim() === 'never' ? null : settings.expires;
  if (settings.rpm !== undefined) update.rpm = parseRateOrNone(settings.rpm, 'rpm');
  if (settings.tpm !== undefined) update.tpm = parseRateOrNone(settings.tpm, 'tpm');
  if (settings.limit !== undefined) update.spendLimit = parseSpendLimit(settings.limit, true);
  if (settings['limit-reset'] !== undefined) update.limitReset = parseLimitReset(settings['limit-reset']);
  if (update.spendLimit === null && update.limitReset !== undefined) {
    throw new UsageError('--limit none removes the limit and its reset: give no --limit-reset with it');
  }
  if (Object.keys(update).length === 0) {
    throw new UsageError(
      'Nothing to change: give --limit, --limit-reset, --rpm, --tpm, --models, --expires and/or --name',
    );
  }
  checkKeyChanges(update, now);
  return update;
};

/** Said wherever a key changes: how soon gateways see it (DESIGN §6: the key cache's TTL). */
const CACHE_NOTE = `Through a running local gateway (npm start) the change is effective at once: the CLI drops its caches. On AWS, each Lambda instance caches keys for ${cacheTtlSeconds('keys')} s (TOLLGATE_KEY_CACHE_TTL), so a change applies there within that time.`;

const KEY_ID_HELP = 'key ids look like key_0123456789abcdef (see `npx tollgate keys list <account>`)';

/**
 * The key id argument, refused when it is a secret (never echoed): a Tollgate key's id is looked up
 * by its hash and named in the error, so the operator can act by id.
 */
const keyIdArg = async (context: CommandContext, verb: string): Promise<string> => {
  const given = arg(context, 0);
  if (given.startsWith('key_')) return given;
  const presented = parsePresentedKey(given.trim());
  if (presented) {
    const key = await (await context.stores()).keys.get(hashKey(presented.secret));
    const which = key
      ? `it is ${key.keyId} of account ${key.accountId}: npx tollgate keys ${verb} ${key.keyId}`
      : `it is no key of this database; ${KEY_ID_HELP}`;
    throw new UsageError(
      `That is an API key, not a key id: ${which}. ${verb === 'revoke' ? 'Revoke' : 'Change a key'} by id.`,
    );
  }
  const shape = secretShape(given);
  if (shape) {
    throw new UsageError(
      `The key id ${shape}, like a secret: ${KEY_ID_HELP}. ${verb === 'revoke' ? 'Revoke' : 'Change a key'} by id.`,
    );
  }
  return given;
};

const keyFlush = (context: CommandContext): Promise<CacheEffect> =>
  flushGatewayCaches(context.target, context.env, 'keys');

const RATE_HELP: [string, string][] = [
  ['--rpm N', 'at most N requests per minute, across every gateway instance'],
  ['--tpm N', 'at most N tokens (input + output + cache) per minute; counted as requests settle'],
];

const limit = (value: number | undefined): string => value?.toLocaleString('en-US') ?? 'unlimited';

/** "$20.00 per month", or "none". */
const spendLimit = (key: Pick<KeySummary, 'spendLimit' | 'limitReset'>): string =>
  key.spendLimit === undefined ? 'none' : describeLimit(key.spendLimit, key.limitReset ?? 'never');

const SHORT_PER: Record<LimitReset, string> = { daily: '/day', weekly: '/week', monthly: '/month', never: ' total' };

/** The same, short for tables: "$20.00/month", "$5.00 total", "none". */
const shortLimit = (key: Pick<KeySummary, 'spendLimit' | 'limitReset'>): string =>
  key.spendLimit === undefined ? 'none' : `$${formatUsd(key.spendLimit)}${SHORT_PER[key.limitReset ?? 'never']}`;

const LIMIT_HELP: [string, string][] = [
  ['--limit USD', 'the most this key may spend per period (held requests count), e.g. 20; over it: 402'],
  ['--limit-reset P', 'when the limit starts again (UTC): daily, weekly (Mondays), monthly or never'],
];

/** "600 rpm, 2M tpm, $20.00/month", or "none": every limit, short enough for the default table. */
const shortLimits = (key: KeySummary): string => {
  const limits = [
    key.rpm === undefined ? '' : `${compactCount(key.rpm)} rpm`,
    key.tpm === undefined ? '' : `${compactCount(key.tpm)} tpm`,
    key.spendLimit === undefined ? '' : shortLimit(key),
  ].filter(Boolean);
  return limits.length === 0 ? 'none' : limits.join(', ');
};

const keyRows = (keys: KeySummary[]): string[][] =>
  keys.map((key) => [
    key.keyId,
    key.name ?? '',
    `${key.prefix}…`,
    key.models?.join(',') ?? '(all)',
    limit(key.rpm),
    limit(key.tpm),
    shortLimit(key),
    key.createdAt,
    key.expiresAt ?? 'never',
    key.status,
  ]);

const describeKey = (key: KeySummary): string =>
  [
    `models ${key.models?.join(',') ?? '(all)'}`,
    `rpm ${limit(key.rpm)}`,
    `tpm ${limit(key.tpm)}`,
    `spend limit ${spendLimit(key)}`,
    `expires ${key.expiresAt ?? 'never'}`,
    `status ${key.status}`,
  ].join(', ');

const given = <Field extends string>(
  values: OptionValues,
  fields: readonly Field[],
): Partial<Record<Field, string>> => {
  const options: Partial<Record<Field, string>> = {};
  for (const field of fields) {
    const value = str(values, field);
    if (value !== undefined) options[field] = value;
  }
  return options;
};

export const keysCreateCommand: Command = defineCommand({
  name: 'keys create',
  summary: 'Mint a key for an account; the secret is shown once',
  args: ['account'],
  synopsis: '[--name N] [--models m1,m2] [--expires ISO-8601] [--rpm N] [--tpm N] [--limit USD [--limit-reset P]]',
  description:
    'Mints a key (sk-…) for an existing account. The secret is printed once and only its SHA-256 hash is stored: copy it now. Change its limits, models, expiry or name later with npx tollgate keys set.',
  options: {
    name: { type: 'string' },
    models: { type: 'string' },
    expires: { type: 'string' },
    rpm: { type: 'string' },
    tpm: { type: 'string' },
    limit: { type: 'string' },
    'limit-reset': { type: 'string' },
  },
  optionHelp: [
    ['--name N', 'a label to tell keys apart'],
    ['--models m1,m2', 'allow only these models (default: every routed model)'],
    ['--expires ISO-8601', 'refuse the key from this date or time on, e.g. 2027-01-31 or 2027-01-31T12:00:00Z'],
    ...RATE_HELP.map(([flag, help]): [string, string] => [flag, `${help} (default: no limit)`]),
    ...LIMIT_HELP.map(([flag, help]): [string, string] => [flag, `${help} (default: no limit; reset never)`]),
  ],
  examples: [
    'npx tollgate keys create acme --name laptop',
    'npx tollgate keys create acme --name cline --limit 20 --limit-reset monthly',
    'npx tollgate keys create acme --name ci --models gpt-5-mini,claude-haiku-4-5 --expires 2027-01-31',
    'npx tollgate keys create acme --name batch --rpm 60 --tpm 200000',
  ],
  run: async (context) => {
    const options: NewKeyOptions = given(context.values, [
      'name',
      'models',
      'expires',
      'rpm',
      'tpm',
      'limit',
      'limit-reset',
    ] as const);
    const input = parseNewKey(checkAccountId(arg(context, 0)), options);
    return withAccountHint(createKey(await context.stores(), input));
  },
  print: (r) => {
    const name = r.name ? ` (${r.name})` : '';
    const limits =
      r.rpm === undefined && r.tpm === undefined ? '' : ` Limits: rpm ${limit(r.rpm)}, tpm ${limit(r.tpm)}.`;
    const spend = r.spendLimit === undefined ? '' : ` It may spend ${spendLimit(r)}.`;
    return `Created key ${r.keyId}${name} for ${r.account}.${limits}${spend} Copy the secret now, it is not shown again:\n${r.key}`;
  },
  json: (r) => keyJson(r),
});

export const keysListCommand: Command = defineCommand({
  name: 'keys list',
  summary: "List an account's keys and their limits (never the secrets)",
  args: ['account'],
  description:
    "Lists the account's keys with their model allow-list, per-minute limits (RPM requests, TPM tokens) and status: active, revoked or expired. Secrets are never shown.",
  options: {},
  optionHelp: [],
  examples: ['npx tollgate keys list acme', 'npx tollgate keys list acme --json'],
  run: async (context) => {
    const accountId = checkAccountId(arg(context, 0));
    return withAccountHint(listKeys(await context.stores(), { accountId }));
  },
  print: (r, view) => {
    if (r.keys.length === 0) return `No keys for ${r.account}. Create one with: npx tollgate keys create ${r.account}`;
    return table(
      ['KEY ID', 'NAME', 'PREFIX', 'MODELS', 'RPM', 'TPM', 'SPEND LIMIT', 'LIMITS', 'CREATED', 'EXPIRES', 'STATUS'],
      r.keys.map((key) => {
        const [row = []] = keyRows([key]);
        return [...row.slice(0, 7), shortLimits(key), ...row.slice(7)];
      }),
      {
        wide: view?.wide,
        wideOnly: ['PREFIX', 'RPM', 'TPM', 'SPEND LIMIT', 'CREATED', 'EXPIRES'],
        narrowOnly: ['LIMITS'],
        maxWidth: { NAME: 14, MODELS: 20, LIMITS: 30 },
      },
    );
  },
  json: ({ keys }) => wholePage(keys.map(keyJson)),
});

export const keysSetCommand: Command = defineCommand({
  name: 'keys set',
  summary: "Change a key's rate limits, models, expiry or name",
  args: ['keyId'],
  synopsis:
    '[--limit USD|none] [--limit-reset P] [--rpm N|none] [--tpm N|none] [--models m1,m2|all] [--expires ISO-8601|never] [--name N]',
  description: `Changes a key by its id (key_…, as keys list shows it); what is not given is kept. Over a per-minute limit, the gateway answers 429 rate_limit_error with retry-after until the minute ends; over its spend limit, 402 billing_error "Key limit reached". A spend limit set or changed counts what the key already spent in the current period (not requests still running then). ${CACHE_NOTE}`,
  options: {
    limit: { type: 'string' },
    'limit-reset': { type: 'string' },
    rpm: { type: 'string' },
    tpm: { type: 'string' },
    models: { type: 'string' },
    expires: { type: 'string' },
    name: { type: 'string' },
  },
  optionHelp: [
    ['--limit USD|none', `${LIMIT_HELP[0]?.[1]}; none removes it`],
    ['--limit-reset P', `${LIMIT_HELP[1]?.[1]}; the new period counts what the key spent in it so far`],
    ...RATE_HELP.map(([flag, help]): [string, string] => [`${flag}|none`, `${help}; none removes the limit`]),
    ['--models m1,m2|all', 'allow only these models; all allows every routed model'],
    ['--expires ISO-8601|never', 'refuse the key from this date or time on; never removes the expiry'],
    ['--name N', 'a new label'],
  ],
  examples: [
    'npx tollgate keys set key_0123456789abcdef --limit 20 --limit-reset monthly',
    'npx tollgate keys set key_0123456789abcdef --limit none',
    'npx tollgate keys set key_0123456789abcdef --rpm 60 --tpm 200000',
    'npx tollgate keys set key_0123456789abcdef --tpm none',
    'npx tollgate keys set key_0123456789abcdef --models all --expires never --json',
  ],
  run: async (context) => {
    const settings: KeySettings = given(context.values, [
      'limit',
      'limit-reset',
      'rpm',
      'tpm',
      'models',
      'expires',
      'name',
    ] as const);
    const update: KeyUpdate = { keyId: await keyIdArg(context, 'set'), ...parseKeySettings(settings) };
    checkKeyUpdate(update);
    const updated = await updateKey(await context.stores(), update);
    return { ...updated, gateway_cache: await keyFlush(context) };
  },
  print: (r) => {
    const name = r.name ? ` (${r.name})` : '';
    return withCacheEffect(`Updated ${r.keyId}${name} of ${r.account}: ${describeKey(r)}`, r.gateway_cache, 'keys');
  },
  json: (r) => keyJson(r),
});

export const keysRevokeCommand: Command = defineCommand({
  name: 'keys revoke',
  summary: 'Revoke a key by its id',
  args: ['keyId'],
  description: `Revokes a key by its id (key_…, as keys list shows it). Requests with it are refused from then on. ${CACHE_NOTE}`,
  options: {},
  optionHelp: [],
  examples: ['npx tollgate keys revoke key_0123456789abcdef'],
  run: async (context) => {
    const revoked = await revokeKey(await context.stores(), { keyId: await keyIdArg(context, 'revoke') });
    return { ...revoked, gateway_cache: await keyFlush(context) };
  },
  print: (r) => withCacheEffect(`Revoked ${r.keyId} (${r.account}) at ${r.revokedAt ?? ''}`, r.gateway_cache, 'keys'),
  json: (r) => keyJson(r),
});
