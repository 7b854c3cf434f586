/**
 * Child process of the bench: the real proxy handler behind the local function-URL emulation
 * (`startLocalGateway`), with the default configuration (cache TTLs and all), so its event loop
 * and its RSS are its own.
 */
import { subscribe } from 'node:diagnostics_channel';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import { createDocumentClient } from '../../lambdas/store/client.ts';
import { createStores } from '../../lambdas/store/index.ts';
import { tableNamesFromEnv } from '../../lib/tables.ts';
import { memoryProbe } from './memory-probe.ts';
import { serveRpc } from './rpc.ts';

export interface GatewayStart {
  dynamoEndpoint: string;
  tablePrefix: string;
  /** Provider credentials (`OPENAI_API_KEY`…), as the local gateway reads them. */
  env: Record<string, string>;
}

/** When a request reached the gateway, or the gateway called the upstream (`performance.now()` here). */
export interface GatewayMark {
  kind: 'request' | 'fetch';
  at: number;
}

const KEEP_MARKS = 200_000;
const marks: GatewayMark[] = [];
const mark = (kind: GatewayMark['kind']): void => {
  marks.push({ kind, at: performance.now() });
  if (marks.length > KEEP_MARKS) marks.splice(0, marks.length - KEEP_MARKS);
};

// Node announces every outgoing HTTP request on a diagnostics channel: the upstream calls (paths
// under /v1/) are timestamped here without touching the gateway's code; DynamoDB's go to '/'.
subscribe('http.client.request.start', (message) => {
  const { request } = message as { request: { path?: string } };
  if (request.path?.startsWith('/v1/')) mark('fetch');
});

let profiler: Session | undefined;
let reports = 0;

serveRpc({
  ...memoryProbe,
  async start({ dynamoEndpoint, tablePrefix, env }: GatewayStart): Promise<{ url: string }> {
    const stores = createStores(createDocumentClient({ endpoint: dynamoEndpoint }), tableNamesFromEnv({}, tablePrefix));
    const gateway = await startLocalGateway({
      stores,
      reportSink: {
        publish: async (report) => {
          reports += 1;
          console.error('[bench gateway] configuration report', JSON.stringify(report));
        },
      },
      env,
    });
    gateway.server.on('request', () => mark('request'));
    return { url: gateway.url };
  },
  marks: (since: number) => marks.filter((entry) => entry.at >= since),
  reports: () => reports,
  /** Starts V8's sampling profiler (100 µs interval) in this process. */
  async startProfile(): Promise<void> {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
    await profiler.post('Profiler.start');
  },
  /** Stops it and writes a .cpuprofile (Chrome DevTools → Performance → Load profile). */
  async stopProfile({ file }: { file: string }): Promise<void> {
    if (!profiler) return;
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    await writeFile(file, JSON.stringify(profile));
  },
});
