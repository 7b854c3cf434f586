/**
 * Provider credentials on AWS: the real Powertools Parameters and AWS SDK against a fake Secrets
 * Manager on 127.0.0.1 that speaks its JSON 1.1 wire format (reached through AWS_ENDPOINT_URL_SECRETS_MANAGER).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialNameError, secretsManagerCredentials } from '../../lambdas/providers/credentials.ts';

const SECRETS: Record<string, string> = { 'tollgate/test/GROQ_API_KEY': 'gsk-from-secrets-manager' };
const asked: { target: string | undefined; secretId: unknown }[] = [];

const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
};

let server: Server;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readJson(req);
    const target = req.headers['x-amz-target'] as string | undefined;
    asked.push({ target, secretId: body['SecretId'] });
    const value = SECRETS[String(body['SecretId'])];
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    if (target !== 'secretsmanager.GetSecretValue' || value === undefined) {
      res.writeHead(400);
      res.end(
        JSON.stringify({
          __type: 'ResourceNotFoundException',
          Message: "Secrets Manager can't find the specified secret.",
        }),
      );
      return;
    }
    res.end(
      JSON.stringify({
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${body['SecretId']}-AbCdEf`,
        Name: body['SecretId'],
        SecretString: value,
        VersionId: 'b3a9c1d2-0000-4000-8000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1796000000,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  for (const [name, value] of Object.entries(env)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('secretsManagerCredentials', () => {
  it('reads <prefix><name> once and answers later reads from its cache', async () => {
    const source = secretsManagerCredentials('tollgate/test/');
    expect(await source.get('GROQ_API_KEY')).toBe('gsk-from-secrets-manager');
    expect(await source.get('GROQ_API_KEY')).toBe('gsk-from-secrets-manager');
    const reads = asked.filter((entry) => entry.secretId === 'tollgate/test/GROQ_API_KEY');
    expect(reads).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: 'tollgate/test/GROQ_API_KEY' }]);
    expect(source.describe('GROQ_API_KEY')).toBe('Secrets Manager secret tollgate/test/GROQ_API_KEY');
  });

  it('answers undefined for a secret that does not exist', async () => {
    expect(await secretsManagerCredentials('tollgate/test/').get('MISSING_API_KEY')).toBeUndefined();
  });

  it('never asks for a name that is not a credential name', async () => {
    const before = asked.length;
    await expect(secretsManagerCredentials('tollgate/test/').get('../prod/OPENAI_API_KEY')).rejects.toBeInstanceOf(
      CredentialNameError,
    );
    expect(asked.length).toBe(before);
  });
});
