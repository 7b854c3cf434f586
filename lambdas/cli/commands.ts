import { randomUUID } from 'node:crypto';
import { createAccount } from '../services/accounts.ts';
import { checkTopUp, type TopUp, topUp } from '../services/topups.ts';
import { checkAccountId } from '../services/validate.ts';
import { CODES_COMMANDS } from './code-commands.ts';
import { arg, type Command, defineCommand, str } from './command.ts';
import { withAccountHint, withTopUpIdHint } from './errors.ts';
import { usd } from './format.ts';
import { keysCreateCommand, keysListCommand, keysRevokeCommand, keysSetCommand } from './key-commands.ts';
import { MEMBERS_COMMANDS } from './members-commands.ts';
import { routesDeleteCommand, routesImportCommand, routesListCommand, routesSetCommand } from './route-commands.ts';
import { accountsSetCommand, auditCommand, balanceCommand, sweepCommand, usageCommand } from './wallet-commands.ts';

export type { Command, CommandContext, OptionValues } from './command.ts';

export const COMMANDS: readonly Command[] = [
  defineCommand({
    name: 'accounts create',
    summary: 'Create an account (a wallet with balance 0)',
    args: ['account'],
    description:
      "Creates the account's wallet with a zero balance. Account ids are 1-64 characters of A-Z a-z 0-9 . _ -",
    options: {},
    optionHelp: [],
    examples: ['npx tollgate accounts create acme'],
    run: async (context) => {
      const accountId = checkAccountId(arg(context, 0));
      return createAccount(await context.stores(), { accountId });
    },
    print: (r) =>
      `Created account ${r.account} (balance ${usd(r.balance_usd)}). Top it up with: npx tollgate topup ${r.account} 10.00`,
  }),
  accountsSetCommand,
  keysCreateCommand,
  keysListCommand,
  keysSetCommand,
  keysRevokeCommand,
  ...MEMBERS_COMMANDS,
  defineCommand({
    name: 'topup',
    summary: "Credit an account's balance, idempotent per --id",
    args: ['account', 'usd'],
    synopsis: '[--id ID]',
    description:
      'Credits an amount in USD (exact decimal, e.g. 12.50) to the account. Give --id (an invoice or payment id) to make retries safe: the same id again changes nothing, the same id with another amount is refused.',
    options: { id: { type: 'string' } },
    optionHelp: [['--id ID', 'idempotency id for this top-up (default: a new random id)']],
    examples: ['npx tollgate topup acme 25.00 --id invoice-2026-11-001', 'npx tollgate topup acme 5'],
    run: async (context) => {
      const input: TopUp = {
        accountId: arg(context, 0),
        amountUsd: arg(context, 1),
        topUpId: str(context.values, 'id') ?? randomUUID(),
      };
      checkTopUp(input);
      return withAccountHint(withTopUpIdHint(topUp(await context.stores(), input)));
    },
    print: (r) =>
      r.applied
        ? `Credited ${usd(r.amount_usd)} to ${r.account} (top-up ${r.topUpId}). Balance: ${usd(r.balance_usd)}`
        : `Top-up ${r.topUpId} was already applied; nothing changed. Balance of ${r.account}: ${usd(r.balance_usd)}`,
    json: ({ account, topUpId, ...rest }) => ({ account, top_up_id: topUpId, ...rest }),
  }),
  ...CODES_COMMANDS,
  balanceCommand,
  usageCommand,
  auditCommand,
  sweepCommand,
  routesSetCommand,
  routesListCommand,
  routesDeleteCommand,
  routesImportCommand,
];
