import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  openLocalDatabase,
  readGatewayInfo,
  removeGatewayInfo,
  writeGatewayInfo,
} from '../../lambdas/store/local-database.ts';

// Each case starts Java; allow for a loaded machine.
describe('openLocalDatabase', { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-local-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('starts a file-backed DynamoDB Local when no live gateway runs, and keeps its state across restarts', async () => {
    // Prepare: a gateway.json left behind by a gateway that is gone (its pid has exited).
    const dataDir = tempDir();
    const { pid } = spawnSync(process.execPath, ['-e', '']);
    writeGatewayInfo(dataDir, { pid, dynamoEndpoint: 'http://127.0.0.1:9', port: 1, startedAt: '' });
    const first = await openLocalDatabase({ dataDir });
    await first.stores.wallets.create('kept');
    await first.stop();

    // Act
    const second = await openLocalDatabase({ dataDir });
    try {
      // Assess
      expect(first.started).toBe(true);
      expect(first.endpoint).not.toBe('http://127.0.0.1:9');
      expect(second.started).toBe(true);
      expect(second.tables.wallets).toBe('tollgate-wallets');
      expect(await second.stores.wallets.get('kept')).toMatchObject({ accountId: 'kept', balance: 0 });
    } finally {
      await second.stop();
    }
  });

  it("reuses a running gateway's DynamoDB Local, and leaves it running on stop", async () => {
    // Prepare: the gateway is played by this process, with a database opened here.
    const dataDir = tempDir();
    const gateway = await openLocalDatabase({ dataDir });
    try {
      writeGatewayInfo(dataDir, {
        pid: process.pid,
        dynamoEndpoint: gateway.endpoint,
        port: 8787,
        startedAt: new Date().toISOString(),
      });
      await gateway.stores.wallets.create('shared');

      // Act
      const cli = await openLocalDatabase({ dataDir });
      const seen = await cli.stores.wallets.get('shared');
      await cli.stop();

      // Assess
      expect(cli.started).toBe(false);
      expect(cli.endpoint).toBe(gateway.endpoint);
      expect(seen?.accountId).toBe('shared');
      expect(await gateway.stores.wallets.get('shared')).toBeDefined();
    } finally {
      await gateway.stop();
    }
  });
});

describe('gateway info', () => {
  it('round-trips, and is removed only by the process it names when a pid is given', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-info-'));
    try {
      const info = {
        pid: 4242,
        dynamoEndpoint: 'http://127.0.0.1:8000',
        port: 8787,
        startedAt: '2026-11-01T00:00:00Z',
      };
      expect(readGatewayInfo(dataDir)).toBeUndefined();
      writeGatewayInfo(dataDir, info);
      expect(readGatewayInfo(dataDir)).toEqual(info);
      removeGatewayInfo(dataDir, 4243);
      expect(readGatewayInfo(dataDir)).toEqual(info);
      removeGatewayInfo(dataDir, 4242);
      expect(readGatewayInfo(dataDir)).toBeUndefined();
      writeGatewayInfo(dataDir, info);
      removeGatewayInfo(dataDir);
      expect(readGatewayInfo(dataDir)).toBeUndefined();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
