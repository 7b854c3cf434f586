import type { Route } from '../vocabulary.ts';
import { catalogueRoutes } from './catalogue.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { NotFoundError } from './errors.ts';
import { buildRoute, fallbackWarnings, type RouteSpec, type RouteView, routeView } from './route-spec.ts';

export type RoutesDeps = ServiceDeps<'routes'>;

const stamp = (route: Route, existing: Route | undefined, now: Date): Route => {
  const time = now.toISOString();
  return existing
    ? { ...route, createdAt: existing.createdAt ?? time, updatedAt: time }
    : { ...route, createdAt: time };
};

/**
 * Creates or replaces the route for `spec.model` (every field is replaced; `createdAt` is kept).
 * `warnings` names fallbacks that have no route yet (written all the same).
 *
 * @example await setRoute(stores, { model: 'llama-3.3-70b', provider: 'openai-compatible',
 *   baseUrl: 'https://api.groq.com/openai/v1', credential: 'GROQ_API_KEY', prices: { input: '0.59', output: '0.79' },
 *   fallbacks: ['gpt-5-mini'] })
 */
export const setRoute = async (
  deps: RoutesDeps,
  spec: RouteSpec,
): Promise<{ route: RouteView; created: boolean; warnings: string[] }> => {
  const route = buildRoute(spec);
  const routes = await deps.routes.list();
  const existing = routes.find((candidate) => candidate.model === route.model);
  const stamped = stamp(route, existing, clock(deps));
  await deps.routes.put(stamped);
  const warnings = fallbackWarnings(route, new Set(routes.map((candidate) => candidate.model)));
  return { route: routeView(stamped), created: existing === undefined, warnings };
};

/** Every route, sorted by model, prices as decimal strings: the `routes` of a catalogue. */
export const listRoutes = async (deps: RoutesDeps): Promise<{ routes: RouteView[] }> => ({
  routes: (await deps.routes.list()).map(routeView),
});

/**
 * Deletes a model's route; an unknown model is a {@link NotFoundError}, so typos do not pass
 * silently. `warnings` names the routes that still list it as a fallback.
 */
export const deleteRoute = async (
  deps: RoutesDeps,
  { model }: { model: string },
): Promise<{ model: string; deleted: true; warnings: string[] }> => {
  if (!(await deps.routes.delete(model))) throw new NotFoundError('route', model, `No route for model '${model}'`);
  const referrers = (await deps.routes.list()).filter((route) => route.fallbacks?.includes(model));
  const warnings = referrers.map(
    (route) => `Route ${route.model} still lists '${model}' as a fallback; requests skip it until a route is set`,
  );
  return { model, deleted: true, warnings };
};

/**
 * Creates or replaces every route of a catalogue (parsed JSON in the `lib/catalogue.json` format).
 * The whole catalogue is checked first: on any problem nothing is written. Routes not in the
 * catalogue are left alone.
 *
 * @example await importRoutes(stores, { catalogue: JSON.parse(readFileSync('routes.json', 'utf8')) })
 * // { imported: 12, created: 12, updated: 0, models: ['claude-haiku-4-5', …], warnings: [] }
 */
export const importRoutes = async (
  deps: RoutesDeps,
  { catalogue }: { catalogue: unknown },
): Promise<{ imported: number; created: number; updated: number; models: string[]; warnings: string[] }> => {
  const routes = catalogueRoutes(catalogue);
  const now = clock(deps);
  const existing = new Map((await deps.routes.list()).map((route) => [route.model, route]));
  for (const route of routes) await deps.routes.put(stamp(route, existing.get(route.model), now));
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
