import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOn } from '../cli/in-process.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * Secrets stay secret in every output the gateway and the CLI make: the providers' credentials and
 * the clients' keys appear in no log line, configuration report, error body, response header or
 * `--json` output — also when an upstream echoes the credential it was sent back in its error body.
 */
describe('secrets in outputs', () => {
  const OPENAI_SECRET = `sk-upstream-openai-${randomBytes(12).toString('hex')}`;
  const ANTHROPIC_SECRET = `sk-ant-upstream-${randomBytes(12).toString('hex')}`;
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let client: { accountId: string; secret: string };
  /** Everything written to stdout and stderr while the gateway ran (its structured logs included). */
  let written = '';
  const restore: (() => void)[] = [];
  const outputs: string[] = [];

  /** Every output seen so far, and the secrets none of them may contain. */
  const expectNoSecret = () => {
    const everything = [written, ...outputs, JSON.stringify(gateway.reports)].join('\n');
    for (const secret of [OPENAI_SECRET, ANTHROPIC_SECRET, client.secret]) {
      expect(everything.includes(secret), `an output contains ${secret.slice(0, 12)}…`).toBe(false);
    }
  };

  /** A request whose status, headers and body all count as outputs. */
  const call = async (secret: string, path: string, body: Record<string, unknown>) => {
    const response = await gateway.post(secret, path, body);
    const text = await response.text();
    outputs.push(JSON.stringify([...response.headers]), text);
    return { status: response.status, text };
  };

  beforeAll(async () => {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      // Captured, not echoed: the DEBUG logs would drown the test report.
      stream.write = ((chunk: string | Uint8Array) => {
        written += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
        return true;
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = write;
      });
    }
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', upstreamModel: 'gpt-upstream' });
    await putRoute(db, { model: 'claude', provider: 'anthropic', upstreamModel: 'claude-upstream' });
    gateway = await startTestGateway(
      db,
      {
        OPENAI_API_KEY: OPENAI_SECRET,
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        ANTHROPIC_API_KEY: ANTHROPIC_SECRET,
        ANTHROPIC_BASE_URL: upstream.url,
      },
      {},
      { logger: new Logger({ serviceName: 'tollgate-secrets-test', logLevel: 'DEBUG' }) },
    );
    client = await createAccountWithKey(db);
  });
  afterAll(async () => {
    for (const undo of restore) undo();
    await gateway?.close();
    await upstream?.close();
  });

  it('keeps them out of answers, logs and reports, whatever the request and however the upstream fails', async () => {
    // Answers, streamed and not, in both protocols
    for (const stream of [false, true]) {
      expect((await call(client.secret, '/v1/chat/completions', chat('gpt', stream))).status).toBe(200);
      expect((await call(client.secret, '/v1/messages', { ...chat('claude', stream), max_tokens: 32 })).status).toBe(
        200,
      );
    }
    // An upstream that refuses the gateway's credential and echoes it back, as some providers do
    for (const [model, path] of [
      ['gpt', '/v1/chat/completions'],
      ['claude', '/v1/messages'],
    ] as const) {
      upstream.enqueue({
        status: 401,
        body: {
          error: { message: `Incorrect API key provided: ${model === 'gpt' ? OPENAI_SECRET : ANTHROPIC_SECRET}` },
        },
      });
      const refused = await call(client.secret, path, { ...chat(model, false), max_tokens: 32 });
      expect(refused.status).toBe(500);
    }
    // An upstream error that is passed on to the client, with the credential in it
    upstream.enqueue({ status: 400, body: { error: { message: `Bad request for key ${OPENAI_SECRET}` } } });
    const passed = await call(client.secret, '/v1/chat/completions', chat('gpt', false));
    expect(passed.status).toBe(400);
    expect(passed.text).toContain('Bad request for key [redacted]');
    // A wrong client key that differs from a real one in its last character, and a malformed one
    const wrong = `${client.secret.slice(0, -1)}${client.secret.endsWith('0') ? '1' : '0'}`;
    expect((await call(wrong, '/v1/chat/completions', chat('gpt', false))).status).toBe(401);
    expect((await call(`${client.secret}-extra junk`, '/v1/chat/completions', chat('gpt', false))).status).toBe(401);
    // A client that puts its key in the body by mistake does not get it echoed back in the error
    expect((await call(client.secret, '/v1/chat/completions', { model: 'gpt', messages: client.secret })).status).toBe(
      400,
    );
    await settledUsage(db, client.accountId, 4);
    expect(gateway.reports.length).toBeGreaterThan(0);
    expect(written).toContain('request settled'); // the logs were captured
    expectNoSecret();
  });

  it("keeps the client's key out of every --json output of the CLI", async () => {
    for (const argv of [
      ['keys', 'list', client.accountId, '--json'],
      ['usage', client.accountId, '--json'],
      ['balance', client.accountId, '--json'],
      ['audit', client.accountId, '--json'],
      ['routes', 'list', '--json'],
    ]) {
      const run = await runOn(db, ...argv);
      expect(run.code, `${argv.join(' ')}: ${run.stderr}`).toBe(0);
      outputs.push(run.stdout, run.stderr);
    }
    expect((await audit(db, client.accountId)).difference).toBe(0);
    expectNoSecret();
  });
});

const chat = (model: string, stream: boolean) => ({
  model,
  stream,
  messages: [{ role: 'user', content: 'hello' }],
});
