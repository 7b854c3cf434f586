import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { mintKey } from '../../lambdas/gateway/keys.ts';
import { authenticateKey } from '../../lambdas/middlewares/authenticate.ts';
import { errorResponder } from '../../lambdas/middlewares/error-responder.ts';
import { ORIGIN_VERIFY_HEADER, originGuard } from '../../lambdas/middlewares/origin-guard.ts';
import { requestContext } from '../../lambdas/middlewares/request-context.ts';
import type { ProxyEvent } from '../../lambdas/middlewares/types.ts';
import { ORIGIN_VERIFY_HEADER as HEADER_CLOUDFRONT_SENDS } from '../../lib/tollgate-edge.ts';
import { fakeKeyLookup, fakeReporter } from '../support/fakes.ts';
import { lambdaContext, proxyEvent, REACHED, silentLogger } from '../support/lambda.ts';

const SECRET = 'q8Xv1nB0f3lP9sT2wY6zA4cE7gJ5kM1o';

describe('originGuard', () => {
  const live = mintKey('acct-live');

  /** The proxy's chain up to authentication, with the guard where app.ts puts it. */
  const chain = (secret: () => Promise<string> = async () => SECRET) => {
    const keys = fakeKeyLookup(live.record);
    let rejected = 0;
    let seenByHandler: ProxyEvent['headers'] | undefined;
    const handler = middy(async (event: ProxyEvent) => {
      seenByHandler = { ...event.headers };
      return REACHED;
    })
      .use(errorResponder({ logger: silentLogger(), reporter: fakeReporter() }))
      .use(originGuard({ secret, onReject: () => (rejected += 1) }))
      .use(requestContext())
      .use(authenticateKey({ lookup: keys.lookup }));
    const send = (headers: Record<string, string>, path = '/v1/chat/completions') =>
      handler(proxyEvent(path, { headers: { authorization: `Bearer ${live.secret}`, ...headers } }), lambdaContext());
    return { send, lookups: keys.lookups, rejected: () => rejected, seen: () => seenByHandler };
  };

  it('lets a request carrying CloudFront’s header through, and hides the header from everything after it', async () => {
    const { send, seen } = chain();
    expect(await send({ [ORIGIN_VERIFY_HEADER]: SECRET })).toBe(REACHED);
    expect(seen()).not.toHaveProperty(ORIGIN_VERIFY_HEADER);
    expect(seen()).toHaveProperty('authorization');
  });

  it.each([
    ['without the header', {}],
    ['with a wrong value', { [ORIGIN_VERIFY_HEADER]: 'guess' }],
    ['with a value one character short', { [ORIGIN_VERIFY_HEADER]: SECRET.slice(0, -1) }],
    ['with an empty value', { [ORIGIN_VERIFY_HEADER]: '' }],
  ])('refuses a request %s with 403 permission_error, counted, before any key lookup', async (_name, headers) => {
    const { send, lookups, rejected } = chain();
    const response = await send(headers);
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(String(response.body))).toMatchObject({ error: { type: 'permission_error' } });
    expect(String(response.body)).not.toContain(SECRET);
    expect(lookups).toEqual([]);
    expect(rejected()).toBe(1);
  });

  it('refuses before path matching too: an unknown path without the header is 403, not 404', async () => {
    const { send } = chain();
    expect((await send({}, '/admin')).statusCode).toBe(403);
  });

  it('fails closed when the secret cannot be read: 500, no lookup, nothing let through', async () => {
    const { send, lookups } = chain(async () => {
      throw new Error('Secrets Manager unavailable');
    });
    const response = await send({ [ORIGIN_VERIFY_HEADER]: SECRET });
    expect(response.statusCode).toBe(500);
    expect(lookups).toEqual([]);
  });

  it('checks the header CloudFront is configured to send (lib/tollgate-edge.ts)', () => {
    expect(ORIGIN_VERIFY_HEADER).toBe(HEADER_CLOUDFRONT_SENDS);
  });
});
