/**
 * The esbuild options TollgateFunction gives NodejsFunction (lib/tollgate-function.ts), as its
 * esbuild command line comes out: what the bench's cold start and the stack-trace tests bundle.
 */
import type { BuildOptions } from 'esbuild';

/**
 * @example await build(lambdaBundleOptions('lambdas/proxy.ts', 'bench-results/x/index.mjs'))
 */
export const lambdaBundleOptions = (entry: string, outfile: string, sourcemap = true) =>
  ({
    entryPoints: [entry],
    bundle: true,
    outfile,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    // As lib/tollgate-function.ts: the Node.js 24 runtime provides the AWS SDK.
    external: ['@aws-sdk/*', '@smithy/*'],
    logLevel: 'silent',
  }) satisfies BuildOptions;
