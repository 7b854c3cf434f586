import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../lambdas/cli/accounts.ts';
import { createKey, listKeys, parseKeySettings, revokeKey, updateKey } from '../../lambdas/cli/keys.ts';
import { CommandError, UsageError } from '../../lambdas/services/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { runOn, runWithEnv } from './in-process.ts';

const now = new Date('2026-11-01T00:00:00Z');

describe('key rate limits', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, 'acme');
  });

  it('mints a key with requests and tokens per minute, stored as numbers the proxy enforces', async () => {
    const created = await createKey(db.stores, 'acme', { name: 'batch', rpm: '60', tpm: '200000', now });

    expect(created).toMatchObject({ rpm: 60, tpm: 200_000 });
    const stored = await db.stores.keys.findByKeyId(created.keyId);
    expect(stored).toMatchObject({ rpm: 60, tpm: 200_000 });
  });

  it('mints a key without limits unless asked', async () => {
    const created = await createKey(db.stores, 'acme', { now });

    expect(created).not.toHaveProperty('rpm');
    const stored = await db.stores.keys.findByKeyId(created.keyId);
    expect(stored).not.toHaveProperty('rpm');
    expect(stored).not.toHaveProperty('tpm');
  });

  it.each([
    [{ rpm: '0' }, 'requests per minute'],
    [{ rpm: '1.5' }, 'requests per minute'],
    [{ tpm: '-10' }, 'tokens per minute'],
    [{ tpm: 'none' }, 'tokens per minute'],
    [{ rpm: '9007199254740993' }, 'requests per minute'],
  ])('refuses the limit %j when minting', async (options, message) => {
    await expect(createKey(db.stores, 'acme', { ...options, now })).rejects.toThrow(UsageError);
    await expect(createKey(db.stores, 'acme', { ...options, now })).rejects.toThrow(message);
  });

  it('sets, changes and removes limits, allow-list, expiry and name in place, keeping the rest', async () => {
    // Prepare
    const created = await createKey(db.stores, 'acme', {
      name: 'ci',
      models: 'gpt-5.2',
      expires: '2027-01-31',
      tpm: '1000',
      now,
    });

    // Act
    const limited = await updateKey(db.stores, created.keyId, { rpm: '30', tpm: 'none' }, now);
    const opened = await updateKey(
      db.stores,
      created.keyId,
      { models: 'all', expires: 'never', name: 'ci-2', rpm: '45' },
      now,
    );

    // Assess
    expect(limited).toMatchObject({ keyId: created.keyId, rpm: 30, models: ['gpt-5.2'], name: 'ci' });
    expect(limited).not.toHaveProperty('tpm');
    expect(opened).toMatchObject({ rpm: 45, name: 'ci-2', status: 'active' });
    expect(opened).not.toHaveProperty('models');
    expect(opened).not.toHaveProperty('expiresAt');
    const stored = await db.stores.keys.findByKeyId(created.keyId);
    expect(stored).toMatchObject({ keyHash: expect.any(String), accountId: 'acme', prefix: created.prefix, rpm: 45 });
    expect(stored).not.toHaveProperty('tpm');
    expect(stored).not.toHaveProperty('models');
    expect(stored).not.toHaveProperty('expiresAt');
  });

  it('narrows a key to models and an expiry', async () => {
    const created = await createKey(db.stores, 'acme', { now });

    const narrowed = await updateKey(db.stores, created.keyId, { models: 'a, b,a', expires: '2027-02-01' }, now);

    expect(narrowed).toMatchObject({ models: ['a', 'b'], expiresAt: '2027-02-01T00:00:00.000Z' });
  });

  it('refuses to change an unknown key id, and writes no stray row for it', async () => {
    await expect(updateKey(db.stores, 'key_nope', { rpm: '5' }, now)).rejects.toThrow(CommandError);
    await expect(updateKey(db.stores, 'key_nope', { rpm: '5' }, now)).rejects.toThrow("Unknown key id 'key_nope'");
    expect(await db.stores.keys.findByKeyId('key_nope')).toBeUndefined();
  });

  it('updates a revoked key without reviving it', async () => {
    const created = await createKey(db.stores, 'acme', { now });
    await revokeKey(db.stores, created.keyId, now);

    expect(await updateKey(db.stores, created.keyId, { rpm: '1' }, now)).toMatchObject({ rpm: 1, status: 'revoked' });
  });

  it.each([
    [{}, 'Nothing to change'],
    [{ rpm: 'unlimited' }, "or 'none' for no limit"],
    [{ tpm: '0' }, 'tokens per minute'],
    [{ expires: '2026-10-01' }, 'not in the future'],
    [{ expires: 'someday' }, 'Invalid expiry'],
    [{ models: ',' }, 'Invalid model list'],
    [{ name: '' }, 'Invalid key name'],
  ])('refuses the settings %j as a usage error', (settings, message) => {
    expect(() => parseKeySettings(settings, now)).toThrow(UsageError);
    expect(() => parseKeySettings(settings, now)).toThrow(message);
  });

  it('turns the words none, all and never into removals', () => {
    expect(parseKeySettings({ rpm: 'none', tpm: ' none ', models: 'all', expires: 'never' }, now)).toEqual({
      rpm: null,
      tpm: null,
      models: null,
      expiresAt: null,
    });
  });

  it('lists the limits with the keys', async () => {
    await createAccount(db.stores, 'lister');
    const limited = await createKey(db.stores, 'lister', { rpm: '10', now });

    const { keys } = await listKeys(db.stores, 'lister', now);

    expect(keys).toEqual([expect.objectContaining({ keyId: limited.keyId, rpm: 10 })]);
    expect(keys[0]).not.toHaveProperty('tpm');
  });
});

describe('key limit commands', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, 'acme');
  });

  it('shows RPM and TPM columns in keys list, "unlimited" where there is none', async () => {
    // Prepare
    const created = await runOn(db, 'keys', 'create', 'acme', '--rpm', '60', '--tpm', '200000', '--json');
    const { keyId } = JSON.parse(created.stdout) as { keyId: string };
    await runOn(db, 'keys', 'create', 'acme', '--name', 'free');

    // Act
    const listed = await runOn(db, 'keys', 'list', 'acme');

    // Assess
    expect(created.code).toBe(0);
    const [header, ...rows] = listed.stdout.trim().split('\n');
    expect(header).toMatch(/MODELS\s+RPM\s+TPM\s+CREATED/);
    expect(rows.find((row) => row.startsWith(keyId))).toMatch(/\(all\)\s+60\s+200,000\s/);
    expect(rows.find((row) => row.includes('free'))).toMatch(/\(all\)\s+unlimited\s+unlimited\s/);
  });

  it('changes a key with keys set and says when a running gateway applies it', async () => {
    const { keyId } = JSON.parse((await runOn(db, 'keys', 'create', 'acme', '--json')).stdout) as { keyId: string };

    const set = await runOn(db, 'keys', 'set', keyId, '--rpm', '5', '--models', 'gpt-5-mini');
    const json = await runOn(db, 'keys', 'set', keyId, '--rpm', 'none', '--json');

    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`Updated ${keyId} of acme: models gpt-5-mini, rpm 5, tpm unlimited`);
    expect(set.stdout).toContain('30 s');
    expect(JSON.parse(json.stdout)).toEqual(
      expect.objectContaining({ keyId, account: 'acme', models: ['gpt-5-mini'], status: 'active' }),
    );
    expect(JSON.parse(json.stdout)).not.toHaveProperty('rpm');
  });

  it('exits 2 on a bad keys set before connecting, and 1 on an unknown key', async () => {
    const offline = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };
    const [nothing, badLimit, unknown] = await Promise.all([
      runWithEnv(offline, 'keys', 'set', 'key_x'),
      runWithEnv(offline, 'keys', 'create', 'acme', '--tpm', 'lots'),
      runOn(db, 'keys', 'set', 'key_missing', '--rpm', '1', '--json'),
    ]);

    expect(nothing).toMatchObject({ code: 2, stderr: expect.stringContaining('Nothing to change') });
    expect(badLimit).toMatchObject({ code: 2, stderr: expect.stringContaining("tokens per minute (--tpm) 'lots'") });
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toEqual({ error: { message: "Unknown key id 'key_missing'" } });
  });

  it('documents the limits, the removal words and the 30 s key cache in help', async () => {
    const help = await runWithEnv({}, 'keys', 'set', '--help');
    const create = await runWithEnv({}, 'keys', 'create', '--help');

    expect(help.stdout).toContain(
      'Usage: tollgate keys set <keyId> [--rpm N|none] [--tpm N|none] [--models m1,m2|all] [--expires ISO-8601|never] [--name N]',
    );
    expect(help.stdout).toContain('caches keys for 30 s');
    expect(help.stdout).toMatch(/Examples:\n {2}tollgate keys set key_/);
    expect(create.stdout).toContain('--rpm N');
    expect(create.stdout).toContain('--tpm N');
  });
});
