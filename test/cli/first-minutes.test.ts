import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../lambdas/cli/commands.ts';
import { closest, editDistance } from '../../lambdas/cli/suggest.ts';
import { runWithEnv } from './in-process.ts';

/** No database listens here: every command below fails or answers before connecting. */
const OFFLINE = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };
const run = (...argv: string[]) => runWithEnv(OFFLINE, ...argv);

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

describe('tollgate --version', () => {
  it.each([['--version'], ['-v'], ['version']])('prints the package and Node versions for %j', async (flag) => {
    const result = await run(flag);

    expect(result).toEqual({ code: 0, stdout: `tollgate ${version} (Node ${process.versions.node})\n`, stderr: '' });
  });

  it('answers from bin/tollgate.ts before loading the commands', () => {
    const stdout = execFileSync(process.execPath, ['bin/tollgate.ts', '-v'], { encoding: 'utf8' });

    expect(stdout).toBe(`tollgate ${version} (Node ${process.versions.node})\n`);
  });

  it('prints one JSON object with --json', async () => {
    const result = await run('--version', '--json');

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ version, node: process.versions.node });
  });
});

describe('did you mean', () => {
  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('lsit', 'list')).toBe(1);
    expect(editDistance('limt', 'limit')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests only what is a few edits away', () => {
    expect(closest('key list', ['keys list', 'keys create'])).toBe('keys list');
    expect(closest('rm', ['routes', 'members'])).toBeUndefined();
  });

  it.each([
    [['key', 'list', 'acme'], "Unknown command 'key list'. Did you mean 'keys list'?"],
    [['keys', 'lsit', 'acme'], "Unknown command 'keys lsit'. Did you mean 'keys list'?"],
    [['ballance', 'acme'], "Unknown command 'ballance'. Did you mean 'balance'?"],
    [['route', 'set', 'm'], "Unknown command 'route set'. Did you mean 'routes set'?"],
    [['frobnicate'], "Unknown command 'frobnicate'. Run npx tollgate --help for the list of commands"],
    [['keys', 'create', 'acme', '--limt', '5'], "Unknown option '--limt' for 'keys create'. Did you mean '--limit'?"],
    [
      ['keys', 'set', 'key_0123456789abcdef', '--rpn', '5'],
      "Unknown option '--rpn' for 'keys set'. Did you mean '--rpm'?",
    ],
    [['balance', 'acme', '--jsno'], "Unknown option '--jsno' for 'balance'. Did you mean '--json'?"],
    [['balance', 'acme', '--colour'], "Unknown option '--colour' for 'balance'. Run npx tollgate balance --help"],
    [['--verison'], "Unknown option '--verison'. Did you mean '--version'?"],
  ])('answers %j with exit 2 and: %s', async (argv, message) => {
    const result = await run(...argv);

    expect(result).toEqual({ code: 2, stdout: '', stderr: `tollgate: ${message}\n` });
  });
});

describe('hints name npx tollgate', () => {
  it('shows usage lines and examples as npx tollgate, run in the project folder', async () => {
    const help = (await run('--help')).stdout;

    expect(help).toContain('Usage: npx tollgate <command> [arguments] [options]   (in the project folder)');
    expect(help).toContain('  npx tollgate topup acme 25.00 --id invoice-001');
  });

  it.each(COMMANDS.map((command) => [command.name, command]))('%s --help says npx tollgate only', (_, command) => {
    const help = command.examples.join('\n');

    expect(help.split('\n').every((example) => example.startsWith('npx tollgate '))).toBe(true);
  });

  it('says npx tollgate in a hint after an error', async () => {
    const result = await run('keys');

    expect(result.stderr).toContain('Run npx tollgate keys --help');
  });
});

describe('README "Operator CLI"', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(
    readme.indexOf('## Operator CLI'),
    readme.indexOf('\n## ', readme.indexOf('## Operator CLI') + 1),
  );

  it.each(COMMANDS.map((command) => [command.name, command]))(
    'documents %s and every option of it',
    (name, command) => {
      expect(section).toContain(`\`${name}`);
      for (const option of Object.keys(command.options)) expect(section).toContain(`--${option}`);
    },
  );

  it('documents the global options', () => {
    for (const option of ['--json', '--aws', '--stack', '--region', '--wide', '--version', '--help']) {
      expect(section).toContain(option);
    }
  });
});

describe('help fits a 100-column terminal', () => {
  it.each([[[] as string[]], ...COMMANDS.map((command) => [command.name.split(' ')])])('%j --help', async (words) => {
    const { code, stdout } = await runWithEnv({}, ...words, '--help');
    const wide = stdout.split('\n').filter((line) => [...line].length > 100);

    expect(code).toBe(0);
    expect(wide).toEqual([]);
  });
});
