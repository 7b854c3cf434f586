import { runCli } from '../../lambdas/cli/main.ts';
import type { TestDatabase } from '../support/dynamo.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with exactly this environment (no spawn, no process.env). */
export const runWithEnv = async (env: NodeJS.ProcessEnv, ...argv: string[]): Promise<CliRun> => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
  });
  return { code, stdout, stderr };
};

/** Runs the CLI in-process against a test database's tables. */
export const runOn = (db: TestDatabase, ...argv: string[]): Promise<CliRun> =>
  runWithEnv({ TOLLGATE_DYNAMODB_ENDPOINT: db.endpoint, TOLLGATE_TABLE_PREFIX: db.prefix }, ...argv);
