/**
 * A fake Stripe API on 127.0.0.1, reached by the real `stripe` client through its host, port and
 * protocol options. It answers what card top-ups use:
 *
 * | request | answer |
 * |---|---|
 * | `POST /v1/checkout/sessions` | a Checkout Session `cs_test_…` whose `url` is this server's fake checkout page |
 * | `GET /v1/payment_intents/:id` | the payment intent (`metadata.account` from {@link FakeStripe.intentAccounts}), its `latest_charge` expanded with a https `receipt_url` |
 * | `GET /pay/:session` | a fake hosted checkout page (HTML) |
 *
 * Every request is recorded (method, path, form body). Webhook events are built with
 * {@link FakeStripe.event} and signed with the library's own `generateTestHeaderString`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export interface RecordedRequest {
  method: string;
  path: string;
  /** The form-encoded body, as Stripe's client sends it (`line_items[0][quantity]=1`). */
  form: URLSearchParams;
  authorization: string | undefined;
}

export interface FakeStripe {
  /** `http://127.0.0.1:<port>`: give it to the client as `STRIPE_API_URL`, or to {@link client}. */
  url: string;
  requests: RecordedRequest[];
  /** The sessions created, by id. */
  sessions: Map<string, Stripe.Checkout.Session>;
  /** `metadata.account` of payment intents (`pi_…` → account), as Checkout's `payment_intent_data` sets it. */
  intentAccounts: Map<string, string>;
  /** A `stripe` client on this fake. */
  client(): Stripe;
  /** A webhook event's JSON body and its `Stripe-Signature` header, signed with `secret` at `timestamp` (seconds). */
  event(
    type: string,
    object: object,
    options: { secret: string; timestamp: number; id?: string },
  ): { body: string; signature: string; id: string };
  close(): Promise<void>;
}

export const FAKE_SECRET_KEY = 'sk_test_fake';

const id = (prefix: string): string => `${prefix}_test_${randomBytes(12).toString('hex')}`;

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** Starts the fake on a free port of 127.0.0.1. */
export const startFakeStripe = async (): Promise<FakeStripe> => {
  const requests: RecordedRequest[] = [];
  const sessions = new Map<string, Stripe.Checkout.Session>();
  const intentAccounts = new Map<string, string>();
  let url = '';
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const form = new URLSearchParams(await readBody(req));
    requests.push({ method: req.method ?? 'GET', path, form, authorization: req.headers.authorization });
    if (req.method === 'POST' && path === '/v1/checkout/sessions') {
      const sessionId = id('cs');
      const cents = Number(form.get('line_items[0][price_data][unit_amount]'));
      const session = {
        id: sessionId,
        object: 'checkout.session',
        mode: form.get('mode'),
        amount_total: cents * Number(form.get('line_items[0][quantity]') ?? '1'),
        currency: form.get('line_items[0][price_data][currency]'),
        client_reference_id: form.get('client_reference_id'),
        metadata: { account: form.get('metadata[account]') },
        payment_status: 'unpaid',
        payment_intent: null,
        status: 'open',
        success_url: form.get('success_url'),
        cancel_url: form.get('cancel_url'),
        url: `${url}/pay/${sessionId}`,
      } as unknown as Stripe.Checkout.Session;
      sessions.set(sessionId, session);
      return json(res, 200, session);
    }
    const intent = /^\/v1\/payment_intents\/(pi_[A-Za-z0-9_]+)$/.exec(path);
    if (req.method === 'GET' && intent) {
      const chargeId = `ch_${intent[1]?.slice(3)}`;
      return json(res, 200, {
        id: intent[1],
        object: 'payment_intent',
        status: 'succeeded',
        metadata: intentAccounts.has(intent[1] ?? '') ? { account: intentAccounts.get(intent[1] ?? '') } : {},
        latest_charge: {
          id: chargeId,
          object: 'charge',
          payment_intent: intent[1],
          receipt_url: `https://pay.stripe.com/receipts/${chargeId}`,
        },
      });
    }
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    const pay = /^\/pay\/(cs_[A-Za-z0-9_]+)$/.exec(path);
    if (req.method === 'GET' && pay) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Fake Stripe Checkout</title><h1>Fake checkout for ${pay[1]}</h1>`);
      return;
    }
    json(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${path})` } });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (): Stripe =>
    new Stripe(FAKE_SECRET_KEY, {
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
  const signer = client();
  return {
    url,
    requests,
    sessions,
    intentAccounts,
    client,
    event(type, object, { secret, timestamp, id: eventId = id('evt') }) {
      const body = JSON.stringify({
        id: eventId,
        object: 'event',
        api_version: '2025-01-01',
        created: timestamp,
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
        data: { object },
      });
      const signature = signer.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
      return { body, signature, id: eventId };
    },
    close: () =>
      new Promise<void>((closed) => {
        server.close(() => closed());
        server.closeAllConnections();
      }),
  };
};
