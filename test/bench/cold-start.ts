/**
 * Cold start, as far as it can be seen here: the proxy bundle built exactly as the CDK construct
 * builds it (lib/tollgate-function.ts), its size, and the time a fresh Node process takes to
 * import it (module init: what Lambda's INIT phase runs before the first request).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { lambdaBundleOptions } from '../support/lambda-bundle.ts';
import { summarize } from './stats.ts';

const run = promisify(execFile);

export interface ColdStart {
  bundleBytes: number;
  sourceMapBytes: number;
  /** The biggest contributors to the bundle, by package (or source folder). */
  largest: { name: string; bytes: number }[];
  /** `await import(bundle)` in a fresh process, as deployed (no NODE_OPTIONS: the bundle maps its stacks itself). */
  initMs: number[];
  /** The same with NODE_OPTIONS=--enable-source-maps, to show what Node's own source maps would cost. */
  initEnableSourceMapsMs: number[];
  /** Process start → import done (Node's own boot included), as deployed. */
  processMs: number[];
  /** `initMs` split by round (each round `processes` fresh imports): the spread of the p50 between rounds. */
  initMsByRound: number[][];
}

const ROOT = new URL('../../', import.meta.url);

const packageOf = (input: string): string => {
  const at = input.lastIndexOf('node_modules/');
  if (at === -1) return input.split('/').slice(0, 2).join('/');
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
};

const largest = (metafile: Metafile, count: number) => {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input);
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, size]) => ({ name, bytes: size }));
};

// A stand-in for the Lambda runtime's `awslambda` global; middy's streaming mode calls it at init.
const INIT_SCRIPT = `
globalThis.awslambda = { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };
const started = performance.now();
await import(process.env.BENCH_BUNDLE_URL);
const done = performance.now();
process.stdout.write(JSON.stringify({ importMs: done - started, processMs: done }));
process.exit(0);
`;

/** What the deployed function has in its environment, with fake values: init must not need AWS. */
const lambdaEnv = (bundleUrl: string, nodeOptions: string): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'] ?? '',
  HOME: process.env['HOME'] ?? '',
  NODE_OPTIONS: nodeOptions,
  BENCH_BUNDLE_URL: bundleUrl,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'tollgate-proxy',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  TOLLGATE_TABLE_PREFIX: 'bench',
  TOLLGATE_STAGE: 'bench',
  TOLLGATE_REPORTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:tollgate-bench-reports',
  TOLLGATE_CREDENTIALS_SOURCE: 'secretsmanager',
  TOLLGATE_SECRET_PREFIX: 'tollgate/bench/',
  POWERTOOLS_SERVICE_NAME: 'tollgate-proxy',
  POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
});

const timeImport = async (bundleUrl: string, nodeOptions: string) => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', INIT_SCRIPT], {
    env: lambdaEnv(bundleUrl, nodeOptions),
    timeout: 30_000,
  });
  return JSON.parse(stdout) as { importMs: number; processMs: number };
};

/**
 * Builds the bundle into a temporary folder, times `rounds` × `processes` fresh imports with and
 * with Node's --enable-source-maps (alternating), and removes the folder.
 *
 * @example
 * const cold = await measureColdStart(5);
 * console.log(cold.bundleBytes, summarize(cold.initMs).p50);
 */
export const measureColdStart = async (processes: number, rounds = 1): Promise<ColdStart> => {
  // Inside the repository, so the bundle finds the AWS SDK in node_modules as Lambda finds the runtime's.
  await mkdir(join(ROOT.pathname, 'bench-results'), { recursive: true });
  const dir = await mkdtemp(join(ROOT.pathname, 'bench-results', 'bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    const result = await build({
      ...lambdaBundleOptions(join(ROOT.pathname, 'lambdas', 'proxy.ts'), outfile),
      metafile: true,
    });
    const [bundle, map] = await Promise.all([stat(outfile), stat(`${outfile}.map`)]);
    const url = pathToFileURL(outfile).href;
    await timeImport(url, ''); // the first read warms the OS file cache, as Lambda's is warm for a cached image
    const cold: ColdStart = {
      bundleBytes: bundle.size,
      sourceMapBytes: map.size,
      largest: result.metafile ? largest(result.metafile, 6) : [],
      initMs: [],
      initEnableSourceMapsMs: [],
      processMs: [],
      initMsByRound: [],
    };
    for (let round = 0; round < rounds; round += 1) {
      const init: number[] = [];
      for (let index = 0; index < processes; index += 1) {
        const deployed = await timeImport(url, '');
        init.push(deployed.importMs);
        cold.processMs.push(deployed.processMs);
        cold.initEnableSourceMapsMs.push((await timeImport(url, '--enable-source-maps')).importMs);
      }
      cold.initMs.push(...init);
      cold.initMsByRound.push(init);
    }
    return cold;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

export const coldStartSummary = (cold: ColdStart) => ({
  initP50: summarize(cold.initMs).p50,
  initEnableSourceMapsP50: summarize(cold.initEnableSourceMapsMs).p50,
  processP50: summarize(cold.processMs).p50,
});
