import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CONTROL_PATH,
  CONTROL_TOKEN_HEADER,
  type CredentialAnswer,
  type CredentialQuery,
} from '../store/local-database.ts';
import { isCredentialName } from '../vocabulary.ts';

/**
 * The local gateway's control endpoints, for the CLI on the same machine: `POST …/flush` drops the
 * key and route caches, `POST …/credentials` says which of the asked credential names the
 * gateway's environment sets (never a value). They exist in `npm start`'s server only — the
 * Lambda handler has no such path — and answer only loopback callers that send the token
 * `npm start` wrote into `<dataDir>/gateway.json`.
 */
/** 256 random bits, URL-safe. */
export const newControlToken = (): string => randomBytes(32).toString('base64url');

/** Whether a request path belongs to the control endpoints (and so never reaches the proxy). */
export const isControlPath = (path: string): boolean =>
  path === CONTROL_PATH || path.startsWith(`${CONTROL_PATH}/`) || path.startsWith(`${CONTROL_PATH}?`);

const MAX_BODY_BYTES = 16_384;

const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

const sameToken = (given: string | string[] | undefined, token: string): boolean => {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

const answer = (res: ServerResponse, status: number, body: object): void => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

const readBody = async (req: IncomingMessage): Promise<string | undefined> => {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
};

const credentialQuery = (text: string): CredentialQuery | undefined => {
  try {
    const parsed: unknown = JSON.parse(text);
    const names = (parsed as { names?: unknown } | null)?.names;
    if (!Array.isArray(names) || names.length > 100 || !names.every((name) => typeof name === 'string')) {
      return undefined;
    }
    return { names };
  } catch {
    return undefined;
  }
};

export interface ControlOptions {
  token: string;
  /** Drops the proxy's lookup caches (app.ts `flushCaches`). */
  flushCaches(): void;
  /** The gateway's environment, asked for credential names only. */
  env: NodeJS.ProcessEnv;
}

/**
 * Serves one control request (its path passed {@link isControlPath}).
 *
 * @example if (isControlPath(req.url ?? '/')) return void serveControl(req, res, { token, flushCaches, env });
 */
export const serveControl = async (req: IncomingMessage, res: ServerResponse, options: ControlOptions) => {
  // Loopback only, even when `npm start` listens on every interface (TOLLGATE_HOST=0.0.0.0).
  if (!isLoopback(req.socket.remoteAddress) || !sameToken(req.headers[CONTROL_TOKEN_HEADER], options.token)) {
    req.resume();
    return answer(res, 403, { error: { message: 'Local control needs the token of gateway.json, from this machine' } });
  }
  if (req.method !== 'POST') {
    req.resume();
    return answer(res, 405, { error: { message: 'Use POST' } });
  }
  const path = (req.url ?? '').split('?')[0];
  if (path === `${CONTROL_PATH}/flush`) {
    req.resume();
    options.flushCaches();
    return answer(res, 200, { flushed: ['keys', 'routes'] });
  }
  if (path === `${CONTROL_PATH}/credentials`) {
    const text = await readBody(req);
    const query = text === undefined ? undefined : credentialQuery(text);
    if (!query) return answer(res, 400, { error: { message: 'Expected {"names": [up to 100 credential names]}' } });
    // Only names that may be credentials are looked at: this cannot probe HOME or AWS_*.
    const isSet = (name: string) => isCredentialName(name) && Boolean(options.env[name]);
    const result: CredentialAnswer = {
      set: query.names.filter(isSet),
      missing: query.names.filter((name) => !isSet(name)),
    };
    return answer(res, 200, result);
  }
  req.resume();
  return answer(res, 404, { error: { message: 'No such control endpoint' } });
};
