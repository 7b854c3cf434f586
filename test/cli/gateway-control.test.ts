import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialWarnings, describeCacheEffect, flushGatewayCaches } from '../../lambdas/cli/gateway-control.ts';
import { secretShape } from '../../lambdas/cli/secret-shape.ts';
import { configFromEnv } from '../../lambdas/gateway/config.ts';
import { type RunningLocal, startLocal } from '../../lambdas/runtime/start-local.ts';
import { CONTROL_PATH, CONTROL_TOKEN_HEADER, readGatewayInfo } from '../../lambdas/store/local-database.ts';
import { tableNamesFromEnv } from '../../lib/tables.ts';
import { runWithEnv } from './in-process.ts';

const SECRET_CREDENTIAL = 'sk-proj-Zq81xKp0aLw3vN5tY7uB9';

const chat = (url: string, secret: string, model = 'tollgate-echo'): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });

// `npm start` in-process: DynamoDB Local (Java) on a temp data dir, the gateway on a free port, the
// default cache TTLs (30 s), and the CLI in-process on the same data dir, as an operator runs them.
describe('changes through a running local gateway', { timeout: 60_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-control-'));
  const cli = (...argv: string[]) => runWithEnv({ TOLLGATE_DATA_DIR: dataDir }, ...argv);
  /** `routes set loop` to a loopback upstream that reads its key from `credential`. */
  const route = (credential: string, ...extra: string[]) =>
    cli(
      'routes',
      'set',
      'loop',
      '--provider',
      'openai-compatible',
      '--base-url',
      'http://127.0.0.1:9/v1',
      '--credential',
      credential,
      '--input-price',
      '1',
      '--output-price',
      '1',
      ...extra,
    );
  let local: RunningLocal;
  let url: string;

  beforeAll(async () => {
    local = await startLocal({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      env: { PRESENT_API_KEY: 'set-in-the-gateway-only' },
      print: () => {},
    });
    url = local.gateway.url;
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('publishes a control token in gateway.json, owner-readable only, and refuses control without it', async () => {
    const info = readGatewayInfo(dataDir);
    const flush = (headers: Record<string, string>) =>
      fetch(`${url}${CONTROL_PATH}/flush`, { method: 'POST', headers });

    expect(info?.controlToken).toBe(local.gateway.controlToken);
    expect((await flush({})).status).toBe(403);
    expect((await flush({ [CONTROL_TOKEN_HEADER]: 'wrong' })).status).toBe(403);
    // An API key is no control token: the path is never routed like a model call.
    expect((await flush({ authorization: `Bearer ${info?.controlToken}` })).status).toBe(403);
    expect((await flush({ [CONTROL_TOKEN_HEADER]: info?.controlToken ?? '' })).status).toBe(200);
  });

  it('revokes a key so that a request in the same second is refused with 401', async () => {
    // Prepare: a key that works, and is now in the gateway's 30 s key cache.
    await cli('accounts', 'create', 'acme');
    await cli('topup', 'acme', '5');
    const created = JSON.parse((await cli('keys', 'create', 'acme', '--json')).stdout) as Record<string, string>;
    const secret = created['key'] ?? '';
    const keyId = created['key_id'] ?? created['keyId'] ?? '';
    expect((await chat(url, secret)).status).toBe(200);

    // Act
    const started = Date.now();
    const revoke = await cli('keys', 'revoke', keyId);
    const after = await chat(url, secret);

    // Assess
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain(
      `; the running gateway on :${local.gateway.port} dropped its caches: effective now.`,
    );
    expect(after.status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('makes a new route answer at once, and says so in --json', async () => {
    // Prepare: the route table is cached without the model.
    const key = JSON.parse((await cli('keys', 'create', 'acme', '--json')).stdout) as Record<string, string>;
    const secret = key['key'] ?? '';
    expect((await chat(url, secret, 'my-echo')).status).toBe(404);

    // Act
    const set = await cli(
      'routes',
      'set',
      'my-echo',
      '--provider',
      'echo',
      '--input-price',
      '0',
      '--output-price',
      '0',
      '--json',
    );

    // Assess
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      gateway_cache: { effective: 'now', gateway_port: local.gateway.port },
    });
    expect((await chat(url, secret, 'my-echo')).status).toBe(200);
  });

  it("warns, without failing, when the running gateway's environment lacks the credential", async () => {
    const missing = await route('LOOP_API_KEY');
    const missingJson = await route('LOOP_API_KEY', '--json');
    // Set in the gateway's environment, not in the CLI's: the gateway was asked.
    const present = await route('PRESENT_API_KEY');

    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain(
      `tollgate: warning: The running gateway on :${local.gateway.port} has no environment variable LOOP_API_KEY`,
    );
    expect(JSON.parse(missingJson.stdout).warnings).toEqual([
      expect.stringContaining('has no environment variable LOOP_API_KEY'),
    ]);
    expect(present).toMatchObject({ code: 0, stderr: '' });
  });

  it('answers which credential names are set, never their values', async () => {
    const response = await fetch(`${url}${CONTROL_PATH}/credentials`, {
      method: 'POST',
      headers: { [CONTROL_TOKEN_HEADER]: local.gateway.controlToken },
      body: JSON.stringify({ names: ['PRESENT_API_KEY', 'LOOP_API_KEY', 'HOME'] }),
    });
    const text = await response.text();

    expect(JSON.parse(text)).toEqual({ set: ['PRESENT_API_KEY'], missing: ['LOOP_API_KEY', 'HOME'] });
    expect(text).not.toContain('set-in-the-gateway-only');
  });

  it('does not show a stored secret-looking credential in routes list', async () => {
    // Prepare: a route written straight into the table, before credential names were checked.
    const stored = await local.database.stores.routes.get('loop');
    await local.database.stores.routes.put({
      ...(stored as NonNullable<typeof stored>),
      credential: SECRET_CREDENTIAL,
    });

    const human = await cli('routes', 'list');
    const json = await cli('routes', 'list', '--json');

    expect(human.code).toBe(0);
    expect(human.stdout).toContain('loop');
    expect(human.stdout).not.toContain(SECRET_CREDENTIAL);
    expect(json.stdout).not.toContain(SECRET_CREDENTIAL);
    await cli('routes', 'delete', 'loop');
  });

  it('refuses an API key where a key id belongs, naming its id and never the secret', async () => {
    const created = JSON.parse((await cli('keys', 'create', 'acme', '--json')).stdout) as Record<string, string>;
    const secret = created['key'] ?? '';
    const keyId = created['key_id'] ?? created['keyId'] ?? '';

    const revoke = await cli('keys', 'revoke', secret);
    const set = await cli('keys', 'set', secret, '--rpm', '5', '--json');
    const unknown = await cli('keys', 'revoke', `sk-${'0'.repeat(48)}`);

    expect(revoke.code).toBe(2);
    expect(revoke.stderr).toContain('That is an API key, not a key id');
    expect(revoke.stderr).toContain(`it is ${keyId} of account acme`);
    expect(set.code).toBe(2);
    expect(JSON.parse(set.stdout).error.message).toContain('That is an API key, not a key id');
    expect(unknown.stderr).toContain('key ids look like key_0123456789abcdef');
    for (const run of [revoke, set]) expect(run.stdout + run.stderr).not.toContain(secret.slice(3));
    expect(unknown.stderr).not.toContain('0'.repeat(48));
    // The key still works: nothing was done with it.
    expect((await chat(url, secret)).status).toBe(200);
  });

  it('checks the CLI environment, with a note on npm start, once no gateway runs', async () => {
    await local.stop();

    const missing = await route('LOOP_API_KEY', '--json');

    expect(missing.code).toBe(0);
    const result = JSON.parse(missing.stdout);
    expect(result.gateway_cache).toEqual({ effective: 'on_start' });
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /LOOP_API_KEY is not set in this shell's environment: npm start reads the environment it is started with/,
      ),
    ]);
  });
});

describe('--credential that is a secret', () => {
  it('is refused as a usage error that never echoes the value', async () => {
    const argv = [
      'routes',
      'set',
      'x',
      '--provider',
      'openai-compatible',
      '--base-url',
      'https://api.example.com/v1',
      '--input-price',
      '1',
      '--output-price',
      '1',
      '--credential',
    ];
    const short = await runWithEnv({}, ...argv, 'sk-abc123');
    const project = await runWithEnv({}, ...argv, SECRET_CREDENTIAL, '--json');
    const aws = await runWithEnv({}, ...argv, 'AKIAIOSFODNN7EXAMPLE');

    expect(short.code).toBe(2);
    expect(short.stderr).toBe(
      "tollgate: The --credential value looks like a secret (starts with 'sk-'): pass the NAME of the environment variable that holds it, e.g. --credential OPENAI_API_KEY\n",
    );
    expect(project.code).toBe(2);
    expect(JSON.parse(project.stdout).error.message).toContain("starts with 'sk-proj-'");
    expect(project.stdout).not.toContain(SECRET_CREDENTIAL);
    expect(aws.code).toBe(2);
    expect(aws.stderr).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('tells names from secrets', () => {
    expect(secretShape('GROQ_API_KEY')).toBeUndefined();
    expect(secretShape('LOOP_KEY')).toBeUndefined();
    // Paths and ARNs are refused as names by the route check, and echoed: they are no secrets.
    expect(secretShape('../prod/OPENAI_API_KEY')).toBeUndefined();
    expect(secretShape('tollgate/prod/OPENAI_API_KEY')).toBeUndefined();
    expect(secretShape('arn:aws:secretsmanager:eu-west-1:123456789012:secret:X_API_KEY')).toBeUndefined();
    expect(secretShape('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe('is long and mixes letters and digits');
    expect(secretShape('sk-ant-api03-abc')).toBe("starts with 'sk-ant-'");
    expect(secretShape('q8Zr2mX0pLk4vN7tY1uB5cW9')).toBe('is long and mixes letters and digits');
  });
});

describe('changes on AWS', () => {
  const target = { kind: 'aws', region: 'eu-west-1', tables: tableNamesFromEnv({}, 'tollgate-prod') } as const;

  it("says how long Lambda instances may use the old value, from the gateway's own TTL", async () => {
    const keys = await flushGatewayCaches(target, {}, 'keys');
    const routes = await flushGatewayCaches(target, {}, 'routes');

    expect(keys).toEqual({
      effective: 'within_ttl',
      ttl_seconds: configFromEnv({}).keyCacheTtlMs / 1000,
      where: 'aws',
    });
    expect(describeCacheEffect(keys, 'keys')).toBe('Lambda instances may use the old key for up to 30 s (cache TTL).');
    expect(describeCacheEffect(routes, 'routes')).toBe(
      'Lambda instances may use the old routes for up to 30 s (cache TTL).',
    );
  });

  it('says where the gateway reads a credential there', async () => {
    const [warning] = await credentialWarnings(target, {}, 'GROQ_API_KEY', 'llama');

    expect(warning).toContain('Secrets Manager secret <SecretPrefix>GROQ_API_KEY');
    expect(warning).toContain('aws secretsmanager describe-secret --secret-id tollgate/<stage>/GROQ_API_KEY');
  });
});
