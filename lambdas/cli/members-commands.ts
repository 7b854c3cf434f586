import { resolve } from 'node:path';
import { NotFoundError } from '../services/errors.ts';
import {
  addMember,
  checkEmail,
  createSignInLink,
  listMembers,
  type MemberSummary,
  removeMember,
  SIGN_IN_LINK_TTL_MS,
} from '../services/members.ts';
import { checkAccountId } from '../services/validate.ts';
import { readGatewayInfo } from '../store/local-database.ts';
import { arg, type Command, type CommandContext, defineCommand, str } from './command.ts';
import { CommandError, UsageError, withAccountHint } from './errors.ts';
import { table } from './format.ts';
import { wholePage } from './json.ts';

const DEFAULT_PORT = 8787;
const LINK_MINUTES = SIGN_IN_LINK_TTL_MS / 60_000;

/** A console URL as given by the operator: http(s), no query, no trailing slash. */
const checkConsoleUrl = (text: string, from: string): string => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(
      `Invalid console URL '${text}' (${from}): give it whole, e.g. https://console.example.com/console`,
    );
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    throw new UsageError(
      `Invalid console URL '${text}' (${from}): an http(s) URL without query, e.g. https://console.example.com/console`,
    );
  }
  return url.href.replace(/\/+$/, '');
};

const localPort = (env: NodeJS.ProcessEnv): number => {
  const port = env['PORT'];
  return port !== undefined && /^\d{1,5}$/.test(port) ? Number(port) : DEFAULT_PORT;
};

/**
 * The console's public URL for a sign-in link: `--console-url` > `TOLLGATE_CONSOLE_URL` > the
 * stack's `ConsoleUrl` output (with `--stack`) > the running local gateway's port (its
 * `gateway.json` in the data dir) > `http://127.0.0.1:$PORT/console` (8787 by default).
 *
 * @example await consoleUrlFor(context) // 'http://127.0.0.1:8787/console'
 */
export const consoleUrlFor = async (context: CommandContext): Promise<string> => {
  const flag = str(context.values, 'console-url');
  if (flag !== undefined) return checkConsoleUrl(flag, '--console-url');
  const fromEnv = context.env['TOLLGATE_CONSOLE_URL'];
  if (fromEnv) return checkConsoleUrl(fromEnv, 'TOLLGATE_CONSOLE_URL');
  const { target } = context;
  if ('stack' in target) {
    const url = await (await import('./stack.ts')).stackConsoleUrl(target.stack);
    try {
      return checkConsoleUrl(url, `output ConsoleUrl of stack '${target.stack.stack}'`);
    } catch (error) {
      throw new CommandError((error as Error).message);
    }
  }
  if (target.kind === 'aws') {
    throw new UsageError(
      'Which console URL should the link open? Pass --console-url, set TOLLGATE_CONSOLE_URL, or name the stack with --stack (its output ConsoleUrl)',
    );
  }
  if (target.kind === 'local') {
    const running = readGatewayInfo(resolve(target.dataDir));
    if (running && running.port > 0) return `http://127.0.0.1:${running.port}/console`;
  }
  return `http://127.0.0.1:${localPort(context.env)}/console`;
};

/** Says how to add a person who is not a member yet. */
const withMemberHint = async <Result>(work: Promise<Result>, email: string): Promise<Result> => {
  try {
    return await work;
  } catch (error) {
    if (error instanceof NotFoundError && error.entity === 'member') {
      throw new CommandError(
        `'${email}' is not a member of any account, so no link was made. Add them first: npx tollgate members add <account> ${email}`,
      );
    }
    throw error;
  }
};

export const membersAddCommand: Command = defineCommand({
  name: 'members add',
  summary: 'Let an e-mail address sign in to the console for an account',
  args: ['account', 'email'],
  description:
    'Makes the e-mail address a member of the account: they can ask the console for a sign-in link (or get one from npx tollgate members link) and then see its wallet, keys and models. One address may be a member of several accounts. Adding a member twice changes nothing. Addresses are stored trimmed and in lower case.',
  options: {},
  optionHelp: [],
  examples: ['npx tollgate members add acme ada@example.com', 'npx tollgate members add acme ada@example.com --json'],
  run: async (context) => {
    const accountId = checkAccountId(arg(context, 0));
    const email = checkEmail(arg(context, 1));
    return withAccountHint(addMember(await context.stores(), { accountId, email }));
  },
  print: (r) =>
    r.added
      ? `Added ${r.email} to ${r.account}. They can sign in at the console, or send them a link: npx tollgate members link ${r.email}`
      : `${r.email} is already a member of ${r.account} (since ${r.added_at}); nothing changed.`,
});

export const membersListCommand: Command = defineCommand({
  name: 'members list',
  summary: "List who may sign in to an account's console",
  args: ['account'],
  description: 'Lists the e-mail addresses that may sign in to the console for the account, and when each was added.',
  options: {},
  optionHelp: [],
  examples: ['npx tollgate members list acme', 'npx tollgate members list acme --json'],
  run: async (context) => {
    const accountId = checkAccountId(arg(context, 0));
    return withAccountHint(listMembers(await context.stores(), { accountId }));
  },
  print: (r, view) => {
    if (r.members.length === 0) {
      return `No members of ${r.account}. Add one with: npx tollgate members add ${r.account} <email>`;
    }
    return table(
      ['EMAIL', 'ADDED'],
      r.members.map((member: MemberSummary) => [member.email, member.added_at]),
      { wide: view?.wide, maxWidth: { EMAIL: 72 } },
    );
  },
  json: ({ members }) => wholePage(members),
});

export const membersRemoveCommand: Command = defineCommand({
  name: 'members remove',
  summary: "Take away an e-mail address's console access to an account",
  args: ['account', 'email'],
  description:
    'Removes the member. Their open console sessions lose the account at their next request (membership is checked on every request); links already sent stop opening it too.',
  options: {},
  optionHelp: [],
  examples: ['npx tollgate members remove acme ada@example.com'],
  run: async (context) => {
    const accountId = checkAccountId(arg(context, 0));
    const email = checkEmail(arg(context, 1));
    try {
      return await removeMember(await context.stores(), { accountId, email });
    } catch (error) {
      if (error instanceof NotFoundError && error.entity === 'member') {
        throw new CommandError(`${error.message} (see who is: npx tollgate members list ${accountId})`);
      }
      throw error;
    }
  },
  print: (r) => `Removed ${r.email} from ${r.account}. Their console sessions lose this account at their next request.`,
});

export const membersLinkCommand: Command = defineCommand({
  name: 'members link',
  summary: 'Print a one-time console sign-in link (nothing is mailed)',
  args: ['email'],
  synopsis: '[--console-url URL]',
  description: `Makes a sign-in link for a member and prints it; nothing is sent, hand it over yourself, privately: whoever opens it first signs in as that member. It works once, for ${LINK_MINUTES} minutes. The console's address comes from --console-url, else TOLLGATE_CONSOLE_URL, else the stack's ConsoleUrl output (with --stack), else the local gateway (npm start): the port it runs on, else http://127.0.0.1:$PORT/console (PORT default ${DEFAULT_PORT}).`,
  options: { 'console-url': { type: 'string' } },
  optionHelp: [['--console-url URL', "the console's public address, e.g. https://console.example.com/console"]],
  examples: [
    'npx tollgate members link ada@example.com',
    'npx tollgate members link ada@example.com --json',
    'npx tollgate --stack Tollgate-prod --region eu-west-1 members link ada@example.com',
    'npx tollgate members link ada@example.com --console-url https://console.example.com/console',
  ],
  run: async (context) => {
    const email = checkEmail(arg(context, 0));
    const consoleUrl = await consoleUrlFor(context);
    const stores = await context.stores();
    const link = await withMemberHint(createSignInLink(stores, { email, consoleUrl }), email);
    const accounts = (await stores.members.accountsOf(email)).map((member) => member.accountId);
    return { ...link, accounts, console_url: consoleUrl, single_use: true };
  },
  print: (r) =>
    [
      `One-time sign-in link for ${r.email} (${r.accounts.length === 1 ? 'account' : 'accounts'} ${r.accounts.join(', ')}):`,
      '',
      r.url,
      '',
      `It works once, for ${LINK_MINUTES} minutes (until ${r.expires_at}). Whoever opens it signs in as ${r.email}: hand it over privately.`,
    ].join('\n'),
});

/** The `members` commands, in the order the help lists them. */
export const MEMBERS_COMMANDS: readonly Command[] = [
  membersAddCommand,
  membersListCommand,
  membersRemoveCommand,
  membersLinkCommand,
];
