/**
 * A counting TCP proxy in front of DynamoDB Local: the gateway's stores talk to it, it forwards the
 * bytes untouched and notes each HTTP request (its `X-Amz-Target` operation, when it went out and
 * when its answer started coming back). Honest by construction: it sees every call the SDK makes,
 * retries included, without touching the gateway.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** One DynamoDB call, times in this process's `performance.now()`. */
export interface DynamoCall {
  /** Operation and first table named, e.g. `GetItem bench-keys`. */
  op: string;
  startAt: number;
  /** When the first byte of the answer came back; undefined while in flight. */
  endAt?: number;
}

export interface DynamoCounter {
  endpoint: string;
  /** TCP connections the gateway opened to DynamoDB. */
  connections(): number;
  /** Calls per operation since start / `takeCounts()`. */
  takeCounts(): Record<string, number>;
  /** Calls recorded since `since` (performance.now() in this process). */
  callsSince(since: number): DynamoCall[];
  /** Calls not answered yet. */
  inFlight(): number;
  /** performance.now() of the last byte seen either way. */
  lastActivity(): number;
  close(): Promise<void>;
}

const TARGET = /x-amz-target:\s*DynamoDB_\d+\.(\w+)/i;
const TABLE = /"TableName":"([^"]+)"/;
const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/;
const KEEP_CALLS = 200_000;

/**
 * Listens on 127.0.0.1 and forwards to `upstreamPort`, each request `delayMs` later when asked (a
 * stand-in for the network between a Lambda and DynamoDB). A keep-alive connection carries one request
 * at a time (the SDK's agent does not pipeline), so "client bytes after an answer" is the next
 * request and "server bytes after a request" is its answer: no body parsing needed.
 *
 * @example
 * const counter = await startDynamoCounter(dynamo.port);
 * const stores = createStores(createDocumentClient({ endpoint: counter.endpoint }), tables);
 */
export const startDynamoCounter = async (upstreamPort: number, delayMs = 0): Promise<DynamoCounter> => {
  let counts: Record<string, number> = {};
  let connections = 0;
  const calls: DynamoCall[] = [];
  let open = 0;
  let last = performance.now();
  const sockets = new Set<Socket>();

  const server: Server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
    connections += 1;
    sockets.add(client).add(upstream);
    const forward = (chunk: Buffer): void => {
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    };
    let current: DynamoCall | undefined;
    client.on('data', (chunk: Buffer) => {
      last = performance.now();
      if (!current || current.endAt !== undefined) {
        const head = chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
        if (REQUEST_LINE.test(head)) {
          const table = TABLE.exec(head)?.[1];
          const op = `${TARGET.exec(head)?.[1] ?? 'unknown'}${table ? ` ${table}` : ''}`;
          current = { op, startAt: last };
          counts[current.op] = (counts[current.op] ?? 0) + 1;
          open += 1;
          calls.push(current);
          if (calls.length > KEEP_CALLS) calls.splice(0, calls.length - KEEP_CALLS);
        }
      }
      // Timers of equal delay fire in order, so the bytes stay in order.
      if (delayMs > 0) setTimeout(forward, delayMs, chunk);
      else forward(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      last = performance.now();
      if (current && current.endAt === undefined) {
        current.endAt = last;
        open -= 1;
      }
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    const done = (): void => {
      if (current && current.endAt === undefined) {
        current.endAt = performance.now();
        open -= 1;
      }
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client
      .on('close', done)
      .on('error', done)
      .on('end', () => upstream.end());
    upstream
      .on('close', done)
      .on('error', done)
      .on('end', () => client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the DynamoDB counter has no address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    connections: () => connections,
    takeCounts() {
      const taken = counts;
      counts = {};
      return taken;
    },
    callsSince(since) {
      let from = calls.length;
      while (from > 0 && (calls[from - 1]?.startAt ?? 0) >= since) from -= 1;
      return calls.slice(from);
    },
    inFlight: () => open,
    lastActivity: () => last,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};
