#!/usr/bin/env node
import { runCli } from '../lambdas/cli/main.ts';

process.exitCode = await runCli(process.argv.slice(2));
