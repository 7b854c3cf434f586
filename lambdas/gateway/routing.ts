import { InvalidRequestError, NotFoundError, PermissionError } from '../errors.ts';
import type { KeyRecord, Route } from '../vocabulary.ts';
import type { Authenticated } from './auth.ts';

/** A key is usable for a model when its allow-list (if any) names the model. */
export const keyAllowsModel = (key: KeyRecord, model: string): boolean =>
  key.models === undefined || key.models.length === 0 || key.models.includes(model);

/** The routes this key may call, in model order. */
export const modelsForKey = (routes: readonly Route[], key: KeyRecord): Route[] =>
  routes.filter((route) => keyAllowsModel(key, route.model));

const available = (routes: readonly Route[], key: KeyRecord): string => {
  const models = modelsForKey(routes, key).map((route) => route.model);
  return models.length > 0 ? models.join(', ') : '(none: ask the operator to allow this key a model)';
};

/**
 * Picks the route for a request: the key suffix's model wins over the body's; unknown models are
 * 404 naming what the key may use; models outside the key's allow-list are 403.
 */
export const resolveRoute = (routes: readonly Route[], auth: Authenticated, bodyModel: string | undefined): Route => {
  const { key, suffix } = auth;
  const model = suffix?.model ?? bodyModel;
  if (!model) {
    const error = new InvalidRequestError(`You must provide a model parameter. Available: ${available(routes, key)}`);
    error.param = 'model';
    throw error;
  }
  const route = routes.find((candidate) => candidate.model === model);
  if (!route || (suffix && suffix.provider !== route.provider)) {
    const named = suffix ? `${suffix.provider}/${suffix.model}` : model;
    const error = new NotFoundError(`No provider for model '${named}'. Available: ${available(routes, key)}`);
    error.code = 'model_not_found';
    error.param = 'model';
    throw error;
  }
  if (!keyAllowsModel(key, route.model)) {
    throw new PermissionError(
      `This API key may not use model '${route.model}'. Allowed: ${(key.models ?? []).join(', ')}`,
    );
  }
  return route;
};
