/**
 * Stack traces that name the TypeScript sources, without `--enable-source-maps`. That flag makes
 * Node read and keep the bundle's source map while the module loads — a few ms of every cold
 * start (5–8 ms measured here) for stack traces that only the rare logged error needs. Instead,
 * this installs `Error.prepareStackTrace`, which reads the map (`<bundle>.map`, beside the bundle)
 * the first time a stack is formatted, and rewrites each bundle frame's location to the original
 * file, line and column. Frames of other files (the runtime's AWS SDK, Node's own) stay as V8
 * writes them, and so does everything when the map cannot be read.
 *
 * Installed by importing this module first in a Lambda entry (proxy.ts, console.ts, sweeper.ts).
 * It does nothing unless it runs from a bundle with its map beside it (not under `npm start` or
 * the tests, which run the sources), nor when source maps are already on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type PrepareStackTrace = (error: Error, sites: NodeJS.CallSite[]) => unknown;

const errorHeader = (error: Error): string => {
  try {
    return String(error);
  } catch {
    return 'Error';
  }
};

/**
 * Makes stack traces map frames of the bundle at `bundleUrl` through its source map, read on first
 * use. Answers false (and changes nothing) when there is no map beside the bundle.
 *
 * @example installSourceMappedStacks(import.meta.url) // in the bundle: file:///var/task/index.mjs
 */
export const installSourceMappedStacks = (bundleUrl: string): boolean => {
  if (!bundleUrl.startsWith('file:')) return false;
  const bundlePath = fileURLToPath(bundleUrl);
  const mapPath = `${bundlePath}.map`;
  if (process.sourceMapsEnabled || !existsSync(mapPath)) return false;

  let map: SourceMap | null | undefined;
  const sourceMap = (): SourceMap | null => {
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8')));
      } catch {
        map = null; // unreadable: stacks stay as V8 writes them
      }
    }
    return map;
  };
  const sourcePath = (name: string): string =>
    name.startsWith('file:') ? fileURLToPath(name) : resolve(dirname(bundlePath), name);

  const frame = (site: NodeJS.CallSite): string => {
    const text = String(site);
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if ((file !== bundleUrl && file !== bundlePath) || line === null || column === null) return text;
    const location = `${file}:${line}:${column}`;
    if (!text.includes(location)) return text;
    const origin = sourceMap()?.findOrigin(line, column);
    if (!origin || !('fileName' in origin)) return text;
    return text.replace(location, `${sourcePath(origin.fileName)}:${origin.lineNumber}:${origin.columnNumber}`);
  };

  const previous = Error.prepareStackTrace as PrepareStackTrace | undefined;
  const prepare: PrepareStackTrace = (error, sites) => {
    try {
      return errorHeader(error) + sites.map((site) => `\n    at ${frame(site)}`).join('');
    } catch {
      return previous ? previous(error, sites) : errorHeader(error) + sites.map((site) => `\n    at ${site}`).join('');
    }
  };
  Error.prepareStackTrace = prepare;
  return true;
};

installSourceMappedStacks(import.meta.url);
