import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { StreamingResponse } from '../../lambdas/gateway/forward.ts';
import type { ProxyEvent } from '../../lambdas/middlewares/types.ts';

export interface EventOptions {
  method?: string;
  /** Lower-case names, as a function URL delivers them. */
  headers?: Record<string, string>;
  /** A string is sent as-is; anything else as JSON. */
  body?: unknown;
  isBase64Encoded?: boolean;
}

/**
 * An `APIGatewayProxyEventV2` as a Lambda function URL delivers it: `POST` unless told otherwise.
 *
 * @example proxyEvent('/v1/models', { method: 'GET', headers: { 'anthropic-version': '2023-06-01' } })
 */
export const proxyEvent = (path: string, options: EventOptions = {}): ProxyEvent => {
  const method = options.method ?? 'POST';
  const headers = options.headers ?? {};
  const event: ProxyEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'test',
      domainName: 'test.lambda-url.us-east-1.on.aws',
      domainPrefix: 'test',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: 'apigw-request',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1_767_225_600_000,
    },
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
  if (options.body !== undefined) {
    event.body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  return event;
};

let invocations = 0;

/** A Lambda `Context` with a fresh `awsRequestId` (pass one to name it). */
export const lambdaContext = (awsRequestId = `req-${++invocations}`): Context => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'tollgate-proxy',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:tollgate-proxy',
  memoryLimitInMB: '1024',
  awsRequestId,
  logGroupName: '/aws/lambda/tollgate-proxy',
  logStreamName: '2026/01/01/[$LATEST]test',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** What the handler behind the middleware under test answers: proof that the chain let the request through. */
export const REACHED: StreamingResponse = Object.freeze({ statusCode: 200, headers: {}, body: 'reached the handler' });

/** The handler behind the middleware under test. */
export const reachHandler = async (_event: ProxyEvent, _context: Context): Promise<StreamingResponse> => REACHED;

/** A Powertools logger that writes nothing. */
export const silentLogger = (): Logger => new Logger({ serviceName: 'tollgate-test', logLevel: 'SILENT' });
