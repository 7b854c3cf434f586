import { z } from 'zod';
import defaultCatalogue from '../../lib/catalogue.json' with { type: 'json' };
import { parseUsd } from '../gateway/money.ts';
import type { Route } from '../vocabulary.ts';
import { InvalidInputError } from './errors.ts';
import { buildRoute, type RouteSpec } from './route-spec.ts';

const decimal = z.string({ error: 'must be a decimal string such as "3.00" (not a JSON number)' });

const catalogueRouteSchema = z.strictObject({
  model: z.string(),
  provider: z.string(),
  upstreamModel: z.string().optional(),
  baseUrl: z.string().optional(),
  credential: z.string().optional(),
  allowHttp: z.boolean().optional(),
  allowPrivate: z.boolean().optional(),
  prices: z.strictObject({
    input: decimal,
    output: decimal,
    cacheRead: decimal.optional(),
    cacheWrite: decimal.optional(),
  }),
  defaultMaxTokens: z.number().int().positive().optional(),
  fallbacks: z.array(z.string()).optional(),
  // Present in older `tollgate routes list --json` output, so that output imports as is.
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
  _note: z.string().optional(),
});

const nano = z.number().int().optional();

/** A route as `tollgate routes list --json` prints it (cli/json.ts `routeJson`): snake_case, prices as `_usd`/`_nano` pairs. */
const listedRouteSchema = z.strictObject({
  model: z.string(),
  provider: z.string(),
  upstream_model: z.string().nullable().optional(),
  base_url: z.string().nullable().optional(),
  credential: z.string().nullable().optional(),
  allow_http: z.boolean().optional(),
  allow_private: z.boolean().optional(),
  prices: z.strictObject({
    input_usd: decimal,
    input_nano: nano,
    output_usd: decimal,
    output_nano: nano,
    cache_read_usd: decimal.optional(),
    cache_read_nano: nano,
    cache_write_usd: decimal.optional(),
    cache_write_nano: nano,
  }),
  default_max_tokens: z.number().int().positive().nullable().optional(),
  fallbacks: z.array(z.string()).optional(),
  created_at: z.string().nullable().optional(),
  updated_at: z.string().nullable().optional(),
});

/** The output of `tollgate routes list --json`, which `routes import` reads back as a catalogue. */
const routeListSchema = z.object({
  data: z.array(listedRouteSchema),
  has_more: z.boolean().optional(),
  next_cursor: z.string().nullable().optional(),
});

/**
 * The route catalogue format (`lib/catalogue.json`, `tollgate routes import`): prices are decimal
 * USD strings per million tokens. `routes import` also reads `tollgate routes list --json` back.
 */
export const catalogueSchema = z.object({
  _source: z.unknown().optional(),
  routes: z.array(catalogueRouteSchema),
});

export type Catalogue = z.infer<typeof catalogueSchema>;

/** A listed route's price: its `_usd` string, which its `_nano` (when given) must equal exactly. */
const listedPrice = (name: string, usd: string | undefined, nanoUsd: number | undefined): string | undefined => {
  if (usd === undefined || nanoUsd === undefined) return usd;
  let exact: number | undefined;
  try {
    exact = parseUsd(usd);
  } catch {
    return usd; // buildRoute names the malformed price
  }
  if (exact !== nanoUsd) throw new InvalidInputError(`prices.${name}_nano ${nanoUsd} is not ${name}_usd '${usd}'`);
  return usd;
};

/** A route of `routes list --json` in the catalogue format. */
const fromListed = (entry: z.infer<typeof listedRouteSchema>): z.infer<typeof catalogueRouteSchema> => {
  const { prices } = entry;
  const cacheRead = listedPrice('cache_read', prices.cache_read_usd, prices.cache_read_nano);
  const cacheWrite = listedPrice('cache_write', prices.cache_write_usd, prices.cache_write_nano);
  return {
    model: entry.model,
    provider: entry.provider,
    ...(entry.upstream_model == null ? {} : { upstreamModel: entry.upstream_model }),
    ...(entry.base_url == null ? {} : { baseUrl: entry.base_url }),
    ...(entry.credential == null ? {} : { credential: entry.credential }),
    ...(entry.allow_http === true ? { allowHttp: true } : {}),
    ...(entry.allow_private === true ? { allowPrivate: true } : {}),
    prices: {
      input: listedPrice('input', prices.input_usd, prices.input_nano) ?? prices.input_usd,
      output: listedPrice('output', prices.output_usd, prices.output_nano) ?? prices.output_usd,
      ...(cacheRead === undefined ? {} : { cacheRead }),
      ...(cacheWrite === undefined ? {} : { cacheWrite }),
    },
    ...(entry.default_max_tokens == null ? {} : { defaultMaxTokens: entry.default_max_tokens }),
    ...(entry.fallbacks === undefined || entry.fallbacks.length === 0 ? {} : { fallbacks: entry.fallbacks }),
  };
};

const toSpec = (entry: z.infer<typeof catalogueRouteSchema>): RouteSpec => {
  const { input, output, cacheRead, cacheWrite } = entry.prices;
  const spec: RouteSpec = { model: entry.model, provider: entry.provider, prices: { input, output } };
  if (cacheRead !== undefined) spec.prices.cacheRead = cacheRead;
  if (cacheWrite !== undefined) spec.prices.cacheWrite = cacheWrite;
  if (entry.upstreamModel !== undefined) spec.upstreamModel = entry.upstreamModel;
  if (entry.baseUrl !== undefined) spec.baseUrl = entry.baseUrl;
  if (entry.credential !== undefined) spec.credential = entry.credential;
  if (entry.allowHttp !== undefined) spec.allowHttp = entry.allowHttp;
  if (entry.allowPrivate !== undefined) spec.allowPrivate = entry.allowPrivate;
  if (entry.defaultMaxTokens !== undefined) spec.defaultMaxTokens = entry.defaultMaxTokens;
  if (entry.fallbacks !== undefined) spec.fallbacks = entry.fallbacks;
  return spec;
};

/**
 * Validates a catalogue (parsed JSON) and returns its routes with prices in nano-USD. Throws a
 * {@link InvalidInputError} naming every problem's place (`routes[3] (gpt-5.2): …`); nothing is partial.
 *
 * @example catalogueRoutes(JSON.parse(readFileSync('routes.json', 'utf8'))).length
 */
export const catalogueRoutes = (json: unknown): Route[] => {
  const listed = typeof json === 'object' && json !== null && 'data' in json;
  const parsed = listed ? routeListSchema.safeParse(json) : catalogueSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(top)'}: ${issue.message}`,
    );
    throw new InvalidInputError(`Invalid catalogue: ${problems.join('; ')}`);
  }
  const seen = new Set<string>();
  const entries: { raw: { model: string }; read: () => z.infer<typeof catalogueRouteSchema> }[] =
    'data' in parsed.data
      ? parsed.data.data.map((raw) => ({ raw, read: () => fromListed(raw) }))
      : parsed.data.routes.map((raw) => ({ raw, read: () => raw }));
  return entries.map(({ raw, read }, index) => {
    const where = `${listed ? 'data' : 'routes'}[${index}] (${raw.model})`;
    if (seen.has(raw.model)) throw new InvalidInputError(`Invalid catalogue: ${where}: model listed twice`);
    seen.add(raw.model);
    try {
      return buildRoute(toSpec(read()));
    } catch (error) {
      if (error instanceof InvalidInputError)
        throw new InvalidInputError(`Invalid catalogue: ${where}: ${error.message}`);
      throw error;
    }
  });
};

/** The default catalogue shipped in `lib/catalogue.json`. */
export const DEFAULT_CATALOGUE: unknown = defaultCatalogue;
