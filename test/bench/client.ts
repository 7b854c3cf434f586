/**
 * The measuring client: Node's own `http.request` on a keep-alive agent per target (fetch would add
 * its own overhead to every number), timed with `performance.now()`.
 */
import { Agent, request } from 'node:http';

export type TargetName = 'direct' | 'minimal' | 'tollgate';

export interface Target {
  name: TargetName;
  host: string;
  port: number;
  /** Sent with every request (Tollgate's key; a placeholder for the others). */
  headers: Record<string, string>;
  agent: Agent;
}

export interface RequestSpec {
  path: string;
  body: Buffer;
  /** Keep the gaps between body chunks (streams). */
  gaps: boolean;
  /** Abort after this long (a hung request must not hang the bench). */
  timeoutMs?: number;
}

export interface Sample {
  status: number;
  /** `performance.now()` when the request was written (this process's clock). */
  startedAt: number;
  /** Request written → response ended. */
  totalMs: number;
  /** Request written → first body byte. */
  ttfbMs: number;
  /** Times between consecutive body chunks. */
  gaps: number[];
  chunks: number;
  bytes: number;
  /** `x-tollgate-overhead-ms`, when the response carried it. */
  overheadMs?: number;
}

/**
 * A target behind one keep-alive agent with Nagle off, as a latency-sensitive client would use.
 *
 * @example
 * const direct = makeTarget('direct', upstream.url, { authorization: 'Bearer x' });
 */
export const makeTarget = (name: TargetName, url: string, headers: Record<string, string>): Target => {
  const { hostname, port } = new URL(url);
  return {
    name,
    host: hostname,
    port: Number(port),
    headers,
    agent: new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 60_000 }),
  };
};

/**
 * Sends one POST and reads the whole answer, recording when its first body byte and each chunk
 * arrived. Resolves with status 0 on a network error (counted, never thrown: it is a benchmark).
 */
export const send = (target: Target, spec: RequestSpec): Promise<Sample> =>
  new Promise((resolve) => {
    const gaps: number[] = [];
    let chunks = 0;
    let bytes = 0;
    let first = Number.NaN;
    let last = 0;
    let status = 0;
    let overheadMs: number | undefined;
    let settled = false;
    const startedAt = performance.now();
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      const sample: Sample = {
        status: ok ? status : 0,
        startedAt,
        totalMs: performance.now() - startedAt,
        ttfbMs: first - startedAt,
        gaps,
        chunks,
        bytes,
      };
      if (overheadMs !== undefined) sample.overheadMs = overheadMs;
      resolve(sample);
    };
    const req = request(
      {
        agent: target.agent,
        host: target.host,
        port: target.port,
        method: 'POST',
        path: spec.path,
        headers: {
          ...target.headers,
          'content-type': 'application/json',
          'content-length': String(spec.body.length),
        },
      },
      (res) => {
        status = res.statusCode ?? 0;
        const header = res.headers['x-tollgate-overhead-ms'];
        if (typeof header === 'string' && header !== '') overheadMs = Number(header);
        res.on('data', (chunk: Buffer) => {
          const now = performance.now();
          if (chunks === 0) first = now;
          else if (spec.gaps) gaps.push(now - last);
          last = now;
          chunks += 1;
          bytes += chunk.length;
        });
        res.on('end', () => finish(true));
        res.on('error', () => finish(false));
        res.on('aborted', () => finish(false));
      },
    );
    req.setNoDelay(true);
    req.setTimeout(spec.timeoutMs ?? 60_000, () => req.destroy(new Error('timed out')));
    req.on('error', () => finish(false));
    req.end(spec.body);
  });
