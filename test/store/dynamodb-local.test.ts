import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../lambdas/store/dynamodb-local.ts';

/** Connects to host:port; 'connected', or the error code. */
const tryConnect = (host: string, port: number): Promise<string> =>
  new Promise((done) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      done('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      done('ETIMEDOUT');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });

/** This machine's addresses other than loopback (IPv6 link-local ones need a scope and are left out). */
const otherAddresses = (): string[] =>
  Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal && !entry.address.startsWith('fe80:'))
    .map((entry) => entry.address);

/** The local addresses listening on `port`, from `ss -ltn`; undefined where ss is missing. */
const listeningAddresses = (port: number): string[] | undefined => {
  let table: string;
  try {
    table = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  return table
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[3])
    .filter((local): local is string => local !== undefined && local !== '')
    .map((local) => local.slice(0, local.lastIndexOf(':')));
};

describe('DynamoDB Local for local mode', () => {
  let dynamo: DynamoDbLocal;
  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
  }, 60_000);
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('answers on 127.0.0.1', async () => {
    expect(dynamo.endpoint).toBe(`http://127.0.0.1:${dynamo.port}`);
    expect(await tryConnect('127.0.0.1', dynamo.port)).toBe('connected');
  });

  it("refuses connections on this machine's other addresses", async () => {
    const addresses = otherAddresses();
    for (const address of addresses)
      expect([address, await tryConnect(address, dynamo.port)]).toEqual([address, 'ECONNREFUSED']);
    console.info(`[dynamodb-local] refused on ${addresses.join(', ') || '(no other address)'}`);
  });

  it('listens on the loopback address only, as the kernel reports it', () => {
    const listening = listeningAddresses(dynamo.port);
    if (listening === undefined) return; // no ss here: the connection test above stands alone
    expect(listening.length).toBeGreaterThan(0);
    for (const local of listening) expect(['127.0.0.1', '[::ffff:127.0.0.1]']).toContain(local);
  });

  it('runs with telemetry off', () => {
    expect(dynamo.process.spawnargs).toContain('-disableTelemetry');
  });
});

describe('stopping DynamoDB Local', () => {
  it('leaves nothing behind that keeps the process alive (a CLI command exits as soon as it is done)', async () => {
    // Prepare
    const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const dynamo = await startDynamoDbLocal();
    const before = timers();

    // Act
    await dynamo.stop();

    // Assess: Java has exited, and no timer of the stop is left holding the event loop
    expect(dynamo.process.exitCode ?? dynamo.process.signalCode).not.toBeNull();
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe('DynamoDB Local outliving its starter', () => {
  it('exits when the process that started it is killed (Ctrl-C during start-up, kill -9)', async () => {
    // Prepare: a Node process that starts DynamoDB Local, says Java's pid, and stays
    const script = `
      const { startDynamoDbLocal } = await import(${JSON.stringify(new URL('../../lambdas/store/dynamodb-local.ts', import.meta.url).href)});
      const dynamo = await startDynamoDbLocal();
      process.stdout.write(String(dynamo.process.pid) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const starter = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const javaPid = await new Promise<number>((found, failed) => {
      starter.stdout.once('data', (chunk: Buffer) => found(Number(chunk.toString().trim())));
      starter.once('exit', (code) => failed(new Error(`the starter exited (${code}) before DynamoDB Local answered`)));
    });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive(javaPid)).toBe(true);

    // Act: the starter dies without a chance to stop anything
    starter.kill('SIGKILL');
    let gone = false;
    for (let waited = 0; waited < 15_000 && !gone; waited += 100) {
      await new Promise((tick) => setTimeout(tick, 100));
      gone = !alive(javaPid);
    }

    // Assess
    if (!gone) process.kill(javaPid, 'SIGKILL');
    expect(gone).toBe(true);
  }, 60_000);
});
