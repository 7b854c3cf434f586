import { ConflictError, InvalidInputError, LimitExceededError, NotFoundError } from '../services/errors.ts';
import { databaseDeadlineMs, dynamoOptionsFromEnv } from '../store/client.ts';

/**
 * The CLI's own failures. A {@link UsageError} (exit 2) is a command the operator wrote wrongly:
 * unknown command or flag, missing or malformed argument. A {@link CommandError} (exit 1) is a
 * well-formed command that cannot be done: a catalogue file that cannot be read, a stack without
 * Tollgate's outputs.
 */
export class UsageError extends Error {}

export class CommandError extends Error {}

/**
 * The exit code of a failed command: 2 when the command line was wrong — a {@link UsageError}, or
 * a service's {@link InvalidInputError} about a value taken from it — 1 for anything else (an
 * unknown account, a reused top-up id, a top-up past the wallet's ceiling, the database unreachable).
 */
export const exitCodeOf = (error: unknown): 1 | 2 =>
  error instanceof UsageError || error instanceof InvalidInputError ? 2 : 1;

/** Adds the command that fixes an unknown account to its message, as operators see it. */
export const withAccountHint = async <Result>(work: Promise<Result>): Promise<Result> => {
  try {
    return await work;
  } catch (error) {
    if (error instanceof NotFoundError && error.entity === 'account') {
      throw new CommandError(`${error.message} (create it with: npx tollgate accounts create ${error.id})`);
    }
    throw error;
  }
};

/** Adds what to do about a top-up id already used for another amount. */
export const withTopUpIdHint = async <Result>(work: Promise<Result>): Promise<Result> => {
  try {
    return await work;
  } catch (error) {
    // A money limit is no matter of the id: its message already says what may be added.
    if (error instanceof ConflictError && !(error instanceof LimitExceededError)) {
      throw new CommandError(`${error.message}; use a new --id`);
    }
    throw error;
  }
};

/** What an operator reads when DynamoDB did not answer in time, instead of the SDK's timeout text. */
export const databaseTimeoutMessage = (env: NodeJS.ProcessEnv): string =>
  `The database did not answer within ${databaseDeadlineMs(dynamoOptionsFromEnv(env)) / 1000} s; ` +
  'check that DynamoDB is running and reachable, then retry (TOLLGATE_DYNAMODB_TIMEOUT sets the seconds per attempt)';
