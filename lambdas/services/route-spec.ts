import { formatUsd } from '../gateway/money.ts';
import { baseUrlRefusal } from '../gateway/reach.ts';
import {
  CREDENTIAL_NAME_RULE,
  isCredentialName,
  isProviderKind,
  PROVIDER_KINDS,
  type Prices,
  type Route,
} from '../vocabulary.ts';
import { InvalidInputError } from './errors.ts';
import { parseAmount, parsePositiveInteger } from './validate.ts';

/** Prices as decimal USD strings per million tokens, e.g. `{ input: "3.00", output: "15.00" }`. */
export interface PriceSpec {
  input: string;
  output: string;
  cacheRead?: string;
  cacheWrite?: string;
}

/** A route as an operator writes it (CLI flags or a catalogue entry): prices are decimal strings. */
export interface RouteSpec {
  model: string;
  provider: string;
  upstreamModel?: string;
  baseUrl?: string;
  credential?: string;
  /** The base URL may be plain http (otherwise https, or http to loopback for the local gateway). */
  allowHttp?: boolean;
  /** The upstream may resolve to a private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, loopback). */
  allowPrivate?: boolean;
  prices: PriceSpec;
  defaultMaxTokens?: number | string;
  /** Models of other routes tried in order when this one's upstream fails before answering. */
  fallbacks?: string[];
}

/** A stored route as listings print it: the {@link RouteSpec} shape plus timestamps. */
export interface RouteView extends RouteSpec {
  defaultMaxTokens?: number;
  createdAt?: string;
  updatedAt?: string;
}

const MODEL_ID = /^\S{1,256}$/;

const checkBaseUrl = (text: string, spec: RouteSpec): string => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInputError(
      `Invalid base URL '${text}': give an absolute https URL, e.g. https://api.groq.com/openai/v1`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(`Invalid base URL '${text}': only http and https are supported`);
  }
  if (url.username || url.password) {
    throw new InvalidInputError(`Invalid base URL '${text}': credentials belong in a named credential, not in the URL`);
  }
  // Loopback is accepted as for the local gateway: on AWS the proxy refuses it (without --allow-private).
  const refusal = baseUrlRefusal(url, {
    local: true,
    allowHttp: spec.allowHttp === true,
    allowPrivate: spec.allowPrivate === true,
  });
  if (refusal !== undefined) throw new InvalidInputError(`Refused base URL '${text}': ${refusal}`);
  return text;
};

const parsePrices = (prices: PriceSpec): Prices => {
  const parsed: Prices = {
    input: parseAmount(prices.input, 'input price'),
    output: parseAmount(prices.output, 'output price'),
  };
  if (prices.cacheRead !== undefined) parsed.cacheRead = parseAmount(prices.cacheRead, 'cache read price');
  if (prices.cacheWrite !== undefined) parsed.cacheWrite = parseAmount(prices.cacheWrite, 'cache write price');
  return parsed;
};

/**
 * Validates a route as written by an operator and converts its prices to nano-USD per million
 * tokens, exactly. Throws {@link InvalidInputError} naming the first problem.
 *
 * @example buildRoute({ model: 'gpt-5.2', provider: 'openai', prices: { input: '1.75', output: '14' } })
 * // { model: 'gpt-5.2', provider: 'openai', prices: { input: 1750000000, output: 14000000000 } }
 */
export const buildRoute = (spec: RouteSpec): Route => {
  if (!MODEL_ID.test(spec.model))
    throw new InvalidInputError(`Invalid model id '${spec.model}': 1-256 characters, no spaces`);
  if (!isProviderKind(spec.provider)) {
    throw new InvalidInputError(`Unknown provider '${spec.provider}': use one of ${PROVIDER_KINDS.join(', ')}`);
  }
  const route: Route = { model: spec.model, provider: spec.provider, prices: parsePrices(spec.prices) };
  if (spec.upstreamModel !== undefined) {
    if (!MODEL_ID.test(spec.upstreamModel)) {
      throw new InvalidInputError(`Invalid upstream model '${spec.upstreamModel}': 1-256 characters, no spaces`);
    }
    route.upstreamModel = spec.upstreamModel;
  }
  if (spec.provider === 'echo' && (spec.baseUrl !== undefined || spec.credential !== undefined)) {
    throw new InvalidInputError(`Provider 'echo' is built in: it takes no base URL and no credential`);
  }
  if (spec.baseUrl !== undefined) route.baseUrl = checkBaseUrl(spec.baseUrl, spec);
  if (spec.allowHttp === true) route.allowHttp = true;
  if (spec.allowPrivate === true) route.allowPrivate = true;
  if (spec.provider === 'openai-compatible' && route.baseUrl === undefined) {
    throw new InvalidInputError(`Provider 'openai-compatible' needs a base URL, e.g. https://api.groq.com/openai/v1`);
  }
  if (spec.credential !== undefined) {
    if (!isCredentialName(spec.credential)) {
      throw new InvalidInputError(
        `Invalid credential name '${spec.credential}': the name of an environment variable or secret, not the key itself; ${CREDENTIAL_NAME_RULE}`,
      );
    }
    route.credential = spec.credential;
  }
  if (spec.defaultMaxTokens !== undefined) {
    route.defaultMaxTokens = parsePositiveInteger(String(spec.defaultMaxTokens), 'default max tokens');
  }
  if (spec.fallbacks !== undefined && spec.fallbacks.length > 0) route.fallbacks = checkFallbacks(spec);
  return route;
};

const checkFallbacks = ({ model, fallbacks = [] }: RouteSpec): string[] => {
  const seen = new Set<string>();
  for (const fallback of fallbacks) {
    if (!MODEL_ID.test(fallback))
      throw new InvalidInputError(`Invalid fallback model '${fallback}': 1-256 characters, no spaces`);
    if (fallback === model)
      throw new InvalidInputError(`Invalid fallback '${fallback}': a route cannot fall back to itself`);
    if (seen.has(fallback)) throw new InvalidInputError(`Invalid fallbacks: '${fallback}' is listed twice`);
    seen.add(fallback);
  }
  return fallbacks;
};

/**
 * Warnings for fallbacks that name no route among `known` models: the gateway skips them, which
 * is fine while their route is still to be added, but usually a typo.
 */
export const fallbackWarnings = (route: Route, known: ReadonlySet<string>): string[] =>
  (route.fallbacks ?? [])
    .filter((fallback) => !known.has(fallback))
    .map(
      (fallback) => `Route ${route.model}: fallback '${fallback}' has no route yet; requests skip it until one is set`,
    );

/** A stored route with its prices back as decimal USD strings (the catalogue format). */
export const routeView = (route: Route): RouteView => {
  const prices: PriceSpec = { input: formatUsd(route.prices.input), output: formatUsd(route.prices.output) };
  if (route.prices.cacheRead !== undefined) prices.cacheRead = formatUsd(route.prices.cacheRead);
  if (route.prices.cacheWrite !== undefined) prices.cacheWrite = formatUsd(route.prices.cacheWrite);
  // Spelled out in this order so that JSON output reads naturally.
  return {
    model: route.model,
    provider: route.provider,
    ...(route.upstreamModel === undefined ? {} : { upstreamModel: route.upstreamModel }),
    ...(route.baseUrl === undefined ? {} : { baseUrl: route.baseUrl }),
    ...(route.credential === undefined ? {} : { credential: route.credential }),
    ...(route.allowHttp === true ? { allowHttp: true } : {}),
    ...(route.allowPrivate === true ? { allowPrivate: true } : {}),
    prices,
    ...(route.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: route.defaultMaxTokens }),
    ...(route.fallbacks === undefined || route.fallbacks.length === 0 ? {} : { fallbacks: route.fallbacks }),
    ...(route.createdAt === undefined ? {} : { createdAt: route.createdAt }),
    ...(route.updatedAt === undefined ? {} : { updatedAt: route.updatedAt }),
  };
};
