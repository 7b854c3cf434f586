import { type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import middy from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFunctionUrlServer, installLambdaGlobals } from '../../lambdas/runtime/function-url.ts';

// Before any handler is built: middy's streaming mode calls awslambda.streamifyResponse when it builds one.
installLambdaGlobals();

type Options = Omit<Parameters<typeof createFunctionUrlServer>[0], 'handler'>;

const servers: Server[] = [];

const serve = async (handler: (...args: never[]) => unknown, options: Options = {}): Promise<number> => {
  const server = createFunctionUrlServer({ handler, ...options });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

afterEach(async () => {
  vi.restoreAllMocks();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

interface Chunk {
  text: string;
  /** When the client received it (monotonic, nanoseconds). */
  at: bigint;
}

interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  chunks: Chunk[];
  body: string;
}

interface Send {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string | Array<string>;
  onChunk?: (chunk: Chunk) => void;
}

const send = (
  port: number,
  { method = 'GET', path = '/', headers = {}, body, onChunk }: Send = {},
): Promise<Received> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Chunk[] = [];
      res.on('data', (data: Buffer) => {
        const chunk = { text: data.toString('utf8'), at: process.hrtime.bigint() };
        chunks.push(chunk);
        onChunk?.(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          chunks,
          body: chunks.map((c) => c.text).join(''),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const part of body) req.write(part);
      req.end();
    } else {
      req.end(body);
    }
  });

const streaming = (
  fn: (event: APIGatewayProxyEventV2, responseStream: awslambda.HttpResponseStream, context: Context) => Promise<void>,
) => awslambda.streamifyResponse<APIGatewayProxyEventV2>(fn);

describe('installLambdaGlobals', () => {
  it('defines the awslambda global once and keeps it on later calls', () => {
    const first = installLambdaGlobals();
    expect(installLambdaGlobals()).toBe(first);
    expect(Reflect.get(globalThis, 'awslambda')).toBe(first);
    expect(typeof awslambda.streamifyResponse).toBe('function');
    expect(typeof awslambda.HttpResponseStream.from).toBe('function');
  });

  it('refuses a handler that is not wrapped with streamifyResponse', () => {
    expect(() => createFunctionUrlServer({ handler: async () => ({ statusCode: 200 }) })).toThrow(TypeError);
  });
});

describe('function URL event', () => {
  it('gives the handler a payload format 2.0 event and a Lambda context', async () => {
    // Prepare
    const seen: { event?: APIGatewayProxyEventV2; context?: Context; remaining?: number } = {};
    const port = await serve(
      streaming(async (event, responseStream, context) => {
        Object.assign(seen, { event, context, remaining: context.getRemainingTimeInMillis() });
        responseStream.end('ok');
      }),
      { functionName: 'tollgate-test', timeoutMs: 60_000 },
    );

    // Act
    const response = await send(port, {
      method: 'POST',
      path: '/v1/chat/completions?b=2&a=1&a=3',
      headers: {
        'Content-Type': 'application/json',
        'X-Custom': ['one', 'two'],
        Cookie: 'session=abc; theme=dark',
        'User-Agent': 'tollgate-test-client',
      },
      body: '{"model":"gpt-4o","note":"héllo"}',
    });

    // Assess
    expect(response.status).toBe(200);
    const { event, context } = seen;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/v1/chat/completions',
      rawQueryString: 'b=2&a=1&a=3',
      queryStringParameters: { a: '1,3', b: '2' },
      cookies: ['session=abc', 'theme=dark'],
      body: '{"model":"gpt-4o","note":"héllo"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: 'anonymous',
        routeKey: '$default',
        stage: '$default',
        http: {
          method: 'POST',
          path: '/v1/chat/completions',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'tollgate-test-client',
        },
      },
    });
    expect(event?.headers).toMatchObject({
      'content-type': 'application/json',
      'x-custom': 'one,two',
      'user-agent': 'tollgate-test-client',
      host: `127.0.0.1:${port}`,
    });
    expect(event?.headers).not.toHaveProperty('cookie');
    expect(event?.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof event?.requestContext.timeEpoch).toBe('number');
    expect(event?.requestContext.requestId).toBe(context?.awsRequestId);
    expect(response.headers['x-amzn-requestid']).toBe(context?.awsRequestId);
    expect(context).toMatchObject({ functionName: 'tollgate-test', functionVersion: '$LATEST' });
    expect(context?.invokedFunctionArn).toMatch(/:function:tollgate-test$/);
    expect(seen.remaining).toBeGreaterThan(0);
    expect(seen.remaining).toBeLessThanOrEqual(60_000);
  });

  it('base64-encodes a binary body and omits an absent one', async () => {
    // Prepare
    const events: APIGatewayProxyEventV2[] = [];
    const port = await serve(
      streaming(async (event, responseStream) => {
        events.push(event);
        responseStream.end();
      }),
    );
    const bytes = Buffer.from([0, 255, 128, 10, 13, 0x7f]);

    // Act
    await send(port, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    await send(port, { method: 'GET', path: '/v1/models' });

    // Assess
    const [binary, empty] = events;
    expect(binary?.isBase64Encoded).toBe(true);
    expect(Buffer.from(binary?.body ?? '', 'base64')).toEqual(bytes);
    expect(empty?.body).toBeUndefined();
    expect(empty?.isBase64Encoded).toBe(false);
    expect(empty?.queryStringParameters).toBeUndefined();
    expect(empty?.cookies).toBeUndefined();
  });
});

describe('function URL response', () => {
  it('sends the status, headers and cookies of the prelude', async () => {
    // Prepare
    const handler = middy({ executionMode: executionModeStreamifyResponse }).handler(() => ({
      statusCode: 201,
      headers: { 'content-type': 'application/json', 'x-tollgate': 'yes' },
      cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
      body: '{"created":true}',
    }));
    const port = await serve(handler);

    // Act
    const response = await send(port);

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['x-tollgate']).toBe('yes');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.body).toBe('{"created":true}');
  });

  it('answers 200 application/octet-stream when the handler sets no prelude', async () => {
    // Prepare
    const port = await serve(
      streaming(async (_event, responseStream) => {
        responseStream.write('raw ');
        responseStream.end('bytes');
      }),
    );

    // Act
    const response = await send(port);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.body).toBe('raw bytes');
  });

  it('streams each chunk to the client as soon as the handler writes it', async () => {
    // Prepare: the second chunk is only produced once the client holds the first, so buffering would hang here.
    const firstReceived = Promise.withResolvers<void>();
    async function* events() {
      yield 'data: one\n\n';
      await firstReceived.promise;
      yield 'data: two\n\n';
    }
    const handler = middy({ executionMode: executionModeStreamifyResponse }).handler(() => ({
      statusCode: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: Readable.from(events()),
    }));
    const port = await serve(handler);

    // Act
    const response = await send(port, {
      onChunk: (chunk) => {
        if (chunk.text.includes('one')) firstReceived.resolve();
      },
    });

    // Assess
    expect(response.headers['content-type']).toBe('text/event-stream');
    expect(response.chunks.map((chunk) => chunk.text)).toEqual(['data: one\n\n', 'data: two\n\n']);
    const [first, second] = response.chunks;
    expect(second && first && second.at > first.at).toBe(true);
  });

  it('streams chunk by chunk from a raw streamifyResponse handler', async () => {
    // Prepare
    const firstReceived = Promise.withResolvers<void>();
    const port = await serve(
      streaming(async (_event, responseStream) => {
        const stream = awslambda.HttpResponseStream.from(responseStream, {
          statusCode: 200,
          headers: { 'content-type': 'text/plain' },
        });
        stream.write('first;');
        await firstReceived.promise;
        stream.end('second');
      }),
    );

    // Act
    const response = await send(port, { onChunk: () => firstReceived.resolve() });

    // Assess
    expect(response.chunks.map((chunk) => chunk.text)).toEqual(['first;', 'second']);
  });
});

describe('function URL failures', () => {
  it('answers 502 without the error details when the handler fails before the first byte', async () => {
    // Prepare
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const handler = middy({ executionMode: executionModeStreamifyResponse }).handler(() => {
      throw new Error('upstream rejected key sk-secret-123');
    });
    const port = await serve(handler);

    // Act
    const response = await send(port, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

    // Assess
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toBe('Internal Server Error');
    expect(response.body).not.toContain('sk-secret');
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('invocation failed'), expect.any(Error));
  });

  it('ends the response with what was sent when the handler fails mid-stream', async () => {
    // Prepare
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const port = await serve(
      streaming(async (_event, responseStream) => {
        const stream = awslambda.HttpResponseStream.from(responseStream, { statusCode: 200 });
        stream.write('partial');
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('upstream reset');
      }),
    );

    // Act
    const response = await send(port);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toBe('partial');
  });

  it('errors the response stream when the client disconnects, and keeps serving', async () => {
    // Prepare
    const closed = Promise.withResolvers<{ error: unknown; destroyed: boolean; lateWriteThrew: boolean }>();
    let calls = 0;
    const port = await serve(
      streaming(async (_event, responseStream) => {
        calls += 1;
        if (calls > 1) {
          responseStream.end('still up');
          return;
        }
        // No 'error' listener on purpose: an unheard stream error must not crash the process.
        responseStream.on('close', () => {
          let lateWriteThrew = false;
          try {
            responseStream.write('after the client left');
          } catch {
            lateWriteThrew = true;
          }
          closed.resolve({ error: responseStream.errored, destroyed: responseStream.destroyed, lateWriteThrew });
        });
        responseStream.write('first');
        await closed.promise;
      }),
    );

    // Act: the client hangs up as soon as the first chunk arrives.
    const client = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.once('data', () => client.destroy());
    });
    client.on('error', () => {});
    client.end();
    const seen = await closed.promise;
    const next = await send(port);

    // Assess
    expect(seen.destroyed).toBe(true);
    expect(seen.error).toBeInstanceOf(Error);
    expect(seen.lateWriteThrew).toBe(false);
    expect(next.status).toBe(200);
    expect(next.body).toBe('still up');
  });

  it('answers 413 without invoking the handler when the body is larger than the limit', async () => {
    // Prepare
    let calls = 0;
    const port = await serve(
      streaming(async (_event, responseStream) => {
        calls += 1;
        responseStream.end('ok');
      }),
      { maxRequestBytes: 16 },
    );

    // Act
    const declared = await send(port, { method: 'POST', body: 'x'.repeat(17) });
    const chunked = await send(port, { method: 'POST', body: ['x'.repeat(10), 'y'.repeat(10)] });
    const fits = await send(port, { method: 'POST', body: 'x'.repeat(16) });

    // Assess
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toHaveProperty('Message');
    expect(chunked.status).toBe(413);
    expect(fits.status).toBe(200);
    expect(calls).toBe(1);
  });

  it('ends the response and the handler stream when the timeout elapses', async () => {
    // Prepare
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const streamClosed = Promise.withResolvers<void>();
    const port = await serve(
      streaming(async (_event, responseStream) => {
        responseStream.on('close', () => streamClosed.resolve());
        responseStream.write('started');
        await streamClosed.promise;
      }),
      { timeoutMs: 100 },
    );

    // Act
    const response = await send(port);
    await streamClosed.promise;

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toBe('started');
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('Task timed out after 0.10 seconds'));
  });
});
