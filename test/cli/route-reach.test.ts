import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { runOn } from './in-process.ts';

describe('routes can only reach what they are meant to (routes set, routes import)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  const set = (model: string, ...flags: string[]) =>
    runOn(db, 'routes', 'set', model, '--input-price', '1', '--output-price', '2', ...flags);
  let count = 0;
  const saved = async (model: string) => (await db.stores.routes.get(model)) !== undefined;

  describe('credential names', () => {
    it.each([
      ['HOME', 'an environment variable that is not a credential'],
      ['PATH', 'an environment variable that is not a credential'],
      ['AWS_SECRET_ACCESS_KEY', 'the AWS_ namespace'],
      ['AWS_SESSION_TOKEN', 'the AWS_ namespace'],
      ['AWS_BEDROCK_API_KEY', 'the AWS_ namespace, even ending in _API_KEY'],
      ['TOLLGATE_OPENAI_API_KEY', 'the TOLLGATE_ namespace, even ending in _API_KEY'],
      ['GITHUB_TOKEN', 'not ending in _API_KEY'],
      ['openai_api_key', 'lower case'],
      ['../prod/OPENAI_API_KEY', 'a path out of the stage secret prefix'],
      ['tollgate/prod/OPENAI_API_KEY', 'another stage secret'],
      ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:X_API_KEY', 'an ARN'],
      ['_API_KEY', 'no name before the suffix'],
    ])('refuses %s (%s) with exit 2, and saves nothing', async (credential) => {
      const model = `cred-${count++}`;
      const result = await set(model, '--provider', 'openai', '--credential', credential);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Invalid credential name '${credential}'`);
      expect(result.stderr).toContain('ending in _API_KEY');
      expect(await saved(model)).toBe(false);
    });

    it.each(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GROQ_API_KEY', 'AZURE_OPENAI_API_KEY', 'X2_API_KEY'])(
      'accepts %s',
      async (credential) => {
        const model = `ok-${credential.toLowerCase()}`;
        const result = await set(model, '--provider', 'openai', '--credential', credential);

        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect((await db.stores.routes.get(model))?.credential).toBe(credential);
      },
    );
  });

  describe('base URLs', () => {
    it.each([
      ['http://169.254.169.254/latest', [], 'cloud metadata address (never allowed)'],
      ['https://169.254.169.254/latest', ['--allow-private'], 'cloud metadata address (never allowed)'],
      ['http://[fd00:ec2::254]/', ['--allow-http', '--allow-private'], 'cloud metadata address'],
      ['http://[::ffff:169.254.169.254]/', ['--allow-http', '--allow-private'], 'cloud metadata address'],
      ['http://2852039166/', ['--allow-http', '--allow-private'], 'cloud metadata address'],
      ['https://metadata.google.internal/computeMetadata/v1', ['--allow-private'], 'cloud metadata host'],
      ['https://169.254.10.1/v1', ['--allow-private'], 'link-local'],
      ['https://[fe80::1]/v1', ['--allow-private'], 'link-local'],
      ['https://0.0.0.0/v1', ['--allow-private'], 'not a unicast address'],
      ['https://10.0.0.5/v1', [], 'private range'],
      ['https://172.16.3.4/v1', [], 'private range'],
      ['https://192.168.1.10/v1', [], 'private range'],
      ['https://100.64.0.1/v1', [], 'private range'],
      ['https://[fd12:3456::1]/v1', [], 'private range'],
      ['http://api.example.com/v1', [], 'plain http is allowed only to loopback'],
      ['http://10.0.0.5/v1', ['--allow-private'], 'plain http is allowed only to loopback'],
    ])('refuses %s %j with exit 2, naming the rule, and saves nothing', async (baseUrl, flags, rule) => {
      const model = `url-${count++}`;
      const result = await set(model, '--provider', 'openai-compatible', '--base-url', baseUrl, ...flags);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Refused base URL '${baseUrl}'`);
      expect(result.stderr).toContain(rule);
      expect(await saved(model)).toBe(false);
    });

    it.each([
      ['https://api.groq.com/openai/v1', []],
      ['http://127.0.0.1:8080/v1', []],
      ['http://localhost:11434/v1', []],
      ['http://[::1]:8080/v1', []],
      ['https://10.0.0.5/v1', ['--allow-private']],
      ['http://10.0.0.5:8000/v1', ['--allow-private', '--allow-http']],
      ['http://vllm.example.com/v1', ['--allow-http']],
    ])('accepts %s %j and stores the flags on the route', async (baseUrl, flags) => {
      const model = `url-ok-${count++}`;
      const result = await set(model, '--provider', 'openai-compatible', '--base-url', baseUrl, ...flags, '--json');

      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const stored = await db.stores.routes.get(model);
      expect(stored?.baseUrl).toBe(baseUrl);
      expect(stored?.allowHttp).toBe(flags.includes('--allow-http') ? true : undefined);
      expect(stored?.allowPrivate).toBe(flags.includes('--allow-private') ? true : undefined);
      expect(JSON.parse(result.stdout).route).toMatchObject(
        flags.includes('--allow-private') ? { allow_private: true } : { allow_private: false },
      );
    });
  });

  it('refuses a catalogue with one unreachable route, and writes none of it', async () => {
    const file = join(tmpdir(), `tollgate-reach-${process.pid}.json`);
    const prices = { input: '1', output: '2' };
    await writeFile(
      file,
      JSON.stringify({
        routes: [
          { model: 'cat-fine', provider: 'openai', credential: 'OPENAI_API_KEY', prices },
          { model: 'cat-metadata', provider: 'openai-compatible', baseUrl: 'http://169.254.169.254/v1', prices },
        ],
      }),
    );

    const result = await runOn(db, 'routes', 'import', file);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('routes[1] (cat-metadata): Refused base URL');
    expect(result.stderr).toContain('cloud metadata address');
    expect(await saved('cat-fine')).toBe(false);
    expect(await saved('cat-metadata')).toBe(false);
  });

  it('refuses a catalogue route naming HOME as its credential', async () => {
    const file = join(tmpdir(), `tollgate-reach-home-${process.pid}.json`);
    await writeFile(
      file,
      JSON.stringify({
        routes: [{ model: 'cat-home', provider: 'openai', credential: 'HOME', prices: { input: '1', output: '2' } }],
      }),
    );

    const result = await runOn(db, 'routes', 'import', file);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Invalid credential name 'HOME'");
    expect(await saved('cat-home')).toBe(false);
  });

  it('imports the flags back from routes list --json', async () => {
    await set(
      'round-trip',
      '--provider',
      'openai-compatible',
      '--base-url',
      'http://10.1.2.3/v1',
      '--allow-private',
      '--allow-http',
    );
    const listed = JSON.parse((await runOn(db, 'routes', 'list', '--json')).stdout) as { data: { model: string }[] };
    const file = join(tmpdir(), `tollgate-reach-round-${process.pid}.json`);
    await writeFile(
      file,
      JSON.stringify({ ...listed, data: listed.data.filter((route) => route.model === 'round-trip') }),
    );
    await db.stores.routes.delete('round-trip');

    const result = await runOn(db, 'routes', 'import', file);

    expect(result.code).toBe(0);
    expect(await db.stores.routes.get('round-trip')).toMatchObject({ allowHttp: true, allowPrivate: true });
  });
});
