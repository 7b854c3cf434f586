import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { APIGatewayProxyEventV2, Context, StreamifyHandler } from 'aws-lambda';

// Names and wire constants of the Node.js runtime interface client (aws-lambda-nodejs-runtime-interface-client).
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const PRELUDE_DELIMITER = Buffer.alloc(8);
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_PRELUDE_BYTES = 1024 * 1024;
// Hop-by-hop and framing headers: the function URL always streams chunked.
const DROPPED_RESPONSE_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** The HTTP metadata a streaming handler hands to `awslambda.HttpResponseStream.from`. */
export interface HttpResponsePrelude {
  statusCode?: number;
  headers?: Record<string, string | number | boolean>;
  cookies?: string[];
}

/** A handler wrapped by `awslambda.streamifyResponse`, as the function URL invokes it. */
export type StreamingHandler = StreamifyHandler<APIGatewayProxyEventV2, unknown>;

/** The `awslambda` global this module installs (the same shape the Lambda Node.js runtime provides). */
export interface AwsLambdaGlobal {
  streamifyResponse<T extends object>(handler: T, options?: { highWaterMark?: number }): T;
  HttpResponseStream: { from(stream: Writable, prelude: Record<string, unknown>): Writable };
}

export interface FunctionUrlServerOptions {
  /** The handler module's export: a `streamifyResponse` handler (raw or built by middy's streaming mode). */
  handler: (...args: never[]) => unknown;
  /** Used in the context (`functionName`, ARN, log group). Default `tollgate-proxy`. */
  functionName?: string;
  /** The function's timeout: the response is ended when it elapses. Default 900000 (15 minutes). */
  timeoutMs?: number;
  /** Larger request bodies answer 413 without invoking. Default 6 MiB, Lambda's invocation payload limit. */
  maxRequestBytes?: number;
}

type WriteCallback = (error?: Error | null) => void;
type PreludeWrite = (chunk: string | Uint8Array) => void;

interface PreludeTarget {
  setContentType(contentType: string): void;
  _onBeforeFirstWrite?: (write: PreludeWrite) => void;
}

/** The runtime's `HttpResponseStream`: JSON prelude + 8 NUL bytes written just before the first body byte. */
const HttpResponseStream = {
  from(stream: Writable, prelude: Record<string, unknown>): Writable {
    const target = stream as Writable & Partial<PreludeTarget>;
    if (typeof target.setContentType !== 'function') {
      throw new TypeError('HttpResponseStream.from expects the response stream given to a streamifyResponse handler');
    }
    target.setContentType(PRELUDE_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    target._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(PRELUDE_DELIMITER.length));
    };
    return stream;
  },
};

const streamifyResponse = <T extends object>(handler: T, options?: { highWaterMark?: number }): T => {
  Object.defineProperty(handler, HANDLER_STREAMING, { value: STREAM_RESPONSE, configurable: true });
  if (typeof options?.highWaterMark === 'number') {
    Object.defineProperty(handler, HANDLER_HIGHWATERMARK, { value: options.highWaterMark, configurable: true });
  }
  return handler;
};

/**
 * Defines `globalThis.awslambda` (`streamifyResponse`, `HttpResponseStream`) as the Lambda Node.js runtime
 * does. Idempotent, and keeps a real runtime's global when there is one. Call it before importing the handler
 * module: middy's streaming mode calls `awslambda.streamifyResponse` when the handler is built.
 *
 * Types: `@types/aws-lambda` already declares the global `awslambda` namespace; it is in scope wherever
 * `aws-lambda` types are imported (this module imports them).
 *
 * @example
 * installLambdaGlobals();
 * const { handler } = await import('../lambdas/proxy.ts');
 */
export const installLambdaGlobals = (): AwsLambdaGlobal => {
  const existing = Reflect.get(globalThis, 'awslambda') as Partial<AwsLambdaGlobal> | undefined;
  if (existing?.streamifyResponse && existing.HttpResponseStream) return existing as AwsLambdaGlobal;
  const value: AwsLambdaGlobal = { ...existing, streamifyResponse, HttpResponseStream };
  Object.defineProperty(globalThis, 'awslambda', { value, writable: true, configurable: true });
  return value;
};

const clientGoneError = (): Error =>
  Object.assign(new Error('The client closed the connection before the response ended'), { code: 'ECONNRESET' });

/** The function URL side: turns what the handler writes into one chunked HTTP response, byte for byte. */
class FunctionUrlResponse {
  contentType = DEFAULT_CONTENT_TYPE;
  readonly #res: ServerResponse;
  #preludeBytes = Buffer.alloc(0);
  #prelude: HttpResponsePrelude | undefined;
  #started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** True once the status line and headers have been handed to the socket. */
  get started(): boolean {
    return this.#started;
  }

  write(chunk: Buffer, callback: WriteCallback): void {
    let body: Buffer | undefined;
    try {
      body = this.#decode(chunk);
      if (body !== undefined && !this.#started) this.#start();
    } catch (error) {
      callback(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (body === undefined) callback();
    else this.#send(body, callback);
  }

  end(callback: WriteCallback): void {
    if (this.#res.destroyed) {
      callback(clientGoneError());
    } else if (!this.#started && this.#preludeBytes.length > 0) {
      callback(new Error('The response prelude was never terminated'));
    } else {
      try {
        if (!this.#started) this.#start();
      } catch (error) {
        callback(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.#res.end();
      callback();
    }
  }

  #decode(chunk: Buffer): Buffer | undefined {
    if (this.#started || this.contentType !== PRELUDE_CONTENT_TYPE) return chunk;
    const bytes = Buffer.concat([this.#preludeBytes, chunk]);
    const at = bytes.indexOf(PRELUDE_DELIMITER);
    if (at === -1) {
      if (bytes.length > MAX_PRELUDE_BYTES) throw new Error('The response prelude is too large');
      this.#preludeBytes = bytes;
      return undefined;
    }
    this.#prelude = parsePrelude(bytes.subarray(0, at));
    this.#preludeBytes = Buffer.alloc(0);
    return bytes.subarray(at + PRELUDE_DELIMITER.length);
  }

  #start(): void {
    const { statusCode = 200, headers = {}, cookies = [] } = this.#prelude ?? {};
    if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
      throw new Error(`The response prelude has an invalid statusCode: ${statusCode}`);
    }
    const res = this.#res;
    if (!this.#prelude) res.setHeader('content-type', this.contentType);
    for (const [name, value] of Object.entries(headers)) {
      if (!DROPPED_RESPONSE_HEADERS.has(name.toLowerCase())) res.setHeader(name, String(value));
    }
    if (!res.hasHeader('content-type')) res.setHeader('content-type', DEFAULT_CONTENT_TYPE);
    if (cookies.length > 0) res.setHeader('set-cookie', cookies);
    res.writeHead(statusCode);
    // The headers leave now, as a function URL sends them once the prelude ends — in one write with
    // whatever the handler writes in this same tick (a whole answer's body), not a write of their own.
    const socket = res.socket;
    socket?.cork();
    res.flushHeaders();
    if (socket) process.nextTick(() => socket.uncork());
    this.#started = true;
  }

  #send(body: Buffer, callback: WriteCallback): void {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) {
      callback(clientGoneError());
      return;
    }
    if (body.length === 0 || res.write(body)) {
      callback();
      return;
    }
    const onDrain = (): void => {
      res.off('close', onClose);
      callback();
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      callback(clientGoneError());
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  }
}

const parsePrelude = (bytes: Buffer): HttpResponsePrelude => {
  const value: unknown = JSON.parse(bytes.toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('The response prelude is not a JSON object');
  }
  return value as HttpResponsePrelude;
};

/** The runtime side: the `responseStream` a streaming handler writes to. */
class LambdaResponseStream extends Writable implements PreludeTarget {
  _onBeforeFirstWrite?: (write: PreludeWrite) => void;
  readonly #sink: FunctionUrlResponse;
  #written = false;

  constructor(sink: FunctionUrlResponse, highWaterMark: number | undefined) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
    this.#sink = sink;
  }

  setContentType(contentType: string): void {
    if (this.#written) throw new Error('Cannot set content-type, too late.');
    this.#sink.contentType = contentType;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.#beforeFirstWrite();
    this.#sink.write(chunk, callback);
  }

  override _final(callback: WriteCallback): void {
    this.#beforeFirstWrite();
    this.#sink.end(callback);
  }

  #beforeFirstWrite(): void {
    if (this.#written) return;
    this.#written = true;
    this._onBeforeFirstWrite?.((chunk) => {
      this.#sink.write(Buffer.from(chunk), (error) => {
        if (error) this.destroy(error);
      });
    });
  }
}

const isStreamingHandler = (handler: unknown): handler is StreamingHandler =>
  typeof handler === 'function' && Reflect.get(handler, HANDLER_STREAMING) === STREAM_RESPONSE;

/**
 * A `node:http` server that behaves like a Lambda function URL with `InvokeMode: RESPONSE_STREAM`: each
 * request becomes a payload format 2.0 event and a Lambda context, and whatever the handler writes reaches the
 * client as it is written (chunked, unbuffered). The caller listens and closes.
 *
 * @example
 * installLambdaGlobals();
 * const { handler } = await import('../lambdas/proxy.ts');
 * createFunctionUrlServer({ handler }).listen(8787, '127.0.0.1');
 */
export const createFunctionUrlServer = (options: FunctionUrlServerOptions): Server =>
  createServer({ noDelay: true }, createFunctionUrlListener(options));

/**
 * The request listener behind {@link createFunctionUrlServer}, for a server that hosts several
 * functions by path (`npm start` serves the console under `/console` next to the proxy).
 */
export const createFunctionUrlListener = ({
  handler,
  functionName = 'tollgate-proxy',
  timeoutMs = 900_000,
  maxRequestBytes = 6 * 1024 * 1024,
}: FunctionUrlServerOptions): ((req: IncomingMessage, res: ServerResponse) => void) => {
  if (!isStreamingHandler(handler)) {
    throw new TypeError(
      'The handler must be wrapped with awslambda.streamifyResponse (call installLambdaGlobals first)',
    );
  }
  const highWaterMark = Reflect.get(handler, HANDLER_HIGHWATERMARK) as number | undefined;
  const region = process.env['AWS_REGION'] ?? 'us-east-1';
  const apiId = createHash('sha256').update(functionName).digest('hex').slice(0, 32);
  const invocation: Invocation = { handler, functionName, timeoutMs, maxRequestBytes, highWaterMark, region, apiId };
  return (req, res) => {
    invoke(invocation, req, res).catch((error: unknown) => {
      console.error('[function-url] request failed', error);
      if (!res.headersSent) sendJson(res, 502, 'Internal Server Error');
      else res.destroy();
    });
  };
};

interface Invocation {
  handler: StreamingHandler;
  functionName: string;
  timeoutMs: number;
  maxRequestBytes: number;
  highWaterMark: number | undefined;
  region: string;
  apiId: string;
}

const TIMED_OUT = Symbol('timed out');

const invoke = async (invocation: Invocation, req: IncomingMessage, res: ServerResponse): Promise<void> => {
  res.socket?.setNoDelay(true);
  const requestId = randomUUID();
  res.setHeader('x-amzn-RequestId', requestId);
  const body = await readBody(req, invocation.maxRequestBytes);
  if (body === 'aborted') return;
  if (body === 'too-large') {
    const message = `Request must be smaller than ${invocation.maxRequestBytes} bytes for the InvokeFunction operation`;
    sendJson(res, 413, JSON.stringify({ Message: message }));
    return;
  }

  const event = toEvent(req, body, requestId, invocation);
  const context = toContext(requestId, invocation);
  const sink = new FunctionUrlResponse(res);
  const stream = new LambdaResponseStream(sink, invocation.highWaterMark);
  // Lambda's runtime owns an error listener too: a handler that never listens must not crash the process.
  stream.on('error', () => {});
  let clientGone = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    stream.destroy(clientGoneError());
  });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, invocation.timeoutMs, TIMED_OUT);
  });
  const run = async (): Promise<void> => {
    await invocation.handler(event, stream, context);
    // Like Lambda, the invocation lasts until the response stream has ended, not just until the handler returns.
    await finished(stream);
  };
  let failure: { error: unknown } | typeof TIMED_OUT | undefined;
  try {
    if ((await Promise.race([run(), timedOut])) === TIMED_OUT) failure = TIMED_OUT;
  } catch (error) {
    failure = { error };
  } finally {
    clearTimeout(timer);
  }
  if (!failure || clientGone) return;

  if (failure === TIMED_OUT) {
    const seconds = (invocation.timeoutMs / 1000).toFixed(2);
    console.error(`[function-url] ${requestId} Task timed out after ${seconds} seconds`);
  } else {
    console.error(`[function-url] ${requestId} invocation failed`, failure.error);
  }
  // The handler may still be running (timeout, or it failed without ending): its later writes must go nowhere.
  stream.destroy();
  if (!sink.started && !res.headersSent) sendJson(res, 502, 'Internal Server Error');
  else if (!res.writableEnded) res.end();
};

const sendJson = (res: ServerResponse, status: number, body: string): void => {
  const requestId = res.getHeader('x-amzn-RequestId');
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  if (requestId !== undefined) res.setHeader('x-amzn-RequestId', requestId);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
};

const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> => {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    // Node discards the unread rest of the body once the response has ended.
    return Promise.resolve('too-large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', () => resolve('aborted'));
    req.on('close', () => {
      if (!req.complete) resolve('aborted');
    });
  });
};

const toEvent = (
  req: IncomingMessage,
  body: Buffer,
  requestId: string,
  { apiId, region }: Invocation,
): APIGatewayProxyEventV2 => {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : url.slice(queryAt + 1);
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((cookie) => cookie.trim())
          .filter(Boolean),
      );
    } else {
      headers[name] = name in headers ? `${headers[name]},${value}` : value;
    }
  }
  headers['x-forwarded-for'] ??= sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= String(req.socket.localPort ?? '');
  headers['x-amzn-trace-id'] ??= traceId();

  const now = new Date();
  const domainName = headers['host'] ?? `${apiId}.lambda-url.${region}.on.aws`;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId,
      domainName,
      domainPrefix: apiId,
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (rawQueryString) event.queryStringParameters = queryParameters(rawQueryString);
  if (body.length > 0) {
    const text = isTextContentType(headers['content-type']);
    event.body = body.toString(text ? 'utf8' : 'base64');
    event.isBase64Encoded = !text;
  }
  return event;
};

// Function URLs pass JSON and text/* bodies as text and base64-encode everything else.
const isTextContentType = (contentType: string | undefined): boolean => {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type.startsWith('text/') || type === 'application/json';
};

const queryParameters = (rawQueryString: string): Record<string, string> => {
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return parameters;
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
const clfTime = (d: Date): string =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
  `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;

// 24 hex digits of a UUID: randomUUID draws from a cached pool, randomBytes from OpenSSL on every call.
const traceId = (): string =>
  `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)}`;

// One execution environment, one log stream (per day here, as the date is in its name).
let logStream: { day: string; name: string } | undefined;
const logStreamName = (today: Date): string => {
  const day = `${today.getUTCFullYear()}/${pad(today.getUTCMonth() + 1)}/${pad(today.getUTCDate())}`;
  if (logStream?.day !== day) logStream = { day, name: `${day}/[$LATEST]${randomBytes(16).toString('hex')}` };
  return logStream.name;
};

const toContext = (requestId: string, { functionName, timeoutMs, region }: Invocation): Context => {
  const deadline = Date.now() + timeoutMs;
  const today = new Date();
  const unsupported = (name: string) => (): never => {
    throw new Error(`context.${name}() is not available to streaming handlers`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: logStreamName(today),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
};
