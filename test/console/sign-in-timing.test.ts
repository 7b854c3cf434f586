import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mail, Mailer } from '../../lambdas/mail/mailer.ts';
import { type LocalGateway, startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { addMember } from '../../lambdas/services/members.ts';
import { createTestDatabase } from '../support/dynamo.ts';

const MAIL_MS = 1_500;
const FLOOR_MS = 300;

describe('the sign-in answer does not wait for the e-mail', () => {
  const delivered: Mail[] = [];
  /** An SES that takes 1.5 s per message. */
  const slowMailer: Mailer = {
    send: async (mail) => {
      await sleep(MAIL_MS);
      delivered.push(mail);
    },
  };
  let gateway: LocalGateway;

  beforeAll(async () => {
    const db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'acme' });
    await addMember(db.stores, { accountId: 'acme', email: 'ada@example.com' });
    gateway = await startLocalGateway({
      stores: db.stores,
      reportSink: { publish: async () => undefined },
      console: { mailer: slowMailer, signInFloorMs: FLOOR_MS },
    });
  });
  afterAll(async () => {
    await gateway.close();
  });

  const askForLink = async (email: string) => {
    const answer = await fetch(`${gateway.url}/console/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.url },
      body: new URLSearchParams({ email }).toString(),
    });
    const body = await answer.text();
    return { status: answer.status, body };
  };

  it('answers a member before the slow send is done, and the mail still goes out', async () => {
    // Act
    const member = await askForLink('ada@example.com');
    const stranger = await askForLink('eve@example.com');

    // Assess: both answered the same page, and the member's answer came before the send finished
    expect(member.status).toBe(200);
    expect(stranger.status).toBe(200);
    expect(member.body.replace('ada@example.com', '')).toBe(stranger.body.replace('eve@example.com', ''));
    expect(delivered).toHaveLength(0);
    await expect.poll(() => delivered.length, { timeout: 5_000 }).toBe(1);
    expect(delivered[0]?.to).toBe('ada@example.com');
  });
});
