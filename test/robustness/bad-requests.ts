/**
 * fast-check generators of requests the gateway must refuse (DESIGN §5): every one is bad in a known
 * way, so each carries the status the error contract gives it and the envelope it must come in.
 * None of them may reach an upstream: with a valid key and a known model, the body is always broken
 * in a field the gateway validates; otherwise the model is unknown, the key is bad, or the path is.
 */
import fc from 'fast-check';
import type { RawRequest } from './raw-http.ts';

export type Envelope = 'openai' | 'anthropic';

export interface BadRequest extends RawRequest {
  /** What is wrong with it, e.g. `auth:revoked` or `body:wrong-type:max_tokens`; the part before `:` is its category. */
  label: string;
  /** What the error contract answers. */
  status: 400 | 401 | 404 | 413;
  envelope: Envelope;
}

/** The keys and models a fuzz run works with. */
export interface FuzzFixture {
  /** A live key with funds. */
  secret: string;
  revokedSecret: string;
  expiredSecret: string;
  models: { chat: string; messages: string; embeddings: string; count_tokens: string; responses: string };
  maxBodyBytes: number;
}

type Operation = keyof FuzzFixture['models'];

const OPERATION_PATHS: Record<Operation, string> = {
  chat: '/v1/chat/completions',
  messages: '/v1/messages',
  embeddings: '/v1/embeddings',
  count_tokens: '/v1/messages/count_tokens',
  responses: '/v1/responses',
};
const ANTHROPIC_OPERATIONS: ReadonlySet<Operation> = new Set(['messages', 'count_tokens']);

/** Every path the gateway serves (after trailing slashes are dropped), with its one method. */
const SERVED: Readonly<Record<string, string>> = {
  '/v1/chat/completions': 'POST',
  '/v1/messages': 'POST',
  '/v1/messages/count_tokens': 'POST',
  '/v1/embeddings': 'POST',
  '/v1/responses': 'POST',
  '/v1/models': 'GET',
  '/v1/wallet': 'GET',
  '/health': 'GET',
};

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Text that is echoed back in error messages: no spaces or colons, so it can never read as a stack frame. */
const plainText = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...`${ALNUM}-_.`), minLength, maxLength });

/** 1 KB–40 KB, built by repetition so generating it costs nothing. */
const hugeText = fc
  .tuple(plainText(1, 8), fc.integer({ min: 1_000, max: 40_000 }))
  .map(([unit, length]) => (unit || 'x').repeat(Math.ceil(length / (unit.length || 1))).slice(0, length));

const unknownModel = fc.oneof(plainText(1, 40), hugeText).map((name) => `nope-${name}`);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const positiveInt = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

/** What each validated field accepts, per the gateway's contract (protocols/*.ts); everything else is a 400. */
const ACCEPTS: Record<string, (value: unknown, operation: Operation) => boolean> = {
  model: (value) => typeof value === 'string' && value.length > 0,
  messages: (value) =>
    Array.isArray(value) && value.length > 0 && value.every((m) => isRecord(m) && typeof m['role'] === 'string'),
  stream: (value, operation) => typeof value === 'boolean' || (operation !== 'messages' && value === null),
  max_tokens: (value, operation) => positiveInt(value) || (operation === 'chat' && value === null),
  max_completion_tokens: (value) => value === null || positiveInt(value),
  max_output_tokens: (value) => value === null || positiveInt(value),
  stream_options: (value) =>
    value === null ||
    (isRecord(value) && (value['include_usage'] === undefined || typeof value['include_usage'] === 'boolean')),
  input: (value, operation) =>
    typeof value === 'string' ||
    (operation === 'responses' && Array.isArray(value) && value.every(isRecord)) ||
    (operation === 'embeddings' &&
      Array.isArray(value) &&
      value.length > 0 &&
      value.every(
        (item) =>
          typeof item === 'string' ||
          typeof item === 'number' ||
          (Array.isArray(item) && item.every((n) => typeof n === 'number')),
      )),
};

const VALIDATED: Record<Operation, string[]> = {
  chat: ['model', 'messages', 'stream', 'max_tokens', 'max_completion_tokens', 'stream_options'],
  messages: ['model', 'messages', 'max_tokens', 'stream'],
  embeddings: ['model', 'input'],
  count_tokens: ['model', 'messages'],
  responses: ['model', 'input', 'stream', 'max_output_tokens'],
};
const REQUIRED: Record<Operation, string[]> = {
  chat: ['messages'],
  messages: ['messages', 'max_tokens'],
  embeddings: ['input'],
  count_tokens: ['messages'],
  responses: [],
};
/** A validated field that must not hold an object. */
const OBJECT_REFUSING: Record<Operation, string> = {
  chat: 'max_tokens',
  messages: 'max_tokens',
  embeddings: 'input',
  count_tokens: 'messages',
  responses: 'max_output_tokens',
};
/** Fields the gateway passes through unvalidated: wrong types here go upstream, so only with an unknown model. */
const PASSED_THROUGH = ['temperature', 'top_p', 'n', 'stop', 'tools', 'tool_choice', 'system', 'metadata', 'user'];

const EDGE_VALUES: unknown[] = [0, -1, 1.5, 1e300, -1e300, 2 ** 60, '', '100', 'true', true, false, null, [], {}, [1]];
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(...EDGE_VALUES));

const validBody = (operation: Operation, model: string): Record<string, unknown> => {
  const messages = [{ role: 'user', content: 'hi' }];
  if (operation === 'messages') return { model, max_tokens: 16, messages };
  if (operation === 'embeddings' || operation === 'responses') return { model, input: 'hi' };
  return { model, messages };
};

/** Unknown fields with any JSON, which the gateway must pass over (never `__proto__`, which JSON would not keep). */
const noise = fc.dictionary(
  plainText(1, 12).filter((key) => !(key in ACCEPTS) && key !== '__proto__'),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 4 },
);

const INVALID_UTF8: number[][] = [
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5],
  [0xfe],
  [0xff],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
];
const invalidUtf8 = fc
  .array(fc.constantFrom(...INVALID_UTF8), { minLength: 1, maxLength: 6 })
  .map((sequences) => Buffer.from(sequences.flat()));

const deepArray = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const deepObject = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const arrayLevels = fc.integer({ min: 1_000, max: 25_000 });
const objectLevels = fc.integer({ min: 1_000, max: 9_000 });

const MARK = 'QQxMARKxQQ';
/** Serializes `body` with raw `bytes` in place of the marker string inside it. */
const spliced = (body: Record<string, unknown>, bytes: Buffer): Buffer => {
  const [before = '', after = ''] = JSON.stringify(body).split(MARK);
  return Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
};

interface BadBody {
  label: string;
  status: 400 | 404 | 413;
  bytes: Buffer;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** A body for `operation` that the gateway must refuse, even with a valid key. */
const badBody = (operation: Operation, fixture: FuzzFixture): fc.Arbitrary<BadBody> => {
  const known = fixture.models[operation];
  const base = validBody(operation, known);
  const fields = VALIDATED[operation];
  const accepts = (field: string) => (value: unknown) => ACCEPTS[field]?.(value, operation) ?? true;

  const wrongType = fc
    .constantFrom(...fields)
    .chain((field) =>
      fc.tuple(
        fc.constant(field),
        anyJson.filter((value) => !accepts(field)(value)),
        noise,
      ),
    )
    .map(([field, value, extra]) => ({
      label: `body:wrong-type:${field}`,
      status: 400 as const,
      bytes: json({ ...extra, ...base, [field]: value }),
    }));

  const missing = fc.constantFrom(...REQUIRED[operation], 'model').map((field) => {
    const body: Record<string, unknown> = { ...base };
    delete body[field];
    return { label: `body:missing:${field}`, status: 400 as const, bytes: json(body) };
  });

  const passedThrough = fc.dictionary(fc.constantFrom(...PASSED_THROUGH), anyJson, { minKeys: 1, maxKeys: 4 });
  const content = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    hugeText,
    arrayLevels.map((levels) => ({ deep: deepArray(levels) })),
  );
  const unknown = fc.tuple(unknownModel, passedThrough, content, noise).map(([model, wrong, text, extra]) => {
    const body = { ...extra, ...validBody(operation, model), ...wrong };
    if (typeof text === 'string') {
      return {
        label: 'unknown-model',
        status: 404 as const,
        bytes: json({ ...body, messages: [{ role: 'user', content: text }] }),
      };
    }
    // Thousands of levels of nesting: refused as such (400) before the model is even looked up.
    const serialized = JSON.stringify({ ...body, messages: [{ role: 'user', content: MARK }] });
    return {
      label: 'unknown-model-deep',
      status: 400 as const,
      bytes: Buffer.from(serialized.replace(`"${MARK}"`, text.deep)),
    };
  });

  const notJson = fc.oneof(
    fc.string({ minLength: 1, maxLength: 300 }).filter((text) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return text.trim() !== '';
      }
    }),
    // A strict prefix of a serialized object is never JSON.
    fc.nat().map((cut) => {
      const text = JSON.stringify(base);
      return text.slice(0, cut % text.length);
    }),
    fc.constantFrom(
      `${JSON.stringify(base)}}`,
      `${JSON.stringify(base)} x`,
      `{'model':'${known}'}`,
      `{"model":"${known}",}`,
    ),
  );
  const notJsonBody = notJson.map((text) => ({
    label: 'body:not-json',
    status: 400 as const,
    bytes: Buffer.from(text),
  }));

  const notObject = fc
    .jsonValue({ maxDepth: 2 })
    .filter((value) => !isRecord(value))
    .map((value) => ({ label: 'body:not-an-object', status: 400 as const, bytes: json(value) }));

  const empty = fc
    .constantFrom('', ' ', '\n', '\r\n\t ')
    .map((text) => ({ label: 'body:empty', status: 400 as const, bytes: Buffer.from(text) }));

  // Thousands of levels inside a field the gateway validates: the first level is already wrong.
  const deepIn = (levels: number): string => {
    if (operation === 'embeddings') return `{"model":"${known}","input":${deepObject(Math.min(levels, 9_000))}}`;
    if (operation === 'responses') return `{"model":"${known}","input":${deepArray(levels)}}`;
    return JSON.stringify(base).replace(/"messages":\[.*?\]/, `"messages":${deepArray(levels)}`);
  };
  const deep = fc.oneof(
    arrayLevels.map((levels) => deepArray(levels)),
    arrayLevels.map(deepIn),
    objectLevels.map((levels) =>
      JSON.stringify(base).replace(/}$/, `,"${OBJECT_REFUSING[operation]}":${deepObject(levels)}}`),
    ),
    objectLevels.map((levels) => JSON.stringify(base).replace(/}$/, `,"model":${deepObject(levels)}}`)),
  );
  const deepBody = deep.map((text) => ({ label: 'body:deep-nesting', status: 400 as const, bytes: Buffer.from(text) }));

  const overLimit = fc
    .tuple(fc.integer({ min: fixture.maxBodyBytes + 1, max: fixture.maxBodyBytes * 4 }), fc.boolean())
    .map(([size, shaped]) => {
      if (!shaped) return { label: 'body:over-limit', status: 413 as const, bytes: Buffer.alloc(size, 0x7b) };
      // A valid request, but for its size: the limit must hold before anything else is looked at.
      const shell = JSON.stringify({ ...base, messages: [{ role: 'user', content: MARK }] });
      const text = shell.replace(MARK, 'x'.repeat(size - shell.length + MARK.length));
      return { label: 'body:over-limit', status: 413 as const, bytes: Buffer.from(text) };
    });

  const utf8 = fc
    .tuple(invalidUtf8, fc.constantFrom('model', 'outside', 'content'), unknownModel)
    .map(([bytes, where, model]): BadBody => {
      if (where === 'model') {
        // `<known model><invalid bytes>` decodes to the model plus U+FFFD: a model nobody serves.
        return { label: 'utf8:in-model', status: 404, bytes: spliced({ ...base, model: `${known}${MARK}` }, bytes) };
      }
      if (where === 'content') {
        const body = { ...validBody(operation, model), messages: [{ role: 'user', content: `a${MARK}b` }] };
        return { label: 'utf8:in-content', status: 404, bytes: spliced(body, bytes) };
      }
      return { label: 'utf8:outside-strings', status: 400, bytes: Buffer.concat([bytes, json(base)]) };
    });

  const any = fc.oneof(
    { arbitrary: wrongType, weight: 6 },
    { arbitrary: missing, weight: 1 },
    { arbitrary: unknown, weight: 3 },
    { arbitrary: notJsonBody, weight: 2 },
    { arbitrary: notObject, weight: 1 },
    { arbitrary: empty, weight: 1 },
    { arbitrary: deepBody, weight: 1 },
    { arbitrary: overLimit, weight: 1 },
    { arbitrary: utf8, weight: 2 },
  );
  // The size limit comes before everything else: whatever else is wrong, a body over it is a 413.
  return any.map((body) => (body.bytes.length > fixture.maxBodyBytes ? { ...body, status: 413 as const } : body));
};

const CONTENT_TYPES: string[][] = [
  ['content-type', 'application/json'],
  ['content-type', 'application/json'],
  ['content-type', 'application/json; charset=utf-8'],
  ['content-type', 'text/plain'],
  [],
  ['content-type', 'application/octet-stream'],
  ['content-type', 'application/x-www-form-urlencoded'],
  ['content-type', 'multipart/form-data; boundary=x'],
  ['content-type', 'application/json', 'content-type', 'text/plain'],
  ['content-type', ''],
];

/** Headers that are odd but harmless: they must change nothing. */
const oddHeaders = fc.oneof(
  fc.constant<string[]>([]),
  fc.constant<string[]>([]),
  plainText(1, 200).map((value) => ['x-junk', value]),
  fc.constant(['x-junk', 'caf\u00e9\u00ff\u0080']),
  plainText(1, 40).map((value) => ['accept', value]),
  plainText(0, 40).map((value) => ['cookie', `a=${value}; b`]),
  hugeText.map((value) => ['x-junk', value.slice(0, 8_000)]),
);

const withLength = (bytes: Buffer | undefined, chunked: boolean): string[] =>
  bytes === undefined || chunked ? [] : ['content-length', String(bytes.length)];

/**
 * Valid credentials. The suffix form (`sk-…-<provider>/<model>`) names a route nobody serves, and
 * overrides the body's model: a body that is fine but for a missing model then answers 404.
 */
interface GoodAuth {
  headers: string[];
  suffix: boolean;
}
const goodAuth = (secret: string): fc.Arbitrary<GoodAuth> =>
  fc.oneof(
    { arbitrary: fc.constant<GoodAuth>({ headers: ['authorization', `Bearer ${secret}`], suffix: false }), weight: 4 },
    { arbitrary: fc.constant<GoodAuth>({ headers: ['authorization', `bearer ${secret}`], suffix: false }), weight: 1 },
    { arbitrary: fc.constant<GoodAuth>({ headers: ['x-api-key', secret], suffix: false }), weight: 3 },
    {
      arbitrary: plainText(1, 20).map(
        (name): GoodAuth => ({
          headers: ['authorization', `Bearer ${secret}-nope/${name}`],
          suffix: true,
        }),
      ),
      weight: 1,
    },
  );

/** Credentials that must be refused with 401 whatever else the request holds. */
const badAuth = (fixture: FuzzFixture): fc.Arbitrary<{ label: string; headers: string[] }> => {
  const { secret } = fixture;
  const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 8, maxLength: 64 });
  const variants: Array<fc.Arbitrary<[string, string[]]>> = [
    fc.constant(['missing', []]),
    fc.constantFrom<[string, string[]]>(
      ['empty', ['authorization', '']],
      ['no-token', ['authorization', 'Bearer']],
      ['basic', ['authorization', `Basic ${Buffer.from(`user:${secret}`).toString('base64')}`]],
      ['extended', ['authorization', `Bearer ${secret}0`]],
      ['upper-case', ['authorization', `Bearer ${secret.toUpperCase()}`]],
      ['two-tokens', ['authorization', `Bearer ${secret} ${secret}`]],
      ['duplicated-bearer', ['authorization', `Bearer ${secret}`, 'authorization', `Bearer ${secret}`]],
      ['duplicated-x-api-key', ['x-api-key', secret, 'x-api-key', secret]],
      ['bearer-in-x-api-key', ['x-api-key', `Bearer ${secret}`]],
      ['high-bytes', ['authorization', 'Bearer sk-caf\u00e9\u00ff']],
      ['revoked', ['authorization', `Bearer ${fixture.revokedSecret}`]],
      ['expired', ['x-api-key', fixture.expiredSecret]],
    ),
    hex.map((random): [string, string[]] => ['unknown', ['authorization', `Bearer sk-${random}`]]),
    fc
      .integer({ min: 0, max: secret.length - 1 })
      .map((cut): [string, string[]] => ['truncated', ['authorization', `Bearer ${secret.slice(0, cut)}`]]),
    fc.integer({ min: 3, max: secret.length - 1 }).map((at): [string, string[]] => {
      const flipped = secret[at] === 'a' ? 'b' : 'a';
      return ['tampered', ['x-api-key', `${secret.slice(0, at)}${flipped}${secret.slice(at + 1)}`]];
    }),
    hugeText.map((text): [string, string[]] => ['huge', ['authorization', `Bearer sk-${text.slice(0, 8_000)}`]]),
    fc.string({ maxLength: 100 }).map((text): [string, string[]] => ['random', ['authorization', `Bearer ${text}`]]),
  ];
  return fc.oneof(...variants).map(([label, headers]) => ({ label: `auth:${label}`, headers }));
};

const anthropicVersion = fc.constantFrom<string[]>([], [], ['anthropic-version', '2023-06-01']);

/** An operation endpoint with a valid key and a bad body, or a bad key and any body. */
const toOperation = (fixture: FuzzFixture): fc.Arbitrary<BadRequest> => {
  const auth = fc.oneof(
    { arbitrary: goodAuth(fixture.secret).map((good) => ({ label: '', ...good })), weight: 4 },
    { arbitrary: badAuth(fixture).map((bad) => ({ ...bad, suffix: false })), weight: 1 },
  );
  return fc
    .record({
      operation: fc.constantFrom<Operation>('chat', 'messages', 'embeddings', 'count_tokens', 'responses'),
      auth,
      tail: fc.constantFrom('', '', '', '/', '?x=1', '?model=gpt'),
      contentType: fc.constantFrom(...CONTENT_TYPES),
      chunked: fc.boolean(),
      odd: oddHeaders,
      version: anthropicVersion,
    })
    .chain((request) => badBody(request.operation, fixture).map((body) => ({ ...request, body })))
    .map(({ operation, auth, tail, contentType, chunked, odd, version, body }): BadRequest => {
      const suffixNamesModel = auth.suffix && body.label === 'body:missing:model';
      return {
        label: auth.label || body.label,
        status: auth.label ? 401 : suffixNamesModel ? 404 : body.status,
        envelope: ANTHROPIC_OPERATIONS.has(operation) ? 'anthropic' : 'openai',
        method: 'POST',
        path: `${OPERATION_PATHS[operation]}${tail}`,
        headers: [...auth.headers, ...contentType, ...withLength(body.bytes, chunked), ...odd, ...version],
        body: body.bytes,
      };
    });
};

const WALLET_LIMIT_OK = (text: string): boolean => {
  const limit = Number(text);
  return Number.isInteger(limit) && limit >= 1 && limit <= 100;
};

/** `GET /v1/models` and `/v1/wallet` with a bad key, or the wallet with a bad page query. */
const toReads = (fixture: FuzzFixture): fc.Arbitrary<BadRequest> => {
  const envelopeOf = (headers: string[]): Envelope => (headers.includes('anthropic-version') ? 'anthropic' : 'openai');
  const unauthenticated = fc
    .tuple(
      fc.constantFrom('/v1/models', '/v1/wallet', '/v1/models/', '/v1/wallet?limit=5'),
      badAuth(fixture),
      anthropicVersion,
      oddHeaders,
    )
    .map(
      ([path, auth, version, odd]): BadRequest => ({
        label: auth.label,
        status: 401,
        envelope: envelopeOf(version),
        method: 'GET',
        path,
        headers: [...auth.headers, ...version, ...odd],
      }),
    );
  const badLimit = fc
    .oneof(
      fc.integer({ min: -1_000, max: 1_000 }).map(String),
      plainText(0, 12),
      fc.constantFrom('1.5', 'NaN', '-0', '1e3'),
    )
    .filter((text) => !WALLET_LIMIT_OK(text))
    .map((text) => `limit=${encodeURIComponent(text)}`);
  const badCursor = fc
    .oneof(plainText(0, 60), fc.string({ maxLength: 60 }))
    .filter((text) => !/^\d{4}-\d{2}-\d{2}T/.test(text))
    .map((text) => `cursor=${encodeURIComponent(text)}`);
  const badPage = fc.tuple(fc.oneof(badLimit, badCursor), goodAuth(fixture.secret), anthropicVersion).map(
    ([query, auth, version]): BadRequest => ({
      label: 'wallet:bad-page',
      status: 400,
      envelope: envelopeOf(version),
      method: 'GET',
      path: `/v1/wallet?${query}`,
      headers: [...auth.headers, ...version],
    }),
  );
  return fc.oneof(unauthenticated, badPage);
};

/** Paths nobody serves, and served paths with the wrong method: 404 before the key is even read. */
const toNowhere = (fixture: FuzzFixture): fc.Arbitrary<BadRequest> => {
  const segment = fc.oneof(
    plainText(1, 12),
    fc.constantFrom('..', '.', '%00', '%ff', '%2e%2e', '%20', 'v1', 'v2', 'chat', 'completions', 'messages', 'models'),
  );
  const junkPath = fc
    .array(segment, { minLength: 1, maxLength: 6 })
    .map((segments) => `/${segments.join('/')}`)
    .filter((path) => !((path.replace(/\/+$/, '') || '/') in SERVED));
  const wrongMethod = fc
    .tuple(fc.constantFrom(...Object.keys(SERVED)), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'))
    .filter(([path, method]) => SERVED[path] !== method);
  const target = fc.oneof(
    fc.tuple(junkPath, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD')),
    wrongMethod,
  );
  return fc
    .tuple(
      target,
      fc.oneof(
        goodAuth(fixture.secret).map((good) => good.headers),
        fc.constant<string[]>([]),
      ),
      anthropicVersion,
      fc.option(plainText(0, 300)),
    )
    .map(([[path, method], auth, version, body]): BadRequest => {
      const bytes = body === null ? undefined : Buffer.from(body);
      return {
        label: `path:${SERVED[path] ? 'wrong-method' : 'unknown'}`,
        status: 404,
        envelope: version.length > 0 ? 'anthropic' : 'openai',
        method,
        path,
        headers: [...auth, ...version, ...withLength(bytes, false)],
        ...(bytes ? { body: bytes } : {}),
      };
    });
};

/**
 * Any request the gateway must refuse, weighted towards the ones that get furthest (a valid key and a
 * body that parses as far as it can).
 *
 * @example fc.sample(badRequest(fixture), { seed: 1, numRuns: 100 })
 */
export const badRequest = (fixture: FuzzFixture): fc.Arbitrary<BadRequest> =>
  fc.oneof(
    { arbitrary: toOperation(fixture), weight: 14 },
    { arbitrary: toReads(fixture), weight: 3 },
    { arbitrary: toNowhere(fixture), weight: 3 },
  );
