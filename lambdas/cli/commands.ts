import { readFile } from 'node:fs/promises';
import { createAccount, topUp } from './accounts.ts';
import { catalogueRoutes } from './catalogue.ts';
import { arg, type Command, type CommandContext, defineCommand, requireFlags, str } from './command.ts';
import { CommandError } from './errors.ts';
import { table, usd } from './format.ts';
import { createKey, type KeySummary, listKeys, revokeKey } from './keys.ts';
import { buildRoute, type RouteSpec, type RouteView } from './route-spec.ts';
import { deleteRoute, importRoutes, listRoutes, setRoute } from './routes.ts';
import { checkAccountId, parseAmount } from './validate.ts';
import { accountsSetCommand, auditCommand, balanceCommand, sweepCommand, usageCommand } from './wallet-commands.ts';

export type { Command, CommandContext, OptionValues } from './command.ts';

const keyRows = (keys: KeySummary[]): string[][] =>
  keys.map((key) => [
    key.keyId,
    key.name ?? '',
    `${key.prefix}…`,
    key.models?.join(',') ?? '(all)',
    key.createdAt,
    key.expiresAt ?? 'never',
    key.status,
  ]);

const routeRows = (routes: RouteView[]): string[][] =>
  routes.map((route) => [
    route.model,
    route.provider,
    route.upstreamModel ?? '',
    usd(route.prices.input),
    usd(route.prices.output),
    route.prices.cacheRead ? usd(route.prices.cacheRead) : '',
    route.prices.cacheWrite ? usd(route.prices.cacheWrite) : '',
    route.defaultMaxTokens?.toString() ?? '',
    [route.baseUrl, route.credential && `credential ${route.credential}`].filter(Boolean).join(' '),
  ]);

const routeSpecFrom = (context: CommandContext): RouteSpec => {
  const { values } = context;
  const spec: RouteSpec = {
    model: arg(context, 0),
    provider: str(values, 'provider') ?? '',
    prices: { input: str(values, 'input-price') ?? '', output: str(values, 'output-price') ?? '' },
  };
  const cacheRead = str(values, 'cache-read-price');
  const cacheWrite = str(values, 'cache-write-price');
  const upstreamModel = str(values, 'upstream-model');
  const baseUrl = str(values, 'base-url');
  const credential = str(values, 'credential');
  const defaultMaxTokens = str(values, 'default-max-tokens');
  if (cacheRead !== undefined) spec.prices.cacheRead = cacheRead;
  if (cacheWrite !== undefined) spec.prices.cacheWrite = cacheWrite;
  if (upstreamModel !== undefined) spec.upstreamModel = upstreamModel;
  if (baseUrl !== undefined) spec.baseUrl = baseUrl;
  if (credential !== undefined) spec.credential = credential;
  if (defaultMaxTokens !== undefined) spec.defaultMaxTokens = defaultMaxTokens;
  return spec;
};

export const COMMANDS: readonly Command[] = [
  defineCommand({
    name: 'accounts create',
    summary: 'Create an account (a wallet with balance 0)',
    args: ['account'],
    description:
      "Creates the account's wallet with a zero balance. Account ids are 1-64 characters of A-Z a-z 0-9 . _ -",
    options: {},
    optionHelp: [],
    examples: ['tollgate accounts create acme'],
    run: async (context) => {
      checkAccountId(arg(context, 0));
      return createAccount(await context.stores(), arg(context, 0));
    },
    print: (r) =>
      `Created account ${r.account} (balance ${usd(r.balance_usd)}). Top it up with: tollgate topup ${r.account} 10.00`,
  }),
  accountsSetCommand,
  defineCommand({
    name: 'keys create',
    summary: 'Mint a key for an account; the secret is shown once',
    args: ['account'],
    synopsis: '[--name N] [--models m1,m2] [--expires ISO-8601]',
    description:
      'Mints a key (sk-…) for an existing account. The secret is printed once and only its SHA-256 hash is stored: copy it now.',
    options: { name: { type: 'string' }, models: { type: 'string' }, expires: { type: 'string' } },
    optionHelp: [
      ['--name N', 'a label to tell keys apart'],
      ['--models m1,m2', 'allow only these models (default: every routed model)'],
      ['--expires ISO-8601', 'refuse the key from this date or time on, e.g. 2027-01-31 or 2027-01-31T12:00:00Z'],
    ],
    examples: [
      'tollgate keys create acme --name laptop',
      'tollgate keys create acme --name ci --models gpt-5-mini,claude-haiku-4-5 --expires 2027-01-31',
    ],
    run: async (context) => {
      const options: Parameters<typeof createKey>[2] = {};
      for (const flag of ['name', 'models', 'expires'] as const) {
        const value = str(context.values, flag);
        if (value !== undefined) options[flag] = value;
      }
      checkAccountId(arg(context, 0));
      return createKey(await context.stores(), arg(context, 0), options);
    },
    print: (r) => {
      const name = r.name ? ` (${r.name})` : '';
      return `Created key ${r.keyId}${name} for ${r.account}. Copy the secret now, it is not shown again:\n${r.key}`;
    },
  }),
  defineCommand({
    name: 'keys list',
    summary: "List an account's keys (never the secrets)",
    args: ['account'],
    description: "Lists the account's keys with their status: active, revoked or expired. Secrets are never shown.",
    options: {},
    optionHelp: [],
    examples: ['tollgate keys list acme', 'tollgate keys list acme --json'],
    run: async (context) => {
      checkAccountId(arg(context, 0));
      return listKeys(await context.stores(), arg(context, 0));
    },
    print: (r) => {
      if (r.keys.length === 0) return `No keys for ${r.account}. Create one with: tollgate keys create ${r.account}`;
      return table(['KEY ID', 'NAME', 'PREFIX', 'MODELS', 'CREATED', 'EXPIRES', 'STATUS'], keyRows(r.keys));
    },
  }),
  defineCommand({
    name: 'keys revoke',
    summary: 'Revoke a key by its id',
    args: ['keyId'],
    description: 'Revokes a key by its id (key_…, as keys list shows it). Requests with it are refused from then on.',
    options: {},
    optionHelp: [],
    examples: ['tollgate keys revoke key_0123456789abcdef'],
    run: async (context) => revokeKey(await context.stores(), arg(context, 0)),
    print: (r) => `Revoked ${r.keyId} (${r.account}) at ${r.revokedAt ?? ''}`,
  }),
  defineCommand({
    name: 'topup',
    summary: "Credit an account's balance, idempotent per --id",
    args: ['account', 'usd'],
    synopsis: '[--id ID]',
    description:
      'Credits an amount in USD (exact decimal, e.g. 12.50) to the account. Give --id (an invoice or payment id) to make retries safe: the same id again changes nothing, the same id with another amount is refused.',
    options: { id: { type: 'string' } },
    optionHelp: [['--id ID', 'idempotency id for this top-up (default: a new random id)']],
    examples: ['tollgate topup acme 25.00 --id invoice-2026-11-001', 'tollgate topup acme 5'],
    run: async (context) => {
      checkAccountId(arg(context, 0));
      parseAmount(arg(context, 1), 'amount', { positive: true });
      const id = str(context.values, 'id');
      return topUp(await context.stores(), arg(context, 0), arg(context, 1), id === undefined ? {} : { id });
    },
    print: (r) =>
      r.applied
        ? `Credited ${usd(r.amount_usd)} to ${r.account} (top-up ${r.topUpId}). Balance: ${usd(r.balance_usd)}`
        : `Top-up ${r.topUpId} was already applied; nothing changed. Balance of ${r.account}: ${usd(r.balance_usd)}`,
  }),
  balanceCommand,
  usageCommand,
  auditCommand,
  sweepCommand,
  defineCommand({
    name: 'routes set',
    summary: 'Create or replace the route of a model',
    args: ['model'],
    synopsis:
      '--provider P --input-price USD --output-price USD [--upstream-model M] [--base-url URL] [--credential NAME] [--cache-read-price USD] [--cache-write-price USD] [--default-max-tokens N]',
    description:
      'Routes a client-facing model id to an upstream provider, with its prices in USD per million tokens (exact decimals). Every field is replaced; omitted options are cleared.',
    options: {
      provider: { type: 'string' },
      'upstream-model': { type: 'string' },
      'base-url': { type: 'string' },
      credential: { type: 'string' },
      'input-price': { type: 'string' },
      'output-price': { type: 'string' },
      'cache-read-price': { type: 'string' },
      'cache-write-price': { type: 'string' },
      'default-max-tokens': { type: 'string' },
    },
    optionHelp: [
      ['--provider P', 'openai, anthropic, openai-compatible (needs --base-url) or echo (built in, no network)'],
      ['--input-price USD', 'USD per million input tokens, e.g. 3.00'],
      ['--output-price USD', 'USD per million output tokens, e.g. 15.00'],
      ['--cache-read-price USD', 'USD per million cached input tokens read'],
      ['--cache-write-price USD', 'USD per million tokens written to the prompt cache (Anthropic)'],
      ['--upstream-model M', 'the model id sent upstream (default: the model id itself)'],
      [
        '--base-url URL',
        'upstream base URL, http(s): OpenAI-style ends in /v1 (https://api.groq.com/openai/v1), Anthropic-style does not (default for openai/anthropic: OPENAI_BASE_URL / ANTHROPIC_BASE_URL, then the official URL)',
      ],
      [
        '--credential NAME',
        'the NAME of the upstream API key, never the key itself: locally an environment variable of the gateway, on AWS a Secrets Manager secret (default for openai/anthropic: OPENAI_API_KEY / ANTHROPIC_API_KEY)',
      ],
      ['--default-max-tokens N', 'max output tokens assumed (and held for) when a request names none'],
    ],
    examples: [
      'tollgate routes set claude-sonnet-4-6 --provider anthropic --input-price 3 --output-price 15 --cache-read-price 0.30 --cache-write-price 3.75',
      'tollgate routes set llama-3.3-70b --provider openai-compatible --base-url https://api.groq.com/openai/v1 --credential GROQ_API_KEY --upstream-model llama-3.3-70b-versatile --input-price 0.59 --output-price 0.79',
    ],
    run: async (context) => {
      requireFlags(
        context.values,
        ['provider', 'input-price', 'output-price'],
        'tollgate routes set <model> --provider P --input-price USD --output-price USD [options]',
      );
      const spec = routeSpecFrom(context);
      buildRoute(spec);
      return setRoute(await context.stores(), spec);
    },
    print: ({ route, created }) => {
      const upstream = route.upstreamModel ? ` as ${route.upstreamModel}` : '';
      return `${created ? 'Created' : 'Replaced'} route ${route.model} → ${route.provider}${upstream}: ${usd(route.prices.input)} in / ${usd(route.prices.output)} out per 1M tokens`;
    },
  }),
  defineCommand({
    name: 'routes list',
    summary: 'List the routes and their prices',
    args: [],
    description:
      'Lists every route with its prices in USD per million tokens. The --json output is a catalogue: routes import reads it back.',
    options: {},
    optionHelp: [],
    examples: ['tollgate routes list', 'tollgate routes list --json > routes.json'],
    run: async (context) => listRoutes(await context.stores()),
    print: ({ routes }) => {
      if (routes.length === 0) return 'No routes. Add some with: tollgate routes import lib/catalogue.json';
      return table(
        [
          'MODEL',
          'PROVIDER',
          'UPSTREAM',
          'IN/1M',
          'OUT/1M',
          'CACHE READ',
          'CACHE WRITE',
          'MAX TOKENS',
          'UPSTREAM SETUP',
        ],
        routeRows(routes),
      );
    },
  }),
  defineCommand({
    name: 'routes delete',
    summary: 'Delete the route of a model',
    args: ['model'],
    description: 'Deletes the route of a model; requests for it are then answered 404.',
    options: {},
    optionHelp: [],
    examples: ['tollgate routes delete gpt-5-mini'],
    run: async (context) => deleteRoute(await context.stores(), arg(context, 0)),
    print: (r) => `Deleted route ${r.model}`,
  }),
  defineCommand({
    name: 'routes import',
    summary: 'Create or replace routes from a catalogue file',
    args: ['file'],
    description:
      'Creates or replaces every route of a JSON catalogue in the format of lib/catalogue.json ({"routes": [{"model", "provider", "prices": {"input": "3.00", …}, …}]}). The whole file is checked first; on any problem nothing is written. Routes not in the file are left alone.',
    options: {},
    optionHelp: [],
    examples: ['tollgate routes import lib/catalogue.json', 'tollgate routes import routes.json --json'],
    run: async (context) => {
      const file = arg(context, 0);
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
        throw new CommandError(`Cannot read catalogue '${file}': ${reason}`);
      }
      catalogueRoutes(json);
      return importRoutes(await context.stores(), json);
    },
    print: (r) => `Imported ${r.imported} routes (${r.created} created, ${r.updated} replaced): ${r.models.join(', ')}`,
  }),
];
