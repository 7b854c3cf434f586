import type { ParseArgsOptionsConfig } from 'node:util';
import type { Stores } from '../store/index.ts';
import type { Target } from './connect.ts';
import { UsageError } from './errors.ts';

export type OptionValues = Record<string, string | boolean | undefined>;

export interface CommandContext {
  /** The command's positional arguments, in the order of {@link Command.args} then {@link Command.optionalArgs}. */
  args: string[];
  values: OptionValues;
  /** Connects on first call: commands validate their input before, so a typo costs no connection. */
  stores(): Promise<Stores>;
  /** Every account id, sorted (a scan of the wallets table); connects like {@link stores}. */
  accountIds(): Promise<string[]>;
  /** Where the command connects (local database, a DynamoDB endpoint, AWS, a stack), not yet connected. */
  target: Target;
  /** The CLI's environment (process.env, or a test's). */
  env: NodeJS.ProcessEnv;
}

/** How a result is printed for people: `wide` (`--wide`) shows every column of a table; without a view, the default. */
export interface PrintView {
  wide: boolean;
}

/** A command of the CLI; `print` renders `run`'s result for people, `json` (or the result as is) for `--json`. */
export interface Command {
  /** One or two words: `balance`, `keys create`. */
  name: string;
  summary: string;
  /** Positional argument names, all required, e.g. `['account']`. */
  args: string[];
  /** Positional argument names that may follow the required ones, e.g. `['account']` of `audit`. */
  optionalArgs?: string[];
  /** The part of the usage line after the name and args. */
  synopsis?: string;
  description: string;
  options: ParseArgsOptionsConfig;
  /** Help lines for the options, `[flag, explanation]`. */
  optionHelp: [string, string][];
  examples: string[];
  run(context: CommandContext): Promise<object>;
  print(result: object, view?: PrintView): string;
  /**
   * Renders `run`'s result for `--json` in the one JSON convention (README "Operator CLI": snake_case,
   * `*_usd` + `*_nano`, `*_at`, lists as `{data, has_more, next_cursor}`); absent: the result as is.
   */
  json?(result: object): object;
  /**
   * A result that is printed but still fails the command (exit 1), e.g. an audit that found a
   * difference: the message goes into the JSON output as `error.message`.
   */
  failure?(result: object): string | undefined;
  /**
   * Problems worth a look that do not fail the command (a fallback with no route yet): printed to
   * stderr as `tollgate: warning: …`; with `--json` they stay in the result object.
   */
  warnings?(result: object): string[];
}

interface CommandSpec<Result extends object> extends Omit<Command, 'run' | 'print' | 'json' | 'failure' | 'warnings'> {
  run(context: CommandContext): Promise<Result>;
  print(result: Result, view?: PrintView): string;
  json?(result: Result): object;
  failure?(result: Result): string | undefined;
  warnings?(result: Result): string[];
}

/** Ties a command's `print` (and `failure`) to its `run`'s result type. */
export const defineCommand = <Result extends object>(spec: CommandSpec<Result>): Command => spec as Command;

/** A string option's value, or undefined when the option was not given. */
export const str = (values: OptionValues, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};

/** A positional argument, or '' when absent (only optional arguments can be). */
export const arg = (context: CommandContext, index: number): string => context.args[index] ?? '';

export const requireFlags = (values: OptionValues, flags: string[], usage: string): void => {
  const missing = flags.filter((flag) => str(values, flag) === undefined).map((flag) => `--${flag}`);
  if (missing.length > 0) throw new UsageError(`Missing ${missing.join(', ')}. Usage: ${usage}`);
};
