import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigurationReport, createReporter } from '../../lambdas/reports/reporter.ts';
import { SnsReportSink } from '../../lambdas/reports/sns.ts';

interface Published {
  action: string | null;
  topicArn: string | null;
  subject: string | null;
  message: string | null;
}

/** A fake SNS endpoint on 127.0.0.1 speaking the real Query protocol (form in, XML out). */
const startFakeSns = async () => {
  const published: Published[] = [];
  let failNext = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      if (failNext > 0) {
        failNext -= 1;
        response.writeHead(500, { 'content-type': 'text/xml' });
        response.end(
          '<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>boom</Message></Error><RequestId>r</RequestId></ErrorResponse>',
        );
        return;
      }
      const form = new URLSearchParams(body);
      published.push({
        action: form.get('Action'),
        topicArn: form.get('TopicArn'),
        subject: form.get('Subject'),
        message: form.get('Message'),
      });
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-${published.length}</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`,
      );
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    published,
    failOnce: () => {
      failNext = 1;
    },
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
};

const report = (overrides: Partial<ConfigurationReport> = {}): ConfigurationReport => ({
  kind: 'missing_credential',
  model: 'claude-sonnet-4-6',
  provider: 'anthropic',
  message: "Model 'claude-sonnet-4-6' is not available: the gateway has no credential for its provider.",
  hint: 'Set Secrets Manager secret tollgate/prod/ANTHROPIC_API_KEY',
  requestId: 'req-1',
  functionName: 'tollgate-proxy',
  time: '2026-11-25T12:00:00.000Z',
  ...overrides,
});

describe('configuration-error reports through SNS', () => {
  let sns: Awaited<ReturnType<typeof startFakeSns>>;
  let client: SNSClient;
  const topicArn = 'arn:aws:sns:eu-west-1:123456789012:tollgate-reports';

  beforeAll(async () => {
    sns = await startFakeSns();
    client = new SNSClient({
      endpoint: sns.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await sns?.close();
  });

  it('publishes a subject to triage by and a JSON body an operator can act on', async () => {
    const reporter = createReporter(new SnsReportSink(topicArn, client));
    reporter.report(report());
    await reporter.flush();
    expect(sns.published).toHaveLength(1);
    const [sent] = sns.published;
    expect(sent).toMatchObject({ action: 'Publish', topicArn });
    expect(sent?.subject).toBe('Tollgate configuration error: missing_credential (claude-sonnet-4-6)');
    expect(JSON.parse(sent?.message ?? '{}')).toEqual(report());
  });

  it('deduplicates per kind and model for the window, and reports a different kind or model at once', async () => {
    sns.published.length = 0;
    const reporter = createReporter(new SnsReportSink(topicArn, client), { windowMs: 60_000 });
    for (let i = 0; i < 5; i += 1) reporter.report(report({ requestId: `req-${i}` }));
    reporter.report(report({ kind: 'upstream_auth' }));
    reporter.report(report({ model: 'gpt-5.2' }));
    await reporter.flush();
    expect(sns.published.map((p) => p.subject)).toEqual([
      'Tollgate configuration error: missing_credential (claude-sonnet-4-6)',
      'Tollgate configuration error: upstream_auth (claude-sonnet-4-6)',
      'Tollgate configuration error: missing_credential (gpt-5.2)',
    ]);
  });

  it('never throws into the request when SNS fails, and tells the operator through the error hook', async () => {
    sns.published.length = 0;
    const failures: unknown[] = [];
    const reporter = createReporter(new SnsReportSink(topicArn, client), {
      onPublishError: (error) => failures.push(error),
    });
    sns.failOnce();
    expect(() => reporter.report(report())).not.toThrow();
    await reporter.flush();
    expect(failures).toHaveLength(1);
    expect(sns.published).toHaveLength(0);
  });

  it('keeps subjects within SNS limits (100 printable ASCII characters)', async () => {
    sns.published.length = 0;
    const reporter = createReporter(new SnsReportSink(topicArn, client));
    reporter.report(report({ model: `modèle-${'x'.repeat(200)}` }));
    await reporter.flush();
    const subject = sns.published[0]?.subject ?? '';
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });
});
