import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { isDatabaseTimeout } from '../errors.ts';
import type { Stores } from '../store/index.ts';
import type { Command, OptionValues } from './command.ts';
import { COMMANDS } from './commands.ts';
import { type Connection, chooseTarget, connect } from './connect.ts';
import { databaseTimeoutMessage, exitCodeOf, UsageError } from './errors.ts';
import { scanAccountIds } from './scan.ts';
import { closest } from './suggest.ts';
import { versionText, wantsVersion } from './version.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

const GLOBAL_OPTIONS: ParseArgsOptionsConfig = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  wide: { type: 'boolean' },
  aws: { type: 'boolean' },
  region: { type: 'string' },
  stack: { type: 'string' },
};

const GLOBAL_HELP: [string, string][] = [
  ['--json', 'print exactly one JSON object on stdout (errors too: {"error":{"message"}})'],
  ['--aws', 'use DynamoDB on AWS with your AWS credentials (default credential chain)'],
  ['--stack NAME', 'use the tables that the deployed CloudFormation stack NAME outputs (implies --aws)'],
  ['--region R', 'AWS region (default: AWS_REGION)'],
  ['--wide', 'tables show every column (by default they fit in 100 columns)'],
  ['-h, --help', 'show help; npx tollgate <command> --help for one command'],
  ['-v, --version', "print Tollgate's version and Node's"],
];

const GROUPS = [...new Set(COMMANDS.map((command) => command.name.split(' ')[0] ?? ''))];
const COMMAND_NAMES = COMMANDS.map((command) => command.name);

/** Every option that takes a value, so that command words can be told from option values. */
const VALUE_OPTIONS = new Set(
  [GLOBAL_OPTIONS, ...COMMANDS.map((command) => command.options)].flatMap((options) =>
    Object.entries(options)
      .filter(([, option]) => option.type === 'string')
      .map(([name]) => `--${name}`),
  ),
);

const beforeTerminator = (argv: string[]): string[] => {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
};

/** The positional words of argv, skipping option values. */
const positionalWords = (argv: string[]): string[] => {
  const words: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (token === '--') return [...words, ...argv.slice(index + 1)];
    if (token.startsWith('-') && token !== '-') {
      if (VALUE_OPTIONS.has(token)) index++;
      continue;
    }
    words.push(token);
  }
  return words;
};

/** Help fits a 100-column terminal. */
const HELP_WIDTH = 100;

/** `text` in lines of at most `width` characters (a longer word stays whole), the first after `first`, the rest after `rest`. */
const wrap = (
  text: string | string[],
  first: string,
  rest = ' '.repeat(first.length),
  width = HELP_WIDTH,
): string[] => {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of typeof text === 'string' ? text.split(/\s+/).filter(Boolean) : text) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.map((each) => each.trimEnd());
};

/** A usage line's words, each `[…]` group (nested ones too) kept whole, so a line breaks between options. */
const usageWords = (line: string): string[] => {
  const words: string[] = [];
  let depth = 0;
  for (const part of line.split(' ')) {
    if (depth > 0) words[words.length - 1] += ` ${part}`;
    else words.push(part);
    depth += (part.match(/\[/g)?.length ?? 0) - (part.match(/\]/g)?.length ?? 0);
  }
  return words;
};

const columns = (rows: [string, string][]): string[] => {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.flatMap(([left, right]) => wrap(right, `  ${left.padEnd(width)}  `));
};

/** `npx tollgate keys create <account> …`; in the lists of commands, without `npx tollgate`. */
const usageLine = (command: Command, program = 'npx tollgate'): string =>
  [
    program,
    command.name,
    ...command.args.map((name) => `<${name}>`),
    ...(command.optionalArgs ?? []).map((name) => `[<${name}>]`),
    command.synopsis ?? '',
  ]
    .filter(Boolean)
    .join(' ');

/** The top-level help. */
export const globalHelp = (): string =>
  [
    'Usage: npx tollgate <command> [arguments] [options]   (in the project folder)',
    '',
    'Operate a Tollgate gateway: accounts, keys, top-ups, balances, usage, audits and routes.',
    '',
    'Commands:',
    ...columns(COMMANDS.map((command) => [usageLine({ ...command, synopsis: '' }, ''), command.summary])),
    '',
    'Global options:',
    ...columns(GLOBAL_HELP),
    '',
    'Where it connects (the first that applies):',
    '  TOLLGATE_DYNAMODB_ENDPOINT set: that DynamoDB (Local), even with --stack or --aws.',
    '  --stack, --aws, or TOLLGATE_TABLE_PREFIX / TOLLGATE_TABLE_<NAME> set: DynamoDB on AWS with your',
    '    AWS credentials (default credential chain) in --region or AWS_REGION.',
    '  Otherwise: the local database in TOLLGATE_DATA_DIR (default .tollgate), the one npm start uses.',
    '',
    'Which tables:',
    "  --stack NAME: the stack's outputs KeysTableName, WalletsTableName, RoutesTableName,",
    '    LedgerTableName, CountersTableName (or <TablePrefix>-<table>), read with CloudFormation',
    '    DescribeStacks; they win over TOLLGATE_TABLE_*. AWS_ENDPOINT_URL_CLOUDFORMATION points',
    '    DescribeStacks at another endpoint.',
    '  Otherwise: <TOLLGATE_TABLE_PREFIX>-keys … (default prefix tollgate), or as named by',
    '    TOLLGATE_TABLE_KEYS, _WALLETS, _ROUTES, _LEDGER, _COUNTERS.',
    '',
    'Examples:',
    '  npx tollgate accounts create acme',
    '  npx tollgate topup acme 25.00 --id invoice-001',
    '  npx tollgate keys create acme --name laptop --rpm 60',
    '  npx tollgate keys set key_0123456789abcdef --tpm 200000 --rpm none',
    '  npx tollgate members add acme ada@example.com',
    '  npx tollgate members link ada@example.com',
    '  npx tollgate accounts set acme --credit-limit 50 --discount 0.8',
    '  npx tollgate balance acme --json',
    '  npx tollgate usage acme --since 2026-11-01',
    '  npx tollgate audit --all',
    '  npx tollgate routes set gpt-5.2 --provider openai --input-price 1.75 --output-price 14 \\',
    '      --fallbacks claude-sonnet-4-6',
    '  npx tollgate routes list',
    '  npx tollgate --stack Tollgate-prod --region eu-west-1 balance acme',
    '  TOLLGATE_TABLE_PREFIX=tollgate-prod npx tollgate --region eu-west-1 balance acme',
  ].join('\n');

const groupHelp = (group: string): string => {
  const commands = COMMANDS.filter((command) => command.name.startsWith(`${group} `));
  return [
    `Usage: npx tollgate ${group} <${commands.map((command) => command.name.split(' ')[1]).join('|')}> …`,
    '',
    'Commands:',
    ...columns(commands.map((command) => [usageLine({ ...command, synopsis: '' }, ''), command.summary])),
    '',
    `Run npx tollgate ${group} <command> --help for one command's options and examples.`,
  ].join('\n');
};

/** One command's help: usage, what it does, options, examples. */
export const commandHelp = (command: Command): string =>
  [
    ...wrap(usageWords(usageLine(command)), 'Usage: ', '         '),
    '',
    ...wrap(command.description, ''),
    ...(command.optionHelp.length > 0 ? ['', 'Options:', ...columns(command.optionHelp)] : []),
    '',
    'Global options:',
    ...columns(GLOBAL_HELP),
    '',
    'Examples:',
    ...command.examples.flatMap(exampleLines),
  ].join('\n');

/** An example as the shell takes it: past 100 columns, continued with `\\` between options. */
const exampleLines = (example: string): string[] => {
  const units: string[] = [];
  for (const word of example.split(' ')) {
    const last = units.at(-1);
    // An option's value stays on its option's line.
    if (last?.startsWith('--') && !last.includes(' ') && !word.startsWith('-'))
      units[units.length - 1] = `${last} ${word}`;
    else units.push(word);
  }
  const lines = wrap(units, '  ', '      ', HELP_WIDTH - 2);
  return lines.map((line, index) => (index < lines.length - 1 ? `${line} \\` : line));
};

type Resolved = { help: string } | { command: Command; words: number };

/** "Unknown command 'key list'. Did you mean 'keys list'?", or where to find the commands. */
const unknownCommand = (typed: string, candidates: readonly string[], help: string): UsageError => {
  const suggestion = closest(typed, candidates);
  return new UsageError(
    `Unknown command '${typed}'. ${suggestion === undefined ? `Run ${help}` : `Did you mean '${suggestion}'?`}`,
  );
};

/** `limit` of `--limit=5`. */
const optionName = (flag: string): string => flag.slice(2).split('=')[0] ?? '';

/** "Unknown option '--limt' for 'keys create'. Did you mean '--limit'?" */
const unknownOption = (option: string, options: ParseArgsOptionsConfig, command?: Command): UsageError => {
  const suggestion = closest(option.replace(/^-+/, ''), Object.keys(options));
  const where = command === undefined ? '' : ` for '${command.name}'`;
  const next =
    suggestion === undefined
      ? `Run npx tollgate ${command === undefined ? '' : `${command.name} `}--help`
      : `Did you mean '--${suggestion}'?`;
  return new UsageError(`Unknown option '${option}'${where}. ${next}`);
};

const resolveCommand = (words: string[], flags: string[]): Resolved => {
  const help = flags.includes('--help') || flags.includes('-h');
  const [first, second] = words;
  if (first === undefined) {
    if (help) return { help: globalHelp() };
    const unknown = flags.find((flag) => flag.startsWith('--') && !Object.hasOwn(GLOBAL_OPTIONS, optionName(flag)));
    if (unknown !== undefined) throw unknownOption(`--${optionName(unknown)}`, GLOBAL_OPTIONS);
    throw new UsageError('Missing command. Run npx tollgate --help for the list of commands');
  }
  if (first === 'help') return { help: globalHelp() };
  const single = COMMANDS.find((command) => command.name === first);
  if (single) return help ? { help: commandHelp(single) } : { command: single, words: 1 };
  if (!GROUPS.includes(first)) {
    const pair = second === undefined ? undefined : closest(`${first} ${second}`, COMMAND_NAMES);
    if (pair !== undefined) throw unknownCommand(`${first} ${second}`, COMMAND_NAMES, '');
    throw unknownCommand(first, [...GROUPS, ...COMMAND_NAMES], 'npx tollgate --help for the list of commands');
  }
  const subs = COMMANDS.filter((command) => command.name.startsWith(`${first} `)).map(
    (c) => c.name.split(' ')[1] ?? '',
  );
  if (second === undefined) {
    if (help) return { help: groupHelp(first) };
    throw new UsageError(`Missing ${first} command: one of ${subs.join(', ')}. Run npx tollgate ${first} --help`);
  }
  const command = COMMANDS.find((candidate) => candidate.name === `${first} ${second}`);
  if (!command) {
    throw unknownCommand(
      `${first} ${second}`,
      subs.map((sub) => `${first} ${sub}`),
      `npx tollgate ${first} --help`,
    );
  }
  return help ? { help: commandHelp(command) } : { command, words: 2 };
};

const parseCommandArgs = (argv: string[], command: Command): { args: string[]; values: OptionValues } => {
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    }) as { values: OptionValues; positionals: string[] };
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown?.[1] !== undefined) throw unknownOption(unknown[1], { ...GLOBAL_OPTIONS, ...command.options }, command);
    throw new UsageError(`${message}. Run npx tollgate ${command.name} --help`);
  }
  const args = parsed.positionals.slice(command.name.split(' ').length);
  const missing = command.args.slice(args.length);
  if (missing.length > 0) {
    throw new UsageError(`Missing ${missing.map((name) => `<${name}>`).join(' ')}. Usage: ${usageLine(command)}`);
  }
  const most = command.args.length + (command.optionalArgs?.length ?? 0);
  if (args.length > most) {
    throw new UsageError(`Unexpected argument '${args[most]}'. Usage: ${usageLine(command)}`);
  }
  return { args, values: parsed.values };
};

/**
 * Runs the `tollgate` CLI on `argv` (without `node` and the script) and returns the exit code:
 * 0 on success, 2 on a usage error, 1 on any other failure.
 *
 * @example process.exitCode = await runCli(process.argv.slice(2));
 */
export const runCli = async (
  argv: string[],
  io: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  },
): Promise<number> => {
  const flags = beforeTerminator(argv);
  const json = flags.includes('--json');
  const out = (human: () => string, machine: object): void => {
    io.stdout(`${json ? JSON.stringify(machine) : human()}\n`);
  };
  if (argv.length === 0) {
    io.stdout(`${globalHelp()}\n`);
    return 0;
  }

  let connection: Connection | undefined;
  try {
    if (wantsVersion(argv)) {
      io.stdout(`${versionText(argv)}\n`);
      return 0;
    }
    const resolved = resolveCommand(positionalWords(argv), flags);
    if ('help' in resolved) {
      out(() => resolved.help, { usage: resolved.help });
      return 0;
    }
    const { command } = resolved;
    const { args, values } = parseCommandArgs(argv, command);
    const { region, stack } = values;
    const target = chooseTarget(io.env, {
      aws: values['aws'] === true,
      ...(typeof region === 'string' ? { region } : {}),
      ...(typeof stack === 'string' ? { stack } : {}),
    });
    const open = async (): Promise<Connection> => {
      // On stderr, --json too: stdout stays one JSON object, and a person still sees why it waits.
      connection ??= await connect(target, { progress: (line) => io.stderr(`tollgate: ${line}\n`) });
      return connection;
    };
    const stores = async (): Promise<Stores> => (await open()).stores;
    const accountIds = async (): Promise<string[]> => {
      const { client, tables } = await open();
      return scanAccountIds(client, tables.wallets);
    };
    const result = await command.run({ args, values, stores, accountIds, target, env: io.env });
    // A result can fail the command and still be printed whole (an audit that found a difference).
    const failure = command.failure?.(result);
    const machine = command.json?.(result) ?? result;
    out(
      () => command.print(result, { wide: values['wide'] === true }),
      failure === undefined ? machine : { ...machine, error: { message: failure } },
    );
    if (!json) for (const warning of command.warnings?.(result) ?? []) io.stderr(`tollgate: warning: ${warning}\n`);
    return failure === undefined ? 0 : 1;
  } catch (error) {
    const message = isDatabaseTimeout(error)
      ? databaseTimeoutMessage(io.env)
      : error instanceof Error
        ? error.message
        : String(error);
    if (json) io.stdout(`${JSON.stringify({ error: { message } })}\n`);
    else io.stderr(`tollgate: ${message}\n`);
    return exitCodeOf(error);
  } finally {
    await connection?.close();
  }
};
