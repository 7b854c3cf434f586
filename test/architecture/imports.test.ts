import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../lambdas');

/** Every `.ts` file under lambdas/, relative to it. */
const sources = (dir = ROOT): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g;

/** The files of ours a source imports, relative to lambdas/ (imports that leave lambdas/ start with ../). */
const importsOf = (file: string): string[] => {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  return [...text.matchAll(IMPORT)].map((match) =>
    relative(ROOT, resolve(ROOT, dirname(file), (match[1] ?? match[2]) as string)),
  );
};

/** The part of the code base a file belongs to: its top folder under lambdas/, or its own name. */
const partOf = (file: string): string => (file.includes('/') ? (file.split('/')[0] as string) : file);

/**
 * Which parts each part may import. Arrows point one way: the vocabulary is a leaf, errors sit on
 * it, protocols/providers/store/reports know nothing of the gateway, the gateway knows nothing of
 * Lambda, and the entry points (handlers, CLI, local runtime, console) sit on top.
 */
const ALLOWED: Record<string, readonly string[]> = {
  'vocabulary.ts': [],
  'errors.ts': ['vocabulary.ts'],
  protocols: ['vocabulary.ts', 'errors.ts'],
  providers: ['vocabulary.ts', 'errors.ts', 'protocols'],
  store: ['vocabulary.ts', 'errors.ts'],
  reports: ['vocabulary.ts', 'errors.ts'],
  gateway: ['vocabulary.ts', 'errors.ts', 'protocols', 'providers', 'store', 'reports'],
  services: ['vocabulary.ts', 'errors.ts', 'gateway', 'store', 'mail'],
  middlewares: ['vocabulary.ts', 'errors.ts', 'gateway', 'protocols', 'providers', 'store', 'reports'],
  'app.ts': ['vocabulary.ts', 'errors.ts', 'gateway', 'middlewares', 'protocols', 'providers', 'store', 'reports'],
  'proxy.ts': ['app.ts', 'gateway', 'providers', 'store', 'reports', 'middlewares', 'services'],
  'sweeper.ts': ['vocabulary.ts', 'gateway', 'store', 'reports', 'services', 'mail'],
  cli: ['vocabulary.ts', 'errors.ts', 'gateway', 'services', 'store', 'protocols', 'providers'],
  runtime: [
    'vocabulary.ts',
    'errors.ts',
    'app.ts',
    'gateway',
    'services',
    'store',
    'providers',
    'reports',
    'console',
    'mail',
  ],
  mail: [],
  console: ['vocabulary.ts', 'errors.ts', 'gateway', 'services', 'store', 'reports', 'mail'],
  'console.ts': ['console', 'store', 'mail', 'reports', 'services'],
};

/** The imports among `edges` (file → imported file) that no row of {@link ALLOWED} permits. */
const backArrows = (edges: readonly (readonly [string, string])[]): string[] =>
  edges
    .filter(([file, target]) => {
      if (target.startsWith('..')) return false; // lib/ (table schemas, metric names) sits outside
      const from = partOf(file);
      const to = partOf(target);
      return to !== from && !ALLOWED[from]?.includes(to);
    })
    .map(([file, target]) => `${file} → ${target}`);

describe('import direction', () => {
  const files = sources();
  const edges = files.flatMap((file) => importsOf(file).map((target) => [file, target] as const));

  it('knows every part of lambdas/', () => {
    const unknown = [...new Set(files.map(partOf))].filter((part) => !(part in ALLOWED));
    expect(unknown).toEqual([]);
  });

  it('has no arrow pointing back up between the parts', () => {
    expect(backArrows(edges)).toEqual([]);
  });

  it('keeps the vocabulary a leaf that imports nothing, not even lib/', () => {
    expect(importsOf('vocabulary.ts')).toEqual([]);
  });

  it('reports a back-arrow when one is written', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(
      backArrows([
        ['protocols/bridges.ts', 'gateway/errors.ts'],
        ['store/wallets.ts', 'gateway/billing.ts'],
        ['runtime/seed.ts', 'cli/catalogue.ts'],
        ['cli/connect.ts', 'runtime/start-local.ts'],
        ['gateway/billing.ts', 'store/wallets.ts'],
      ]),
    ).toEqual([
      'protocols/bridges.ts → gateway/errors.ts',
      'store/wallets.ts → gateway/billing.ts',
      'runtime/seed.ts → cli/catalogue.ts',
      'cli/connect.ts → runtime/start-local.ts',
    ]);
  });
});
