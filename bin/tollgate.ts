#!/usr/bin/env node
import { versionText, wantsVersion } from '../lambdas/cli/version.ts';

const argv = process.argv.slice(2);
if (wantsVersion(argv)) {
  // Answered before the commands (and the AWS SDK) load: a tenth of a second, not half a second.
  process.stdout.write(`${versionText(argv)}\n`);
} else {
  const { runCli } = await import('../lambdas/cli/main.ts');
  process.exitCode = await runCli(argv);
}
