import { z } from 'zod';
import defaultCatalogue from '../../lib/catalogue.json' with { type: 'json' };
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
  // Present in `tollgate routes list --json` output, so that output imports as is.
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
  _note: z.string().optional(),
});

/**
 * The route catalogue format (`lib/catalogue.json`, `tollgate routes import`, and the `routes` of
 * `tollgate routes list --json`): prices are decimal USD strings per million tokens.
 */
export const catalogueSchema = z.object({
  _source: z.unknown().optional(),
  routes: z.array(catalogueRouteSchema),
});

export type Catalogue = z.infer<typeof catalogueSchema>;

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
  const parsed = catalogueSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(top)'}: ${issue.message}`,
    );
    throw new InvalidInputError(`Invalid catalogue: ${problems.join('; ')}`);
  }
  const seen = new Set<string>();
  return parsed.data.routes.map((entry, index) => {
    const where = `routes[${index}] (${entry.model})`;
    if (seen.has(entry.model)) throw new InvalidInputError(`Invalid catalogue: ${where}: model listed twice`);
    seen.add(entry.model);
    try {
      return buildRoute(toSpec(entry));
    } catch (error) {
      if (error instanceof InvalidInputError)
        throw new InvalidInputError(`Invalid catalogue: ${where}: ${error.message}`);
      throw error;
    }
  });
};

/** The default catalogue shipped in `lib/catalogue.json`. */
export const DEFAULT_CATALOGUE: unknown = defaultCatalogue;
