import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../lambdas/errors.ts';
import { hashKey, mintKey } from '../../lambdas/gateway/keys.ts';
import { stateOf } from '../../lambdas/gateway/state.ts';
import { authenticateKey } from '../../lambdas/middlewares/authenticate.ts';
import { requestContext } from '../../lambdas/middlewares/request-context.ts';
import { fakeKeyLookup } from '../support/fakes.ts';
import { lambdaContext, proxyEvent, REACHED, reachHandler } from '../support/lambda.ts';

describe('authenticateKey', () => {
  const live = mintKey('acct-live');
  const revoked = mintKey('acct-revoked');
  revoked.record.revokedAt = '2026-01-01T00:00:00.000Z';
  const expired = mintKey('acct-expired', { expiresAt: new Date(Date.now() - 1_000).toISOString() });
  const expiring = mintKey('acct-expiring', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  const unknown = mintKey('acct-nowhere');

  /** The chain up to authentication, over keys the store knows (all but `unknown`). */
  const chain = () => {
    const keys = fakeKeyLookup(live.record, revoked.record, expired.record, expiring.record);
    const handler = middy(reachHandler)
      .use(requestContext())
      .use(authenticateKey({ lookup: keys.lookup }));
    const send = async (headers: Record<string, string>) => {
      const context = lambdaContext();
      const response = await handler(proxyEvent('/v1/chat/completions', { headers }), context);
      return { response, state: stateOf(context) };
    };
    return { send, lookups: keys.lookups };
  };

  it('accepts a live key as Authorization: Bearer and puts its record in the state', async () => {
    const { send } = chain();
    const { response, state } = await send({ authorization: `Bearer ${live.secret}` });
    expect(response).toBe(REACHED);
    expect(state.auth).toEqual({ key: live.record });
  });

  it('accepts a live key as x-api-key', async () => {
    const { send } = chain();
    const { response, state } = await send({ 'x-api-key': live.secret });
    expect(response).toBe(REACHED);
    expect(state.auth?.key).toEqual(live.record);
  });

  it('asks the store for the hash of the secret, never the secret itself', async () => {
    const { send, lookups } = chain();
    await send({ authorization: `Bearer ${live.secret}` });
    expect(lookups).toEqual([hashKey(live.secret)]);
  });

  it('reads a <provider>/<model> suffix off the key into the state, and looks up the secret without it', async () => {
    const { send, lookups } = chain();
    const { state } = await send({ authorization: `Bearer ${live.secret}-anthropic/claude-sonnet-4-6` });
    expect(state.auth).toEqual({ key: live.record, suffix: { provider: 'anthropic', model: 'claude-sonnet-4-6' } });
    expect(lookups).toEqual([hashKey(live.secret)]);
  });

  it('accepts a key whose expiry is still ahead', async () => {
    const { send } = chain();
    const { state } = await send({ 'x-api-key': expiring.secret });
    expect(state.auth?.key.accountId).toBe('acct-expiring');
  });

  it.each([
    ['an unknown key', { authorization: `Bearer ${unknown.secret}` }],
    ['a revoked key', { authorization: `Bearer ${revoked.secret}` }],
    ['an expired key', { 'x-api-key': expired.secret }],
    ['no key at all', {}],
    ['a key that is not an sk- key', { authorization: 'Bearer not-a-tollgate-key' }],
    ['a Basic credential', { authorization: `Basic ${Buffer.from(`user:${live.secret}`).toString('base64')}` }],
  ])('refuses %s with the same 401 "Invalid or missing API key"', async (_name, headers) => {
    const { send } = chain();
    const refused = send(headers);
    await expect(refused).rejects.toBeInstanceOf(AuthenticationError);
    await expect(refused).rejects.toMatchObject({
      status: 401,
      type: 'authentication_error',
      message: 'Invalid or missing API key',
    });
  });

  it('never calls the store for a credential that cannot be a key', async () => {
    const { send, lookups } = chain();
    await expect(send({ authorization: 'Bearer sk-' })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(send({ 'x-api-key': 'hello' })).rejects.toBeInstanceOf(AuthenticationError);
    expect(lookups).toEqual([]);
  });

  it.each([
    ['47 hex digits', live.secret.slice(0, -1)],
    ['49 hex digits', `${live.secret}0`],
    ['upper-case hex', `sk-${live.secret.slice(3).toUpperCase()}`],
    ['a non-hex digit', `${live.secret.slice(0, -1)}g`],
    ['a short secret before a route suffix', `${live.secret.slice(0, 20)}-openai/gpt-5`],
    ['a suffix without a model', `${live.secret}-openai/`],
    ['a suffix without a provider', `${live.secret}-/gpt-5`],
    ['a dash and nothing after it', `${live.secret}-`],
    ['another prefix', `pk-${live.secret.slice(3)}`],
  ])('refuses a near miss (%s) with the 401, without a lookup', async (_name, key) => {
    const { send, lookups } = chain();
    await expect(send({ authorization: `Bearer ${key}` })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(send({ 'x-api-key': key })).rejects.toBeInstanceOf(AuthenticationError);
    expect(lookups).toEqual([]);
  });
});
