import { describe, expect, it } from 'vitest';
import { baseUrlRefusal, createReach } from '../../lambdas/gateway/reach.ts';
import { CredentialNameError, envCredentials, secretsManagerCredentials } from '../../lambdas/providers/credentials.ts';
import { isCredentialName } from '../../lambdas/vocabulary.ts';

describe('credential names', () => {
  it.each(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GROQ_API_KEY', 'AZURE_OPENAI_API_KEY', 'X_API_KEY', 'V2_API_KEY'])(
    'accepts %s',
    (name) => expect(isCredentialName(name)).toBe(true),
  );

  it.each([
    'HOME',
    'PATH',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_X_API_KEY',
    'TOLLGATE_X_API_KEY',
    'GITHUB_TOKEN',
    'OPENAI_API_KEY ',
    'openai_api_key',
    '_API_KEY',
    'A__API_KEY',
    '1_API_KEY',
    '../OPENAI_API_KEY',
    'x/OPENAI_API_KEY',
    'OPENAI.API_KEY',
    `${'A'.repeat(121)}_API_KEY`,
  ])('refuses %j', (name) => expect(isCredentialName(name)).toBe(false));

  it('never reads a refused name from the environment', async () => {
    const reads: string[] = [];
    const env = new Proxy({ HOME: '/root' } as NodeJS.ProcessEnv, {
      get: (target, name) => {
        reads.push(String(name));
        return Reflect.get(target, name);
      },
    });

    await expect(envCredentials(env).get('HOME')).rejects.toThrow(CredentialNameError);
    expect(reads).toEqual([]);
  });

  it('cannot name a secret outside the stage prefix (refused before Secrets Manager is called)', async () => {
    const source = secretsManagerCredentials('tollgate/dev/');
    for (const name of ['../prod/OPENAI_API_KEY', 'arn:aws:secretsmanager:eu-west-1:1:secret:X', 'OPENAI_API_KEY/x']) {
      await expect(source.get(name)).rejects.toThrow(CredentialNameError);
    }
  });
});

describe('base URL rules', () => {
  const none = { allowHttp: false, allowPrivate: false };
  const refusal = (url: string, rules: { local: boolean; allowHttp?: boolean; allowPrivate?: boolean }) =>
    baseUrlRefusal(new URL(url), { ...none, ...rules });

  it.each([
    'http://169.254.169.254/latest',
    'https://169.254.169.254/',
    'https://[::ffff:169.254.169.254]/',
    'https://[::ffff:a9fe:a9fe]/',
    'https://0xa9fea9fe/',
    'https://169.254.43518/',
    'https://[fd00:ec2::254]/',
    'https://100.100.100.200/',
    'https://169.254.170.2/v2/credentials',
    'https://metadata.google.internal/',
    'https://METADATA.GOOGLE.INTERNAL./',
    'https://instance-data/',
    'https://[fe80::1]/',
    'https://169.254.1.1/',
    'https://0.0.0.0/',
    'https://255.255.255.255/',
    'https://[ff02::1]/',
  ])('refuses %s whatever the flags and the mode', (url) => {
    expect(refusal(url, { local: true, allowHttp: true, allowPrivate: true })).toMatch(
      /never allowed|not a unicast|metadata/,
    );
  });

  it('refuses private ranges unless the route allows them', () => {
    for (const url of [
      'https://10.0.0.1/',
      'https://172.31.255.255/',
      'https://192.168.0.1/',
      'https://100.127.0.1/',
      'https://[fc00::1]/',
      'https://[fd12::1]/',
      'https://[64:ff9b::a00:1]/',
    ]) {
      expect(refusal(url, { local: true }), url).toContain('private range');
      expect(refusal(url, { local: false, allowPrivate: true }), url).toBeUndefined();
    }
    expect(refusal('https://172.32.0.1/', { local: false })).toBeUndefined();
  });

  it('allows loopback under the local gateway, over http too; elsewhere only with --allow-private', () => {
    for (const url of [
      'http://127.0.0.1:8080/v1',
      'http://[::1]/',
      'http://localhost:11434/v1',
      'http://a.localhost/',
    ]) {
      expect(refusal(url, { local: true }), url).toBeUndefined();
      expect(refusal(url, { local: false }), url).toContain('plain http');
      expect(refusal(url.replace('http:', 'https:'), { local: false }), url).toContain('is loopback');
      expect(refusal(url.replace('http:', 'https:'), { local: false, allowPrivate: true }), url).toBeUndefined();
    }
  });

  it('wants https, and plain http only with --allow-http', () => {
    expect(refusal('https://api.groq.com/openai/v1', { local: false })).toBeUndefined();
    expect(refusal('http://api.groq.com/openai/v1', { local: false })).toContain('--allow-http');
    expect(refusal('http://api.groq.com/openai/v1', { local: true })).toContain('--allow-http');
    expect(refusal('http://api.groq.com/openai/v1', { local: false, allowHttp: true })).toBeUndefined();
    expect(refusal('ftp://api.groq.com/', { local: false, allowHttp: true })).toContain('not http(s)');
  });

  it('checks resolved addresses with the same rules, one guard (and pool) per kind of route', () => {
    const strict = createReach();
    const local = createReach({ local: true });
    const https = new URL('https://api.example.com/v1');
    const http = new URL('http://fake.localhost/v1');

    expect(strict.guard(https, {}).refusal('127.0.0.1')).toContain('is loopback');
    expect(strict.guard(https, {}).refusal('10.0.0.1')).toContain('private range');
    expect(strict.guard(https, { allowPrivate: true }).refusal('10.0.0.1')).toBeUndefined();
    expect(strict.guard(https, { allowPrivate: true }).refusal('169.254.169.254')).toContain('metadata');
    expect(strict.guard(https, {}).refusal('203.0.113.7')).toBeUndefined();
    expect(local.guard(http, {}).refusal('127.0.0.1')).toBeUndefined();
    expect(local.guard(http, {}).refusal('::1')).toBeUndefined();
    expect(local.guard(http, {}).refusal('203.0.113.7')).toContain('is not loopback');
    expect(local.guard(http, { allowHttp: true }).refusal('203.0.113.7')).toBeUndefined();
    expect(strict.guard(https, {})).toBe(strict.guard(new URL('https://other.example/'), {}));
    expect(strict.guard(https, {})).not.toBe(strict.guard(https, { allowPrivate: true }));
  });
});
