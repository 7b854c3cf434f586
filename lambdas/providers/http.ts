import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What the gateway reads of an upstream answer, whoever produced it (HTTP or the echo provider). */
export interface UpstreamResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  /** The body as it arrives; iterating it throws if the connection breaks. */
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

// One keep-alive pool per process, created at module init (DESIGN §6).
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
};

const collect = async (body: AsyncIterable<Uint8Array>): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
};

const fromIncoming = (message: IncomingMessage): UpstreamResponse => {
  const status = message.statusCode ?? 502;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get: (name) => {
        const value = message.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: message,
    text: () => collect(message),
  };
};

/** Wraps a fetch `Response` (the echo provider builds one) in the same shape. */
export const fromFetchResponse = (response: Response): UpstreamResponse => ({
  status: response.status,
  ok: response.ok,
  headers: response.headers,
  body: (response.body ?? new ReadableStream<Uint8Array>()) as unknown as AsyncIterable<Uint8Array>,
  text: () => response.text(),
});

/**
 * POSTs JSON upstream over `node:http(s)` with keep-alive: leaner per request than `fetch`, and its
 * body is a Node stream the gateway forwards without web-stream conversions. Resolves when the
 * response headers arrive; rejects if the connection fails before that.
 */
export const postJson = (
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<UpstreamResponse> =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = agents[target.protocol as keyof typeof agents];
    if (!agent) {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const payload = Buffer.from(body);
    const request = send(
      target,
      { method: 'POST', agent, signal, headers: { ...headers, 'content-length': String(payload.length) } },
      (message) => resolve(fromIncoming(message)),
    );
    request.setNoDelay(true);
    request.once('error', reject);
    request.end(payload);
  });
