import { catalogueRoutes } from '../services/catalogue.ts';
import { CommandError } from '../services/errors.ts';
import { buildRoute, fallbackWarnings, type RouteSpec, type RouteView, routeView } from '../services/route-spec.ts';
import type { Stores } from '../store/index.ts';
import type { Route } from '../vocabulary.ts';

/**
 * Creates or replaces the route for `spec.model` (every field is replaced; `createdAt` is kept).
 * `warnings` names fallbacks that have no route yet (written all the same).
 *
 * @example await setRoute(stores, { model: 'llama-3.3-70b', provider: 'openai-compatible',
 *   baseUrl: 'https://api.groq.com/openai/v1', credential: 'GROQ_API_KEY', prices: { input: '0.59', output: '0.79' },
 *   fallbacks: ['gpt-5-mini'] })
 */
export const setRoute = async (
  stores: Stores,
  spec: RouteSpec,
  now = new Date(),
): Promise<{ route: RouteView; created: boolean; warnings: string[] }> => {
  const route = buildRoute(spec);
  const routes = await stores.routes.list();
  const existing = routes.find((candidate) => candidate.model === route.model);
  const stamped = stamp(route, existing, now);
  await stores.routes.put(stamped);
  const warnings = fallbackWarnings(route, new Set(routes.map((candidate) => candidate.model)));
  return { route: routeView(stamped), created: existing === undefined, warnings };
};

const stamp = (route: Route, existing: Route | undefined, now: Date): Route => {
  const time = now.toISOString();
  return existing
    ? { ...route, createdAt: existing.createdAt ?? time, updatedAt: time }
    : { ...route, createdAt: time };
};

/** Every route, sorted by model, prices as decimal strings: the `routes` of a catalogue. */
export const listRoutes = async (stores: Stores): Promise<{ routes: RouteView[] }> => ({
  routes: (await stores.routes.list()).map(routeView),
});

/**
 * Deletes a model's route; an unknown model is an error, so typos do not pass silently.
 * `warnings` names the routes that still list it as a fallback.
 */
export const deleteRoute = async (
  stores: Stores,
  model: string,
): Promise<{ model: string; deleted: true; warnings: string[] }> => {
  if (!(await stores.routes.delete(model))) throw new CommandError(`No route for model '${model}'`);
  const referrers = (await stores.routes.list()).filter((route) => route.fallbacks?.includes(model));
  const warnings = referrers.map(
    (route) => `Route ${route.model} still lists '${model}' as a fallback; requests skip it until a route is set`,
  );
  return { model, deleted: true, warnings };
};

/**
 * Creates or replaces every route of a catalogue (parsed JSON in the `lib/catalogue.json` format).
 * The whole catalogue is validated first: on any problem nothing is written. Routes not in the
 * catalogue are left alone.
 *
 * @example await importRoutes(stores, JSON.parse(readFileSync('routes.json', 'utf8')))
 * // { imported: 12, created: 12, updated: 0, models: ['claude-haiku-4-5', …], warnings: [] }
 */
export const importRoutes = async (
  stores: Stores,
  catalogue: unknown,
  now = new Date(),
): Promise<{ imported: number; created: number; updated: number; models: string[]; warnings: string[] }> => {
  const routes = catalogueRoutes(catalogue);
  const existing = new Map((await stores.routes.list()).map((route) => [route.model, route]));
  for (const route of routes) await stores.routes.put(stamp(route, existing.get(route.model), now));
  const created = routes.filter((route) => !existing.has(route.model)).length;
  const known = new Set([...existing.keys(), ...routes.map((route) => route.model)]);
  return {
    imported: routes.length,
    created,
    updated: routes.length - created,
    models: routes.map((route) => route.model),
    warnings: routes.flatMap((route) => fallbackWarnings(route, known)),
  };
};
