import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { portInUseMessage, startLocal } from '../../lambdas/runtime/start-local.ts';
import {
  type DynamoDbLocalProgress,
  describeProgress,
  javaMajorVersion,
  startDynamoDbLocal,
} from '../../lambdas/store/dynamodb-local.ts';
import { runWithEnv } from '../cli/in-process.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tollgate-start-up-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A folder holding a `java` that answers `-version` the way an old JDK does (on stderr). */
const fakeJavaFolder = (name: string, version: string): string => {
  const folder = join(scratch, name);
  mkdirSync(folder, { recursive: true });
  const java = join(folder, 'java');
  writeFileSync(
    java,
    `#!/bin/sh\necho 'openjdk version "${version}" 2023-07-18' >&2\necho 'OpenJDK Runtime Environment' >&2\n`,
  );
  chmodSync(java, 0o755);
  return folder;
};

const listen = (port: number, host: string): Promise<Server> =>
  new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(port, host, () => done(server));
  });

describe('npm start on a busy port', () => {
  it('says the port is in use within 2 s, before starting Java', async () => {
    // Prepare
    const occupant = await listen(0, '127.0.0.1');
    const { port } = occupant.address() as { port: number };
    const lines: string[] = [];
    try {
      // Act
      const began = performance.now();
      const failure = await startLocal({
        dataDir: join(scratch, 'busy-port'),
        port,
        host: '127.0.0.1',
        env: {},
        print: (line) => lines.push(line),
      }).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      const elapsedMs = performance.now() - began;

      // Assess
      expect(failure?.message).toBe(portInUseMessage(port));
      expect(failure?.message).toContain(`Port ${port} is in use (another \`npm start\`?)`);
      expect(elapsedMs).toBeLessThan(2_000);
      expect(lines.filter((line) => line.includes('DynamoDB Local'))).toEqual([]);
    } finally {
      await new Promise((done) => occupant.close(done));
    }
  });
});

describe('the Java check before DynamoDB Local starts', () => {
  it('names the old Java it found, where, and what to install', async () => {
    const folder = fakeJavaFolder('java11', '11.0.20');
    await expect(startDynamoDbLocal({ env: { PATH: folder } })).rejects.toThrow(
      `DynamoDB Local needs Java 17 or newer; found Java 11.0.20 (${join(folder, 'java')}). Install openjdk-17-jre-headless (apt) or set JAVA_HOME.`,
    );
  });

  it('looks in JAVA_HOME before PATH', async () => {
    const home = join(scratch, 'jdk8');
    fakeJavaFolder(join('jdk8', 'bin'), '1.8.0_292');
    await expect(startDynamoDbLocal({ env: { JAVA_HOME: home, PATH: '' } })).rejects.toThrow(
      `found Java 1.8.0_292 (${join(home, 'bin', 'java')})`,
    );
  });

  it('says so when there is no java at all', async () => {
    const empty = join(scratch, 'no-java');
    mkdirSync(empty, { recursive: true });
    await expect(startDynamoDbLocal({ env: { PATH: empty } })).rejects.toThrow(
      'DynamoDB Local needs Java 17 or newer; no java was found on PATH. Install openjdk-17-jre-headless (apt) or set JAVA_HOME.',
    );
  });

  it('reads the major version of old and new version strings', () => {
    expect(javaMajorVersion('openjdk version "11.0.20" 2023-07-18')).toBe(11);
    expect(javaMajorVersion('java version "1.8.0_292"')).toBe(8);
    expect(javaMajorVersion('Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "21" 2023-09-19')).toBe(21);
    expect(javaMajorVersion('no version here')).toBeUndefined();
  });
});

describe('DynamoDB Local start-up progress', () => {
  it('tells when Java starts, every interval while it boots, and how long it took', async () => {
    // Prepare
    const progress: DynamoDbLocalProgress[] = [];

    // Act
    const dynamo = await startDynamoDbLocal({ onProgress: (step) => progress.push(step), progressEveryMs: 250 });
    await dynamo.stop();

    // Assess
    expect(progress[0]).toEqual({ phase: 'starting' });
    expect(progress.at(-1)?.phase).toBe('ready');
    const waits = progress.filter((step) => step.phase === 'waiting');
    expect(waits.length).toBeGreaterThan(0);
    expect(describeProgress(progress.at(-1) as DynamoDbLocalProgress)).toMatch(/^DynamoDB Local ready in \d+\.\d s$/);
    expect(describeProgress({ phase: 'waiting', elapsedMs: 6_200 })).toBe('  still starting DynamoDB Local… 6 s');
  }, 60_000);
});

describe('a CLI command that starts its own DynamoDB Local', () => {
  it('tells on stderr why it waits and when it is ready, and keeps --json stdout one JSON object', async () => {
    // Act
    const run = await runWithEnv({ TOLLGATE_DATA_DIR: join(scratch, 'cli') }, 'routes', 'list', '--json');

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ data: [] });
    const told = run.stderr.trim().split('\n');
    expect(told[0]).toBe('tollgate: Starting DynamoDB Local (Java; usually 2–10 s)…');
    expect(told[1]).toContain('no `npm start` runs on this data dir');
    expect(told.at(-1)).toMatch(/^tollgate: DynamoDB Local ready in \d+\.\d s$/);
  }, 60_000);
});
