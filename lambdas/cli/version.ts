import { readFileSync } from 'node:fs';

/** Whether argv asks for the version: `--version` or `-v` (before a `--`), or the word `version` first. */
export const wantsVersion = (argv: readonly string[]): boolean => {
  const end = argv.indexOf('--');
  const flags = end === -1 ? argv : argv.slice(0, end);
  return flags.includes('--version') || flags.includes('-v') || argv[0] === 'version';
};

/**
 * What `npx tollgate --version` prints: Tollgate's version (package.json) and Node's, for people or,
 * with `--json`, as one JSON object. It imports nothing else, so it answers before the commands load.
 *
 * @example versionText(['--version', '--json']) // '{"version":"0.1.0","node":"24.21.0"}'
 */
export const versionText = (argv: readonly string[]): string => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const node = process.versions.node;
  return argv.includes('--json') ? JSON.stringify({ version, node }) : `tollgate ${version} (Node ${node})`;
};
