/**
 * The CLI's two kinds of failure. A {@link UsageError} (exit 2) is a command the operator wrote
 * wrongly: unknown command or flag, missing or malformed argument. A {@link CommandError} (exit 1)
 * is a well-formed command the data refuses: unknown account, reused top-up id, unknown key.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
}

export class CommandError extends Error {
  readonly exitCode = 1;
}
