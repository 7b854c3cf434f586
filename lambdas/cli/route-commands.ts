import { readFile } from 'node:fs/promises';
import { catalogueRoutes } from '../services/catalogue.ts';
import { InvalidInputError } from '../services/errors.ts';
import { buildRoute, type RouteSpec, type RouteView } from '../services/route-spec.ts';
import { deleteRoute, importRoutes, listRoutes, setRoute } from '../services/routes.ts';
import type { ProviderKind } from '../vocabulary.ts';
import { arg, type Command, type CommandContext, defineCommand, requireFlags, str } from './command.ts';
import { CommandError, UsageError } from './errors.ts';
import { table, usd } from './format.ts';
import { cacheTtlSeconds, credentialWarnings, flushGatewayCaches, withCacheEffect } from './gateway-control.ts';
import { routeJson, wholePage } from './json.ts';
import { maskedSecret, secretShape } from './secret-shape.ts';

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
    route.fallbacks?.join(',') ?? '',
    [route.baseUrl, route.credential && `credential ${route.credential}`].filter(Boolean).join(' '),
  ]);

/** A stored credential that is a secret, not a name (written before names were checked): never shown. */
const masked = (route: RouteView): RouteView =>
  route.credential !== undefined && secretShape(route.credential)
    ? { ...route, credential: maskedSecret(route.credential) }
    : route;

/** Refuses a secret where a credential NAME belongs, without ever echoing it. */
const checkCredentialIsName = (credential: string | undefined, where: string): void => {
  const shape = credential === undefined ? undefined : secretShape(credential);
  if (shape) {
    throw new UsageError(
      `${where} looks like a secret (${shape}): pass the NAME of the environment variable that holds it, e.g. --credential OPENAI_API_KEY`,
    );
  }
};

const routeFlush = (context: CommandContext) => flushGatewayCaches(context.target, context.env, 'routes');

/** The credential a route's requests read: its own, else its provider's default (none for echo). */
const credentialOf = async (route: RouteView): Promise<string | undefined> => {
  if (route.credential !== undefined) return route.credential;
  // Loaded on demand: the adapters cost start-up time to every other command.
  const { PROVIDERS } = await import('../providers/index.ts');
  return PROVIDERS[route.provider as ProviderKind]?.defaultCredential;
};

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
  const fallbacks = str(values, 'fallbacks');
  if (cacheRead !== undefined) spec.prices.cacheRead = cacheRead;
  if (cacheWrite !== undefined) spec.prices.cacheWrite = cacheWrite;
  if (upstreamModel !== undefined) spec.upstreamModel = upstreamModel;
  if (baseUrl !== undefined) spec.baseUrl = baseUrl;
  if (credential !== undefined) spec.credential = credential;
  if (values['allow-http'] === true) spec.allowHttp = true;
  if (values['allow-private'] === true) spec.allowPrivate = true;
  if (defaultMaxTokens !== undefined) spec.defaultMaxTokens = defaultMaxTokens;
  if (fallbacks !== undefined) {
    // Not parseList: it would drop a duplicate, which buildRoute refuses as a likely typo.
    spec.fallbacks = fallbacks
      .split(',')
      .map((model) => model.trim())
      .filter((model) => model !== '');
    if (spec.fallbacks.length === 0) {
      throw new UsageError(`Invalid --fallbacks '${fallbacks}': give at least one model, comma-separated`);
    }
  }
  return spec;
};

const FALLBACKS_HELP =
  'models of other routes tried in order when the upstream answers 429 or 5xx or cannot be reached, before the first byte; billed at the route that answered, and a request holds funds for the dearest';

export const routesSetCommand: Command = defineCommand({
  name: 'routes set',
  summary: 'Create or replace the route of a model',
  args: ['model'],
  synopsis:
    '--provider P --input-price USD --output-price USD [--upstream-model M] [--base-url URL [--allow-http] [--allow-private]] [--credential NAME] [--cache-read-price USD] [--cache-write-price USD] [--default-max-tokens N] [--fallbacks m1,m2]',
  description:
    'Routes a client-facing model id to an upstream provider, with its prices in USD per million tokens (exact decimals). Every field is replaced; omitted options are cleared. A fallback that has no route yet is written with a warning: requests skip it until its route is set. Through a running local gateway (npm start) the change is effective at once (the CLI drops its caches); on AWS, each Lambda instance caches routes for ' +
    `${cacheTtlSeconds('routes')} s (TOLLGATE_ROUTE_CACHE_TTL). Warns when the credential is not set where the gateway runs.`,
  options: {
    provider: { type: 'string' },
    'upstream-model': { type: 'string' },
    'base-url': { type: 'string' },
    credential: { type: 'string' },
    'allow-http': { type: 'boolean' },
    'allow-private': { type: 'boolean' },
    'input-price': { type: 'string' },
    'output-price': { type: 'string' },
    'cache-read-price': { type: 'string' },
    'cache-write-price': { type: 'string' },
    'default-max-tokens': { type: 'string' },
    fallbacks: { type: 'string' },
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
      'upstream base URL, https: OpenAI-style ends in /v1 (https://api.groq.com/openai/v1), Anthropic-style does not (default for openai/anthropic: OPENAI_BASE_URL / ANTHROPIC_BASE_URL, then the official URL). Plain http only to loopback under the local gateway; never a metadata or link-local address',
    ],
    ['--allow-http', 'let the base URL be plain http (the credential then crosses the network in clear)'],
    [
      '--allow-private',
      'let the upstream resolve to a private address: 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, loopback (checked on every connection)',
    ],
    [
      '--credential NAME',
      'the NAME of the upstream API key, never the key itself: upper case, ending in _API_KEY, not AWS_* or TOLLGATE_*; locally an environment variable of the gateway, on AWS the Secrets Manager secret tollgate/<stage>/NAME (default for openai/anthropic: OPENAI_API_KEY / ANTHROPIC_API_KEY)',
    ],
    ['--default-max-tokens N', 'max output tokens assumed (and held for) when a request names none'],
    ['--fallbacks m1,m2', FALLBACKS_HELP],
  ],
  examples: [
    'npx tollgate routes set claude-sonnet-4-6 --provider anthropic --input-price 3 --output-price 15 --cache-read-price 0.30 --cache-write-price 3.75',
    'npx tollgate routes set llama-3.3-70b --provider openai-compatible --base-url https://api.groq.com/openai/v1 --credential GROQ_API_KEY --upstream-model llama-3.3-70b-versatile --input-price 0.59 --output-price 0.79',
    'npx tollgate routes set gpt-5.2 --provider openai --input-price 1.75 --output-price 14 --fallbacks claude-sonnet-4-6,llama-3.3-70b',
  ],
  run: async (context) => {
    requireFlags(
      context.values,
      ['provider', 'input-price', 'output-price'],
      'npx tollgate routes set <model> --provider P --input-price USD --output-price USD [options]',
    );
    const spec = routeSpecFrom(context);
    checkCredentialIsName(spec.credential, 'The --credential value');
    buildRoute(spec);
    const set = await setRoute(await context.stores(), spec);
    const gateway_cache = await routeFlush(context);
    const credential = await credentialOf(set.route);
    const missing =
      credential === undefined
        ? []
        : await credentialWarnings(context.target, context.env, credential, set.route.model);
    return { ...set, warnings: [...set.warnings, ...missing], gateway_cache };
  },
  print: ({ route, created, gateway_cache }) => {
    const upstream = route.upstreamModel ? ` as ${route.upstreamModel}` : '';
    const fallbacks = route.fallbacks ? `; falls back to ${route.fallbacks.join(', then ')}` : '';
    return withCacheEffect(
      `${created ? 'Created' : 'Replaced'} route ${route.model} → ${route.provider}${upstream}: ${usd(route.prices.input)} in / ${usd(route.prices.output)} out per 1M tokens${fallbacks}`,
      gateway_cache,
      'routes',
    );
  },
  json: ({ route, ...rest }) => ({ route: routeJson(route), ...rest }),
  warnings: (r) => r.warnings,
});

export const routesListCommand: Command = defineCommand({
  name: 'routes list',
  summary: 'List the routes, their prices and fallbacks',
  args: [],
  description:
    'Lists every route with its prices in USD per million tokens and its fallbacks in the order tried. routes import reads the --json output back.',
  options: {},
  optionHelp: [],
  examples: ['npx tollgate routes list', 'npx tollgate routes list --json > routes.json'],
  run: async (context) => {
    const { routes } = await listRoutes(await context.stores());
    return { routes: routes.map(masked) };
  },
  print: ({ routes }, view) => {
    if (routes.length === 0) return 'No routes. Add some with: npx tollgate routes import lib/catalogue.json';
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
        'FALLBACKS',
        'UPSTREAM SETUP',
      ],
      routeRows(routes),
      {
        wide: view?.wide,
        wideOnly: ['UPSTREAM', 'CACHE READ', 'CACHE WRITE', 'MAX TOKENS', 'UPSTREAM SETUP'],
        maxWidth: { MODEL: 28, FALLBACKS: 32 },
      },
    );
  },
  json: ({ routes }) => wholePage(routes.map(routeJson)),
});

export const routesDeleteCommand: Command = defineCommand({
  name: 'routes delete',
  summary: 'Delete the route of a model',
  args: ['model'],
  description:
    'Deletes the route of a model; requests for it are then answered 404, and routes that list it as a fallback skip it (with a warning naming them).',
  options: {},
  optionHelp: [],
  examples: ['npx tollgate routes delete gpt-5-mini'],
  run: async (context) => {
    const deleted = await deleteRoute(await context.stores(), { model: arg(context, 0) });
    return { ...deleted, gateway_cache: await routeFlush(context) };
  },
  print: (r) => withCacheEffect(`Deleted route ${r.model}`, r.gateway_cache, 'routes'),
  warnings: (r) => r.warnings,
});

export const routesImportCommand: Command = defineCommand({
  name: 'routes import',
  summary: 'Create or replace routes from a catalogue file',
  args: ['file'],
  description:
    'Creates or replaces every route of a JSON catalogue in the format of lib/catalogue.json ({"routes": [{"model", "provider", "prices": {"input": "3.00", …}, "fallbacks": ["other-model"], …}]}), or of what routes list --json printed ({"data": [{"model", "provider", "prices": {"input_usd": "3.00", "input_nano": 3000000000, …}, …}]}). The whole file is checked first; on any problem nothing is written. Routes not in the file are left alone. A fallback that names neither a route of the file nor an existing route is imported with a warning.',
  options: {},
  optionHelp: [],
  examples: ['npx tollgate routes import lib/catalogue.json', 'npx tollgate routes import routes.json --json'],
  run: async (context) => {
    const file = arg(context, 0);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new CommandError(`Cannot read catalogue '${file}': ${reason}`);
    }
    const credentials = (json as { routes?: { credential?: unknown }[] } | null)?.routes;
    if (Array.isArray(credentials)) {
      for (const [index, route] of credentials.entries()) {
        const credential = (route as { credential?: unknown } | null)?.credential;
        if (typeof credential === 'string' && secretShape(credential)) {
          checkCredentialIsName(credential, `Route ${index + 1}'s credential in '${file}'`);
        }
      }
    }
    try {
      catalogueRoutes(json);
    } catch (error) {
      // The command line was right; the file's content is what is refused.
      if (error instanceof InvalidInputError) throw new CommandError(error.message);
      throw error;
    }
    const imported = await importRoutes(await context.stores(), { catalogue: json });
    return { ...imported, gateway_cache: await routeFlush(context) };
  },
  print: (r) =>
    withCacheEffect(
      `Imported ${r.imported} routes (${r.created} created, ${r.updated} replaced): ${r.models.join(', ')}`,
      r.gateway_cache,
      'routes',
    ),
  warnings: (r) => r.warnings,
});
