import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaBundleOptions } from '../support/lambda-bundle.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'test', 'fixtures', 'stacks', 'throws.ts');

/** Bundled as TollgateFunction has NodejsFunction bundle a Lambda entry. */
const bundle = (entry: string, outfile: string, sourcemap: boolean) =>
  build(lambdaBundleOptions(entry, outfile, sourcemap));

/**
 * What a fresh Node process (no flags, as deployed) prints when it runs `before`, imports `bundle`,
 * then runs `after`. With the Lambda runtime's `awslambda` global stood in, as middy needs it.
 */
const inFreshProcess = async (bundleFile: string, after: string, before = ''): Promise<string> => {
  const code = [
    'globalThis.awslambda = { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };',
    before,
    `const bundle = await import(${JSON.stringify(pathToFileURL(bundleFile).href)});`,
    after,
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, NODE_OPTIONS: '', AWS_REGION: 'us-east-1', TOLLGATE_TABLE_PREFIX: 'stacks' },
    timeout: 30_000,
  });
  return stdout;
};

/** The Lambda entries (lib/tollgate-stack.ts). */
const ENTRIES = ['proxy', 'console', 'sweeper'];

const PRINT_STACK = 'try { bundle.fail(); } catch (error) { console.log(error.stack); }';

describe('stack traces of a bundled Lambda entry, without --enable-source-maps', () => {
  let dir: string;
  beforeAll(async () => {
    // Inside the repository, so the bundles find the AWS SDK in node_modules as Lambda finds the runtime's.
    await mkdir(join(ROOT, 'node_modules', '.cache'), { recursive: true });
    dir = await mkdtemp(join(ROOT, 'node_modules', '.cache', 'tollgate-stacks-'));
    await Promise.all([
      bundle(FIXTURE, join(dir, 'mapped', 'index.mjs'), true),
      bundle(FIXTURE, join(dir, 'unmapped', 'index.mjs'), false),
      ...ENTRIES.map((entry) => bundle(join(ROOT, 'lambdas', `${entry}.ts`), join(dir, entry, 'index.mjs'), true)),
    ]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('name the TypeScript file and line of each bundle frame, read from the map beside the bundle', async () => {
    const stack = await inFreshProcess(join(dir, 'mapped', 'index.mjs'), PRINT_STACK);

    const lines = stack.trim().split('\n');
    expect(lines[0]).toBe('Error: boom from the fixture');
    expect(lines[1]?.startsWith('    at ')).toBe(true);
    expect(lines[1]).toContain(`${FIXTURE}:6:`); // the line of the throw
    expect(stack).not.toContain('index.mjs');
    // A frame outside the bundle stays as V8 writes it.
    expect(lines.slice(2).join('\n')).toMatch(/at .*\[eval1\]|at file:|at ModuleJob/);
  });

  it('leave the stack as V8 writes it when there is no map beside the bundle', async () => {
    const stack = await inFreshProcess(
      join(dir, 'unmapped', 'index.mjs'),
      `${PRINT_STACK}\nconsole.log(Error.prepareStackTrace === nodeDefault);`,
      'const nodeDefault = Error.prepareStackTrace;',
    );

    expect(stack).toContain('Error: boom from the fixture');
    expect(stack).toMatch(/unmapped\/index\.mjs:\d+:\d+/);
    expect(stack).not.toContain('throws.ts');
    expect(stack.trim().endsWith('true')).toBe(true);
  });

  it('is installed by the proxy, console and sweeper bundles, which load without the flag', async () => {
    for (const entry of ENTRIES) {
      const outfile = join(dir, entry, 'index.mjs');
      const printed = await inFreshProcess(
        outfile,
        'console.log(Error.prepareStackTrace !== nodeDefault, process.sourceMapsEnabled);',
        'const nodeDefault = Error.prepareStackTrace;',
      );

      expect(printed.trim(), entry).toBe('true false');
    }
  });

  it("maps the proxy bundle's own frames when its module init fails", async () => {
    const outfile = join(dir, 'proxy', 'index.mjs');
    const code = [
      `try { await import(${JSON.stringify(pathToFileURL(outfile).href)}); }`,
      'catch (error) { console.log(error.stack); }',
    ].join('\n');

    // No `awslambda` global: middy's streaming mode fails while app.ts builds the handler.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, NODE_OPTIONS: '', AWS_REGION: 'us-east-1' },
      timeout: 30_000,
    });

    expect(stdout).toContain('awslambda');
    expect(stdout).toContain(`${join(ROOT, 'lambdas', 'app.ts')}:`);
    expect(stdout).toContain(`${join(ROOT, 'lambdas', 'proxy.ts')}:`);
    expect(stdout).not.toMatch(/proxy\/index\.mjs:\d+:\d+/);
  });
});
