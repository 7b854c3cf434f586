/**
 * Child process of the bench: the floor every gateway pays, one extra Node hop. A keep-alive
 * `node:http` pass-through that pipes requests to the upstream and answers back, nothing else.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { memoryProbe } from './memory-probe.ts';
import { serveRpc } from './rpc.ts';

serveRpc({
  ...memoryProbe,
  start: ({ upstreamUrl }: { upstreamUrl: string }) =>
    new Promise<{ url: string }>((resolve) => {
      const upstream = new URL(upstreamUrl);
      const agent = new Agent({ keepAlive: true });
      const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
        const out = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.setNoDelay(true);
        out.on('error', () => res.destroy());
        req.pipe(out);
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve({ url: `http://127.0.0.1:${port}` });
      });
    }),
});
