import { resolve } from 'node:path';
import { configFromEnv } from '../gateway/config.ts';
import {
  CONTROL_PATH,
  CONTROL_TOKEN_HEADER,
  type CredentialAnswer,
  isAlive,
  readGatewayInfo,
} from '../store/local-database.ts';
import type { Target } from './connect.ts';

/** How long the CLI waits for the local gateway's control endpoint. */
const CONTROL_TIMEOUT_MS = 1_000;

/** What the operator changed: keys (auth, limits) or the route table. */
export type Cached = 'keys' | 'routes';

/**
 * When a change reaches the gateways, as `--json` shows it (`gateway_cache`):
 * `now` — the running local gateway dropped its caches; `on_start` — no local gateway runs, the
 * next `npm start` reads the database; `within_ttl` — gateways may serve the old value that long.
 */
export type CacheEffect =
  | { effective: 'now'; gateway_port: number }
  | { effective: 'on_start' }
  | {
      effective: 'within_ttl';
      ttl_seconds: number;
      /** aws: Lambda instances; endpoint: a gateway on a DynamoDB endpoint; unreachable: the local gateway did not answer. */
      where: 'aws' | 'endpoint' | 'unreachable';
      gateway_port?: number;
    };

interface LocalControl {
  port: number;
  token: string | undefined;
}

/** The `npm start` running on the target's data dir, from its `gateway.json`; undefined when none runs. */
const runningLocal = (target: Target): LocalControl | undefined => {
  if (target.kind !== 'local') return undefined;
  const info = readGatewayInfo(resolve(target.dataDir));
  if (!info || info.port <= 0 || !isAlive(info.pid)) return undefined;
  return { port: info.port, token: info.controlToken };
};

const control = async (local: LocalControl, path: string, body: object): Promise<unknown> => {
  if (local.token === undefined) throw new Error('its gateway.json has no control token (an older gateway)');
  const response = await fetch(`http://127.0.0.1:${local.port}${CONTROL_PATH}/${path}`, {
    method: 'POST',
    headers: { [CONTROL_TOKEN_HEADER]: local.token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`it answered ${response.status}`);
  return response.json();
};

/**
 * The TTL of the cache that holds `what` on a gateway with this environment (gateway/config.ts).
 * Deployed functions get no TTL variables from the stack, so on AWS the defaults apply.
 */
export const cacheTtlSeconds = (what: Cached, env: NodeJS.ProcessEnv = {}): number => {
  const config = configFromEnv(env);
  return (what === 'keys' ? config.keyCacheTtlMs : config.routeCacheTtlMs) / 1000;
};

/**
 * Makes a change the CLI just wrote effective: through a running local gateway, its key and route
 * caches are dropped (leases and wallet snapshots are left alone); elsewhere, says how long
 * gateways may serve the old value.
 *
 * @example const effect = await flushGatewayCaches(context.target, context.env, 'keys');
 */
export const flushGatewayCaches = async (
  target: Target,
  env: NodeJS.ProcessEnv,
  what: Cached,
): Promise<CacheEffect> => {
  if (target.kind === 'aws') return { effective: 'within_ttl', ttl_seconds: cacheTtlSeconds(what), where: 'aws' };
  if (target.kind === 'endpoint') {
    return { effective: 'within_ttl', ttl_seconds: cacheTtlSeconds(what, env), where: 'endpoint' };
  }
  const local = runningLocal(target);
  if (!local) return { effective: 'on_start' };
  try {
    await control(local, 'flush', {});
    return { effective: 'now', gateway_port: local.port };
  } catch {
    return {
      effective: 'within_ttl',
      ttl_seconds: cacheTtlSeconds(what, env),
      where: 'unreachable',
      gateway_port: local.port,
    };
  }
};

const OLD: Record<Cached, string> = { keys: 'the old key', routes: 'the old routes' };

/**
 * The sentence that follows a change: "the running gateway on :8787 dropped its caches: effective
 * now." Empty when no local gateway runs.
 */
export const describeCacheEffect = (effect: CacheEffect, what: Cached): string => {
  if (effect.effective === 'now')
    return `the running gateway on :${effect.gateway_port} dropped its caches: effective now.`;
  if (effect.effective === 'on_start') return '';
  const ttl = `for up to ${effect.ttl_seconds} s (cache TTL)`;
  if (effect.where === 'aws') return `Lambda instances may use ${OLD[what]} ${ttl}.`;
  if (effect.where === 'endpoint') return `A gateway on this database may use ${OLD[what]} ${ttl}.`;
  return `the gateway on :${effect.gateway_port} did not take the cache flush, so it may use ${OLD[what]} ${ttl}.`;
};

/** "Revoked key_…" + "; the running gateway … effective now." or ". Lambda instances may …". */
export const withCacheEffect = (done: string, effect: CacheEffect, what: Cached): string => {
  const sentence = describeCacheEffect(effect, what);
  if (sentence === '') return done;
  return /^[a-z]/.test(sentence) ? `${done}; ${sentence}` : `${done}. ${sentence}`;
};

/**
 * Warnings about a credential name the gateway cannot read where it runs: locally, the running
 * gateway's environment (asked through its control endpoint: which names are set, never values),
 * or the CLI's own when none runs; on AWS, where the secret must be. Empty when all is well, and on
 * a DynamoDB endpoint (`TOLLGATE_DYNAMODB_ENDPOINT`), whose gateway is unknown.
 *
 * @example await credentialWarnings(target, env, 'GROQ_API_KEY', 'llama-3.3-70b')
 */
export const credentialWarnings = async (
  target: Target,
  env: NodeJS.ProcessEnv,
  name: string,
  model: string,
): Promise<string[]> => {
  const failing = `requests for ${model} answer 500 configuration_error until it is`;
  if (target.kind === 'aws') {
    return [
      `On AWS the gateway reads ${name} from the Secrets Manager secret <SecretPrefix>${name} (the stack's SecretPrefix output, tollgate/<stage>/), not from an environment variable: check it exists with aws secretsmanager describe-secret --secret-id tollgate/<stage>/${name}; ${failing}.`,
    ];
  }
  // A DynamoDB endpoint of one's own: which gateway reads it, and with what environment, is unknown.
  if (target.kind === 'endpoint') return [];
  const local = runningLocal(target);
  if (local) {
    try {
      const answer = (await control(local, 'credentials', { names: [name] })) as CredentialAnswer;
      if (answer.set.includes(name)) return [];
      return [
        `The running gateway on :${local.port} has no environment variable ${name}: ${failing} set; npm start reads the environment it is started with, so set ${name} there and restart it.`,
      ];
    } catch {
      // An older gateway: fall back to this shell's environment.
    }
  }
  if (env[name]) return [];
  const where = local ? `the gateway on :${local.port} could not be asked, and ` : '';
  return [
    `${where}${name} is not set in this shell's environment: npm start reads the environment it is started with, so start it with ${name} set, or ${failing} set.`,
  ];
};
