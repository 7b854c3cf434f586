#!/usr/bin/env node
// `npm start`: the proxy on http://127.0.0.1:$PORT over DynamoDB Local in $TOLLGATE_DATA_DIR.
import { startLocal } from '../lambdas/runtime/start-local.ts';

const env = process.env;
try {
  const local = await startLocal({
    dataDir: env['TOLLGATE_DATA_DIR'] ?? '.tollgate',
    port: Number(env['PORT'] ?? 8787),
    host: env['TOLLGATE_HOST'] ?? '127.0.0.1',
    env,
  });
  const shutdown = async (signal: string) => {
    console.log(`\n${signal}: stopping the gateway and DynamoDB Local…`);
    await local.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
