import { Logger } from '@aws-lambda-powertools/logger';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyBudgetSk, limitPeriod } from '../../lambdas/gateway/key-budget.ts';
import { formatUsd } from '../../lambdas/gateway/money.ts';
import type { Mail, Mailer } from '../../lambdas/mail/mailer.ts';
import { type LocalGateway, startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { createKey, updateKey } from '../../lambdas/services/keys.ts';
import { addMember, createSignInLink } from '../../lambdas/services/members.ts';
import type { LimitReset } from '../../lambdas/vocabulary.ts';
import { putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

/** A signed-in member as a browser without JavaScript: a cookie jar, GETs and form POSTs. */
interface Member {
  get: (path: string) => Promise<{ status: number; body: string; location: string | null }>;
  post: (
    path: string,
    fields: [string, string][],
    options?: { csrf?: boolean },
  ) => Promise<{ status: number; body: string; location: string | null }>;
}

const CSRF = /name="_csrf" value="([^"]+)"/;

describe('console: API Keys page', () => {
  let db: TestDatabase;
  let gateway: LocalGateway;
  const outbox: Mail[] = [];
  const mailer: Mailer = { send: async (mail) => void outbox.push(mail) };

  const signIn = async (accountId: string, email: string): Promise<Member> => {
    await addMember(db.stores, { accountId, email });
    const link = await createSignInLink(db.stores, { email, consoleUrl: `${gateway.url}/console` });
    const token = new URL(link.url).searchParams.get('token') ?? '';
    const auth = await fetch(`${gateway.url}/console/auth`, {
      method: 'POST',
      headers: { origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
      redirect: 'manual',
    });
    const cookie = auth.headers
      .getSetCookie()
      .map((line) => line.split(';')[0] ?? '')
      .find((pair) => pair.startsWith('tollgate_session='));
    if (!cookie) throw new Error(`sign-in failed: ${auth.status}`);
    let csrf = '';
    const answer = async (response: Response) => {
      const body = await response.text();
      csrf = CSRF.exec(body)?.[1] ?? csrf;
      return { status: response.status, body, location: response.headers.get('location') };
    };
    const get: Member['get'] = async (path) =>
      answer(await fetch(`${gateway.url}${path}`, { headers: { cookie }, redirect: 'manual' }));
    await get('/console/keys');
    return {
      get,
      post: async (path, fields, { csrf: withCsrf = true } = {}) =>
        answer(
          await fetch(`${gateway.url}${path}`, {
            method: 'POST',
            headers: { cookie, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams([
              ...(withCsrf ? [['_csrf', csrf] as [string, string]] : []),
              ...fields,
            ]).toString(),
            redirect: 'manual',
          }),
        ),
    };
  };

  const modelsCall = (secret: string) =>
    fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });

  const rowOf = (body: string, keyId: string): string => {
    const start = body.indexOf(`<tr data-key-id="${keyId}"`);
    if (start === -1) throw new Error(`no row for ${keyId}`);
    return body.slice(start, body.indexOf('</tr>', start));
  };

  const secretOf = (body: string): string => /<code id="new-key-secret">([^<]+)<\/code>/.exec(body)?.[1] ?? '';

  beforeAll(async () => {
    db = await createTestDatabase();
    await putRoute(db, { model: 'claude-sonnet-4-6', provider: 'anthropic' });
    await putRoute(db, { model: 'gpt-5.2', provider: 'openai' });
    await putRoute(db, { model: 'tollgate-echo', provider: 'echo' });
    gateway = await startLocalGateway({
      stores: db.stores,
      reportSink: { publish: async () => {} },
      env: {},
      config: { keyCacheTtlMs: 0, negativeKeyCacheTtlMs: 0, routeCacheTtlMs: 0 },
      logger: new Logger({ serviceName: 'tollgate-test', logLevel: 'SILENT' }),
      console: { mailer, signInFloorMs: 0 },
    });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('shows a friendly empty state with the create form, and settings with a placeholder key', async () => {
    await createAccount(db.stores, { accountId: 'empty-co' });
    const member = await signIn('empty-co', 'ada@empty.example');

    const page = await member.get('/console/keys');

    expect(page.status).toBe(200);
    expect(page.body).toContain('No keys yet');
    expect(page.body).toContain('<form id="create-key" method="post" action="/console/keys">');
    expect(page.body).toMatch(/<select id="new-models" name="models" multiple/);
    expect(page.body).toContain('<option value="claude-sonnet-4-6">');
    expect(page.body).toContain(`base_url = &quot;${gateway.url}/v1&quot;`);
    expect(page.body).toContain('ANTHROPIC_AUTH_TOKEN=sk-…');
  });

  it('lists the account’s keys with status, models, limits, expiry and actions; revoked keys have no Revoke', async () => {
    // Prepare
    await createAccount(db.stores, { accountId: 'list-co' });
    const live = await createKey(db.stores, {
      accountId: 'list-co',
      name: 'ci',
      models: ['gpt-5.2'],
      rpm: 60,
      tpm: 1000,
      expiresAt: '2099-01-31',
    });
    const gone = await createKey(db.stores, { accountId: 'list-co', name: 'old' });
    await db.stores.keys.revoke(gone.keyId);
    const member = await signIn('list-co', 'ada@list.example');

    // Act
    const page = await member.get('/console/keys');

    // Assess
    const row = rowOf(page.body, live.keyId);
    expect(row).toContain('ci');
    expect(row).toContain(`<code>${live.prefix}…</code>`);
    expect(row).toContain('<span class="tag good">active</span>');
    expect(row).toContain('gpt-5.2');
    expect(row).toContain('60 rpm');
    expect(row).toContain('1,000 tpm');
    expect(row).toContain('2099-01-31');
    expect(row).toContain('not in the last');
    expect(row).toContain(`href="/console/keys/${live.keyId}/revoke"`);
    expect(row).toContain(`href="/console/keys/${live.keyId}"`);
    const revokedRow = rowOf(page.body, gone.keyId);
    expect(revokedRow).toContain('<span class="tag bad">revoked</span>');
    expect(revokedRow).not.toContain('Revoke');
    expect(revokedRow).toContain('Edit');
  });

  it('shows last use and this month’s spend from the daily roll-ups', async () => {
    await createAccount(db.stores, { accountId: 'spend-co' });
    await db.stores.wallets.topUp('spend-co', 5_000_000_000, 'seed-spend-co');
    const key = await createKey(db.stores, { accountId: 'spend-co', name: 'used' });
    const call = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(call.status).toBe(200);
    await settledUsage(db, 'spend-co', 1);
    const member = await signIn('spend-co', 'ada@spend.example');

    const row = rowOf((await member.get('/console/keys')).body, key.keyId);

    expect(row).not.toContain('not in the last');
    expect(row).toMatch(/<time datetime="\d{4}-\d{2}-\d{2}T/);
    expect(row).toContain('1 requests');
  });

  it('creates a key and shows its secret once, which authenticates against the gateway', async () => {
    await createAccount(db.stores, { accountId: 'create-co' });
    const member = await signIn('create-co', 'ada@create.example');

    const created = await member.post('/console/keys', [
      ['name', 'laptop'],
      ['models', 'claude-sonnet-4-6'],
      ['models', 'gpt-5.2'],
      ['rpm', '30'],
      ['tpm', ''],
      ['expires', '2099-12-31'],
    ]);

    expect(created.status).toBe(200);
    const secret = secretOf(created.body);
    expect(secret).toMatch(/^sk-[0-9a-f]{48}$/);
    expect(created.body).toContain('<button type="button" data-copy="new-key-secret" hidden>Copy</button>');
    expect(created.body).toContain('shown once');
    expect((await modelsCall(secret)).status).toBe(200);
    // The secret is never on the page again.
    const list = await member.get('/console/keys');
    expect(list.body).not.toContain(secret);
    const [stored] = await db.stores.keys.listByAccount('create-co');
    expect(stored).toMatchObject({
      name: 'laptop',
      models: ['claude-sonnet-4-6', 'gpt-5.2'],
      rpm: 30,
      expiresAt: '2099-12-31T00:00:00.000Z',
    });
    expect(stored).not.toHaveProperty('tpm');
  });

  it('fills the client settings with this gateway’s URL and the new secret, and offers the key-suffix builder', async () => {
    await createAccount(db.stores, { accountId: 'snippet-co' });
    const member = await signIn('snippet-co', 'ada@snippet.example');

    const { body } = await member.post('/console/keys', [['name', 'tools']]);

    const secret = secretOf(body);
    const snippet = (id: string) => new RegExp(`<code id="${id}">([^]*?)</code>`).exec(body)?.[1] ?? '';
    expect(snippet('snippet-openai-python')).toContain(
      `base_url=&quot;${gateway.url}/v1&quot;, api_key=&quot;${secret}&quot;`,
    );
    expect(snippet('snippet-openai-node')).toContain(`baseURL: '${gateway.url}/v1', apiKey: '${secret}'`);
    expect(snippet('snippet-anthropic')).toContain(`base_url=&quot;${gateway.url}&quot;`);
    expect(snippet('snippet-claude-code')).toContain(`export ANTHROPIC_BASE_URL=${gateway.url}\n`);
    expect(snippet('snippet-claude-code')).toContain(`export ANTHROPIC_AUTH_TOKEN=${secret}`);
    expect(snippet('snippet-codex')).toContain(`base_url = &quot;${gateway.url}/v1&quot;`);
    expect(snippet('snippet-codex')).toContain('wire_api = &quot;responses&quot;');
    expect(snippet('snippet-cline')).toContain(`Base URL: ${gateway.url}/v1\nAPI Key: ${secret}`);
    for (const id of ['snippet-openai-python', 'snippet-claude-code', 'snippet-codex', 'snippet-cline']) {
      expect(body).toContain(`data-copy="${id}"`);
    }
    expect(body).toContain('<select id="suffix-model" data-suffix-for="suffixed-key">');
    expect(body).toContain('<option value="anthropic/claude-sonnet-4-6">');
    expect(body).toContain(`<code id="suffixed-key" data-key="${secret}">${secret}</code>`);
    expect(body).toContain('append <code>-provider/model</code> to the key');
    // The suffix the builder offers is one the gateway accepts.
    expect((await modelsCall(`${secret}-anthropic/claude-sonnet-4-6`)).status).toBe(200);
  });

  it('escapes a key name with markup wherever it appears', async () => {
    await createAccount(db.stores, { accountId: 'xss-co' });
    const member = await signIn('xss-co', 'ada@xss.example');
    const name = '<script>alert(1)</script>';

    const created = await member.post('/console/keys', [['name', name]]);
    const list = await member.get('/console/keys');
    const [key] = await db.stores.keys.listByAccount('xss-co');
    const revoke = await member.get(`/console/keys/${key?.keyId}/revoke`);
    const edit = await member.get(`/console/keys/${key?.keyId}`);

    for (const page of [created, list, revoke, edit]) {
      expect(page.status).toBe(200);
      expect(page.body).not.toContain(name);
      expect(page.body).toContain('&lt;script>alert(1)&lt;/script>');
    }
  });

  it('re-renders the form with the message and what was typed when the input is invalid', async () => {
    await createAccount(db.stores, { accountId: 'invalid-co' });
    const member = await signIn('invalid-co', 'ada@invalid.example');
    const cases: { fields: [string, string][]; message: string }[] = [
      { fields: [['name', '']], message: 'Invalid key name' },
      {
        fields: [
          ['name', 'kept-name'],
          ['rpm', 'lots'],
        ],
        message: 'Invalid requests per minute (rpm)',
      },
      {
        fields: [
          ['name', 'kept-name'],
          ['tpm', '-5'],
        ],
        message: 'Invalid tokens per minute (tpm)',
      },
      {
        fields: [
          ['name', 'kept-name'],
          ['expires', '2001-01-01'],
        ],
        message: 'it is not in the future',
      },
      {
        fields: [
          ['name', 'kept-name'],
          ['models', 'no-such-model'],
        ],
        message: 'Unknown model',
      },
    ];

    for (const { fields, message } of cases) {
      const page = await member.post('/console/keys', fields);

      expect(page.status, message).toBe(400);
      expect(page.body).toContain(message);
      expect(page.body).toContain('role="alert"');
      if (fields[0]?.[1] === 'kept-name') expect(page.body).toContain('value="kept-name"');
      for (const [, typed] of fields)
        if (typed !== '' && !typed.startsWith('no-such')) expect(page.body).toContain(`value="${typed}"`);
      expect(page.body).toContain('<form id="create-key"');
    }
    expect(await db.stores.keys.listByAccount('invalid-co')).toEqual([]);
  });

  it('edits a key: name, models, limits and expiry, with "all models", "no limit" and "never"', async () => {
    await createAccount(db.stores, { accountId: 'edit-co' });
    const key = await createKey(db.stores, { accountId: 'edit-co', name: 'before', models: ['gpt-5.2'], rpm: 5 });
    const member = await signIn('edit-co', 'ada@edit.example');
    const form = await member.get(`/console/keys/${key.keyId}`);
    expect(form.body).toContain('value="before"');
    expect(form.body).toContain('<option value="gpt-5.2" selected>');

    const saved = await member.post(`/console/keys/${key.keyId}`, [
      ['name', 'after'],
      ['models_mode', 'some'],
      ['models', 'claude-sonnet-4-6'],
      ['rpm', ''],
      ['tpm', '9000'],
      ['expiry_mode', 'date'],
      ['expires', '2099-06-30'],
    ]);

    expect(saved.status).toBe(303);
    expect(saved.location).toBe(`/console/keys?updated=${key.keyId}`);
    const stored = await db.stores.keys.findByKeyId(key.keyId);
    expect(stored).toMatchObject({
      name: 'after',
      models: ['claude-sonnet-4-6'],
      tpm: 9000,
      expiresAt: '2099-06-30T00:00:00.000Z',
    });
    expect(stored).not.toHaveProperty('rpm');
    expect((await member.get(saved.location ?? '')).body).toContain('saved');

    await member.post(`/console/keys/${key.keyId}`, [
      ['name', 'after'],
      ['models_mode', 'all'],
      ['tpm', ''],
      ['expiry_mode', 'never'],
      ['expires', '2099-06-30'],
    ]);
    const opened = await db.stores.keys.findByKeyId(key.keyId);
    expect(opened).not.toHaveProperty('models');
    expect(opened).not.toHaveProperty('tpm');
    expect(opened).not.toHaveProperty('expiresAt');
  });

  it('shows edit errors inline and changes nothing', async () => {
    await createAccount(db.stores, { accountId: 'edit-bad-co' });
    const key = await createKey(db.stores, { accountId: 'edit-bad-co', name: 'steady', rpm: 5 });
    const member = await signIn('edit-bad-co', 'ada@editbad.example');
    await member.get(`/console/keys/${key.keyId}`);

    const page = await member.post(`/console/keys/${key.keyId}`, [
      ['name', 'typed'],
      ['models_mode', 'some'],
      ['rpm', '0'],
      ['expiry_mode', 'never'],
    ]);

    expect(page.status).toBe(400);
    expect(page.body).toContain('Select at least one model');
    expect(page.body).toContain('value="typed"');
    expect(await db.stores.keys.findByKeyId(key.keyId)).toMatchObject({ name: 'steady', rpm: 5 });
  });

  it('revokes only after the confirmation POST with the CSRF token; then the gateway refuses the key', async () => {
    // Prepare
    await createAccount(db.stores, { accountId: 'revoke-co' });
    const key = await createKey(db.stores, { accountId: 'revoke-co', name: 'doomed' });
    const member = await signIn('revoke-co', 'ada@revoke.example');
    expect((await modelsCall(key.key)).status).toBe(200);

    // Act: the confirmation page, a POST without the token, then the real one
    const confirm = await member.get(`/console/keys/${key.keyId}/revoke`);
    const forged = await member.post(`/console/keys/${key.keyId}/revoke`, [], { csrf: false });
    const stillThere = await db.stores.keys.findByKeyId(key.keyId);
    const revoked = await member.post(`/console/keys/${key.keyId}/revoke`, []);

    // Assess
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('doomed');
    expect(confirm.body).toContain(`<form method="post" action="/console/keys/${key.keyId}/revoke">`);
    expect(confirm.body).toContain('<button type="submit" class="danger">Revoke key</button>');
    expect(confirm.body).toContain('Cancel');
    expect(confirm.body).toContain('30 seconds');
    expect(forged.status).toBe(403);
    expect(stillThere).not.toHaveProperty('revokedAt');
    expect(revoked.status).toBe(303);
    expect(revoked.location).toBe(`/console/keys?revoked=${key.keyId}`);
    expect(await db.stores.keys.findByKeyId(key.keyId)).toHaveProperty('revokedAt');
    expect((await modelsCall(key.key)).status).toBe(401);
    const after = await member.get(revoked.location ?? '');
    expect(after.body).toContain('revoked');
    expect(after.body).toContain('30 seconds');
  });

  it('never shows or changes another account’s key, whatever id is put in the URL', async () => {
    // Prepare
    await createAccount(db.stores, { accountId: 'alpha' });
    await createAccount(db.stores, { accountId: 'bravo' });
    const theirs = await createKey(db.stores, { accountId: 'bravo', name: 'bravo-secret-name', rpm: 7 });
    const before = await db.stores.keys.findByKeyId(theirs.keyId);
    const intruder = await signIn('alpha', 'eve@alpha.example');

    // Act
    const answers = [
      await intruder.get(`/console/keys/${theirs.keyId}`),
      await intruder.get(`/console/keys/${theirs.keyId}/revoke`),
      await intruder.post(`/console/keys/${theirs.keyId}`, [
        ['name', 'pwned'],
        ['models_mode', 'all'],
        ['rpm', '1'],
        ['expiry_mode', 'never'],
      ]),
      await intruder.post(`/console/keys/${theirs.keyId}/revoke`, []),
    ];
    const list = await intruder.get('/console/keys');

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body).not.toContain('bravo-secret-name');
    }
    expect(list.body).not.toContain(theirs.keyId);
    expect(await db.stores.keys.findByKeyId(theirs.keyId)).toEqual(before);
    expect((await modelsCall(theirs.key)).status).toBe(200);
  });

  it('answers 404 to a key id that is not one', async () => {
    await createAccount(db.stores, { accountId: 'format-co' });
    const member = await signIn('format-co', 'ada@format.example');

    for (const path of ['/console/keys/key_XYZ', '/console/keys/abc', '/console/keys/key_12ab/revoke/x']) {
      expect((await member.get(path)).status).toBe(404);
    }
    expect((await member.get('/console/keys/key_0123456789abcdef')).status).toBe(404);
  });
  // Per-key spend limits (issue 14).

  /** A row's text as a reader sees it: no markup, spaces collapsed. */
  const textOf = (markup: string): string =>
    markup
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .replace(/ ([,.;])/g, '$1')
      .trim();

  /** "Jan 1, 00:00 UTC": when the current period of `reset` ends. */
  const resetsText = (reset: LimitReset): string => {
    const endsAt = limitPeriod(reset, new Date()).endsAt ?? '';
    const day = new Date(endsAt).toLocaleDateString('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric' });
    return `resets ${day}, 00:00 UTC`;
  };

  /** Writes the key's spend row of its current period as the gateway keeps it. */
  const putKeySpend = async (accountId: string, keyId: string, reset: LimitReset, spent: number, held: number) => {
    await db.client.send(
      new PutCommand({
        TableName: db.tables.ledger,
        Item: {
          accountId,
          sk: keyBudgetSk(keyId, limitPeriod(reset, new Date())),
          kind: 'keyspend',
          keyId,
          spent,
          held,
          used: spent + held,
          updatedAt: new Date().toISOString(),
        },
      }),
    );
  };

  const EDIT_FIELDS: [string, string][] = [
    ['name', 'capped'],
    ['models_mode', 'all'],
    ['expiry_mode', 'never'],
  ];

  it('creates a key with a spend limit and reset; the list shows it against the limit, with the reset time', async () => {
    await createAccount(db.stores, { accountId: 'limit-create-co' });
    const member = await signIn('limit-create-co', 'ada@limitcreate.example');
    const form = await member.get('/console/keys');
    expect(form.body).toContain('<label for="new-spend-limit">Spend limit (USD)');
    expect(form.body).toContain('<option value="weekly">Weekly (Mondays)</option>');

    const created = await member.post('/console/keys', [
      ['name', 'capped'],
      ['spend_limit', ' 20 '],
      ['limit_reset', 'monthly'],
    ]);
    await member.post('/console/keys', [
      ['name', 'open'],
      ['spend_limit', ''],
      ['limit_reset', 'daily'],
    ]);

    expect(created.status).toBe(200);
    expect(textOf(created.body)).toContain('Spend limit: $20.00 per month (UTC).');
    const keys = await db.stores.keys.listByAccount('limit-create-co');
    const capped = keys.find((key) => key.name === 'capped');
    const open = keys.find((key) => key.name === 'open');
    expect(capped).toMatchObject({ spendLimit: 20_000_000_000, limitReset: 'monthly' });
    expect(open).not.toHaveProperty('spendLimit');
    expect(open).not.toHaveProperty('limitReset');
    const list = await member.get('/console/keys');
    const cappedRow = textOf(rowOf(list.body, capped?.keyId ?? ''));
    expect(cappedRow).toContain('$0.00 of $20.00 this month');
    expect(cappedRow).toContain(resetsText('monthly'));
    expect(cappedRow).not.toContain('held');
    expect(cappedRow).not.toContain('Limit reached');
    expect(rowOf(list.body, capped?.keyId ?? '')).toMatch(
      /<meter class="limit-meter ok" min="0" max="1000" value="0" aria-label="capped: share of the spend limit used">/,
    );
    const openRow = textOf(rowOf(list.body, open?.keyId ?? ''));
    expect(openRow).toContain('No limit');
    expect(openRow).not.toContain('resets');
    expect(list.body).toContain('A key with no limit can spend the wallet');
  });

  it('shows the exact spend of a real request through the gateway against the key’s limit', async () => {
    await createAccount(db.stores, { accountId: 'limit-spend-co' });
    await db.stores.wallets.topUp('limit-spend-co', 5_000_000_000, 'seed-limit-spend-co');
    const member = await signIn('limit-spend-co', 'ada@limitspend.example');
    const secret = secretOf(
      (
        await member.post('/console/keys', [
          ['name', 'metered'],
          ['spend_limit', '1'],
          ['limit_reset', 'monthly'],
        ])
      ).body,
    );
    const call = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: 'count me' }] }),
    });
    expect(call.status).toBe(200);
    const [usage] = await settledUsage(db, 'limit-spend-co', 1);
    const cost = usage?.cost ?? 0;
    expect(cost).toBeGreaterThan(0);

    const list = await member.get('/console/keys');

    const row = textOf(rowOf(list.body, usage?.keyId ?? ''));
    expect(row).toContain(`$${formatUsd(cost)} of $1.00 this month`);
    expect(row).not.toContain('held');
    expect(row).toContain(resetsText('monthly'));
  });

  it('states held amounts, warns from 90% and says "Limit reached" when nothing remains', async () => {
    await createAccount(db.stores, { accountId: 'limit-levels-co' });
    const member = await signIn('limit-levels-co', 'ada@limitlevels.example');
    const make = (name: string, usd: number, reset: LimitReset) =>
      createKey(db.stores, { accountId: 'limit-levels-co', name, spendLimit: usd * 1e9, limitReset: reset });
    const busy = await make('busy', 20, 'monthly');
    const near = await make('near', 10, 'weekly');
    const full = await make('full', 5, 'daily');
    const total = await make('total', 3, 'never');
    await putKeySpend('limit-levels-co', busy.keyId, 'monthly', 12_020_000_000, 50_000_000);
    await putKeySpend('limit-levels-co', near.keyId, 'weekly', 8_950_000_000, 50_000_000);
    await putKeySpend('limit-levels-co', full.keyId, 'daily', 4_990_000_000, 10_000_000);
    await putKeySpend('limit-levels-co', total.keyId, 'never', 123_456_789, 0);

    const { body } = await member.get('/console/keys');

    const busyRow = rowOf(body, busy.keyId);
    expect(textOf(busyRow)).toContain('$12.02 of $20.00 this month + $0.05 held');
    expect(busyRow).toContain('<meter class="limit-meter ok" min="0" max="1000" value="603"');
    const nearRow = rowOf(body, near.keyId);
    expect(textOf(nearRow)).toContain('$8.95 of $10.00 this week + $0.05 held');
    expect(textOf(nearRow)).toContain(resetsText('weekly'));
    expect(nearRow).toContain('<meter class="limit-meter warn" min="0" max="1000" value="900"');
    expect(textOf(nearRow)).not.toContain('Limit reached');
    const fullRow = rowOf(body, full.keyId);
    expect(textOf(fullRow)).toContain('$4.99 of $5.00 today + $0.01 held');
    expect(textOf(fullRow)).toContain('Limit reached');
    expect(textOf(fullRow)).toContain(resetsText('daily'));
    expect(fullRow).toContain('<meter class="limit-meter reached" min="0" max="1000" value="1000"');
    const totalRow = textOf(rowOf(body, total.keyId));
    expect(totalRow).toContain('$0.123456789 of $3.00 in all');
    expect(totalRow).not.toContain('resets');
    // The edit form says where the key stands, where its user goes to raise the limit.
    const nowOf = (page: string) =>
      textOf(
        /<div id="edit-limit-now" class="limit-now" data-testid="limit-now">[\s\S]*?<\/div>/.exec(page)?.[0] ?? '',
      );
    expect(nowOf((await member.get(`/console/keys/${busy.keyId}`)).body)).toContain(
      `So far: $12.02 of $20.00 this month, and $0.05 held; ${resetsText('monthly')}.`,
    );
    expect(nowOf((await member.get(`/console/keys/${full.keyId}`)).body)).toContain(
      `So far: $4.99 of $5.00 today, and $0.01 held — Limit reached; ${resetsText('daily')}.`,
    );
    expect(nowOf((await member.get(`/console/keys/${total.keyId}`)).body)).toContain(
      'So far: $0.123456789 of $3.00 in all.',
    );
  });

  it('edits a key’s spend limit: set, raise with a new reset, and remove (empty)', async () => {
    await createAccount(db.stores, { accountId: 'limit-edit-co' });
    const key = await createKey(db.stores, { accountId: 'limit-edit-co', name: 'capped' });
    const member = await signIn('limit-edit-co', 'ada@limitedit.example');
    const blank = await member.get(`/console/keys/${key.keyId}`);
    expect(blank.body).toMatch(/<input id="edit-spend-limit" name="spend_limit" [^>]*value(="")? /);
    expect(blank.body).toContain('<option value="never" selected>Never</option>');

    const set = await member.post(`/console/keys/${key.keyId}`, [
      ...EDIT_FIELDS,
      ['spend_limit', '5'],
      ['limit_reset', 'weekly'],
    ]);
    expect(set.status).toBe(303);
    expect(set.location).toBe(`/console/keys?updated=${key.keyId}`);
    expect(await db.stores.keys.findByKeyId(key.keyId)).toMatchObject({ spendLimit: 5e9, limitReset: 'weekly' });
    const after = await member.get(set.location ?? '');
    expect(after.body).toContain('saved');
    expect(textOf(rowOf(after.body, key.keyId))).toContain('$0.00 of $5.00 this week');
    const form = await member.get(`/console/keys/${key.keyId}`);
    expect(form.body).toMatch(/<input id="edit-spend-limit" name="spend_limit" [^>]*value="5.00"/);
    expect(form.body).toContain('<option value="weekly" selected>Weekly (Mondays)</option>');

    const raised = await member.post(`/console/keys/${key.keyId}`, [
      ...EDIT_FIELDS,
      ['spend_limit', '20.000000001'],
      ['limit_reset', 'monthly'],
    ]);
    expect(raised.status).toBe(303);
    expect(await db.stores.keys.findByKeyId(key.keyId)).toMatchObject({
      spendLimit: 20_000_000_001,
      limitReset: 'monthly',
    });
    expect(textOf(rowOf((await member.get('/console/keys')).body, key.keyId))).toContain(
      '$0.00 of $20.000000001 this month',
    );

    // Saving other fields keeps the limit as it is.
    await member.post(`/console/keys/${key.keyId}`, [
      ['name', 'renamed'],
      ['models_mode', 'all'],
      ['expiry_mode', 'never'],
      ['spend_limit', '20.000000001'],
      ['limit_reset', 'monthly'],
    ]);
    expect(await db.stores.keys.findByKeyId(key.keyId)).toMatchObject({
      name: 'renamed',
      spendLimit: 20_000_000_001,
      limitReset: 'monthly',
    });

    const removed = await member.post(`/console/keys/${key.keyId}`, [
      ...EDIT_FIELDS,
      ['spend_limit', ''],
      ['limit_reset', 'monthly'],
    ]);
    expect(removed.status).toBe(303);
    const stored = await db.stores.keys.findByKeyId(key.keyId);
    expect(stored).not.toHaveProperty('spendLimit');
    expect(stored).not.toHaveProperty('limitReset');
    expect(textOf(rowOf((await member.get('/console/keys')).body, key.keyId))).toContain('No limit');
  });

  it('refuses a bad spend limit with the message, what was typed, and nothing changed', async () => {
    await createAccount(db.stores, { accountId: 'limit-bad-co' });
    const key = await createKey(db.stores, {
      accountId: 'limit-bad-co',
      name: 'steady',
      spendLimit: 7_000_000_000,
      limitReset: 'daily',
    });
    const before = await db.stores.keys.findByKeyId(key.keyId);
    const member = await signIn('limit-bad-co', 'ada@limitbad.example');
    const cases: { spend: string; reset?: string; message: string }[] = [
      { spend: '-5', message: "Invalid spend limit '-5': must be greater than zero" },
      { spend: '0', message: "Invalid spend limit '0': must be greater than zero" },
      { spend: 'abc', message: "Invalid spend limit: 'abc' is not a USD amount" },
      { spend: '1.0000000001', message: "Invalid spend limit: '1.0000000001' is not a USD amount" },
      { spend: '5000000.000000001', message: "'5000000.000000001' is more than the maximum of $5000000.00" },
      { spend: '99999999999999999999', message: 'is too large' },
      { spend: '5', reset: 'yearly', message: 'Invalid reset: choose Never, Daily, Weekly or Monthly' },
    ];

    for (const { spend, reset = 'monthly', message } of cases) {
      const created = await member.post('/console/keys', [
        ['name', 'kept-name'],
        ['spend_limit', spend],
        ['limit_reset', reset],
      ]);
      await member.get(`/console/keys/${key.keyId}`);
      const edited = await member.post(`/console/keys/${key.keyId}`, [
        ...EDIT_FIELDS,
        ['spend_limit', spend],
        ['limit_reset', reset],
      ]);

      for (const [page, form] of [
        [created, 'create-key'],
        [edited, 'edit-key'],
      ] as const) {
        expect(page.status, `${form} ${spend}`).toBe(400);
        expect(page.body).toContain('role="alert"');
        expect(textOf(page.body).replaceAll('&#39;', "'")).toContain(message);
        expect(page.body).toContain(`<form ${form === 'edit-key' ? 'class="card" ' : ''}id="${form}"`);
        expect(page.body).toMatch(new RegExp(`name="spend_limit" [^>]*value="${spend.replaceAll('.', '\\.')}"`));
      }
    }
    expect((await db.stores.keys.listByAccount('limit-bad-co')).map((k) => k.keyId)).toEqual([key.keyId]);
    expect(await db.stores.keys.findByKeyId(key.keyId)).toEqual(before);
  });

  it('escapes a typed spend limit with markup when it shows the form again', async () => {
    await createAccount(db.stores, { accountId: 'limit-xss-co' });
    const key = await createKey(db.stores, { accountId: 'limit-xss-co', name: 'x' });
    const member = await signIn('limit-xss-co', 'ada@limitxss.example');
    const typed = '"><script>alert(1)</script>';

    const created = await member.post('/console/keys', [
      ['name', 'x'],
      ['spend_limit', typed],
    ]);
    await member.get(`/console/keys/${key.keyId}`);
    const edited = await member.post(`/console/keys/${key.keyId}`, [...EDIT_FIELDS, ['spend_limit', typed]]);

    for (const page of [created, edited]) {
      expect(page.status).toBe(400);
      expect(page.body).not.toContain('<script>alert(1)');
      expect(page.body).toContain('value="&quot;>&lt;script>alert(1)&lt;/script>"');
    }
  });

  it('never sets or removes another account’s key limit: 404, unchanged', async () => {
    await createAccount(db.stores, { accountId: 'limit-alpha' });
    await createAccount(db.stores, { accountId: 'limit-bravo' });
    const theirs = await createKey(db.stores, {
      accountId: 'limit-bravo',
      name: 'bravo-capped',
      spendLimit: 2_000_000_000,
      limitReset: 'monthly',
    });
    const open = await createKey(db.stores, { accountId: 'limit-bravo', name: 'bravo-open' });
    const before = [await db.stores.keys.findByKeyId(theirs.keyId), await db.stores.keys.findByKeyId(open.keyId)];
    const intruder = await signIn('limit-alpha', 'eve@limitalpha.example');

    const answers = [
      await intruder.post(`/console/keys/${theirs.keyId}`, [...EDIT_FIELDS, ['spend_limit', '']]),
      await intruder.post(`/console/keys/${theirs.keyId}`, [...EDIT_FIELDS, ['spend_limit', '9999']]),
      await intruder.post(`/console/keys/${open.keyId}`, [
        ...EDIT_FIELDS,
        ['spend_limit', '1'],
        ['limit_reset', 'daily'],
      ]),
    ];

    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body).not.toContain('bravo-');
    }
    expect([await db.stores.keys.findByKeyId(theirs.keyId), await db.stores.keys.findByKeyId(open.keyId)]).toEqual(
      before,
    );
    // Through the service with the account, too: another account's key is unknown.
    await expect(
      updateKey(db.stores, { keyId: theirs.keyId, accountId: 'limit-alpha', spendLimit: null }),
    ).rejects.toThrow(/Unknown key id/);
  });
});
