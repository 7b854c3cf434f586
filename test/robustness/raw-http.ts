import { Agent, request } from 'node:http';

/** One request as it goes on the wire: raw header pairs (duplicates allowed), raw body bytes. */
export interface RawRequest {
  method: string;
  path: string;
  /** Flat `[name, value, name, value, …]`, as `IncomingMessage.rawHeaders`; `host` is added. */
  headers: string[];
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A `node:http` client that sends what `fetch` would refuse (duplicated headers, invalid UTF-8,
 * bodies of any content type) over a keep-alive agent, so thousands of requests reuse a few sockets.
 *
 * @example
 * const client = rawClient(gateway.port);
 * const { status, body } = await client.send({ method: 'POST', path: '/v1/chat/completions', headers: [], body });
 */
export const rawClient = (port: number, { maxSockets = 16, timeoutMs = 30_000 } = {}) => {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = ({ method, path, headers, body }: RawRequest): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const wire = ['host', `127.0.0.1:${port}`, ...headers];
      const req = request(
        { host: '127.0.0.1', port, method, path, headers: wire, agent, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
};
