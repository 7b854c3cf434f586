import { createHash, randomBytes } from 'node:crypto';
import type { Mailer } from '../mail/mailer.ts';
import type { Member } from '../store/members.ts';
import { requireWallet } from './accounts.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import { checkAccountId } from './validate.ts';

export type MembersDeps = ServiceDeps<'members' | 'wallets'>;
export type SignInDeps = ServiceDeps<'members' | 'sessions'>;

/** How long a sign-in link works: 15 minutes, once. */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
/** Sign-in requests allowed per e-mail address, and per source address, in {@link SIGN_IN_WINDOW_MS}. */
export const SIGN_IN_LIMITS = { perEmail: 5, perSource: 20 } as const;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/**
 * An e-mail address as members are stored: trimmed and lower case, at most 254 characters.
 *
 * @example checkEmail(' Ada@Example.COM ') // 'ada@example.com'
 */
export const checkEmail = (email: string): string => {
  const normalized = email.trim().toLowerCase();
  if (normalized.length > 254 || !EMAIL.test(normalized)) {
    throw new InvalidInputError(`Invalid e-mail address '${email.trim().slice(0, 254)}'`);
  }
  return normalized;
};

/** The SHA-256 (hex) that stands for a sign-in or session secret in the database. */
export const secretHash = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** A fresh 256-bit secret, URL-safe. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

export interface MemberSummary {
  email: string;
  account: string;
  added_at: string;
}

const summary = (member: Member): MemberSummary => ({
  email: member.email,
  account: member.accountId,
  added_at: member.addedAt,
});

/**
 * Lets `email` sign in to the console for an existing account. Adding a member twice changes nothing.
 *
 * @example await addMember(stores, { accountId: 'demo', email: 'ada@example.com' }) // { added: true, … }
 */
export const addMember = async (
  deps: MembersDeps,
  input: { accountId: string; email: string },
): Promise<MemberSummary & { added: boolean }> => {
  const accountId = checkAccountId(input.accountId);
  const email = checkEmail(input.email);
  await requireWallet(deps, accountId);
  const entry: Member = { email, accountId, addedAt: clock(deps).toISOString() };
  const added = await deps.members.add(entry);
  const stored = added ? entry : ((await deps.members.get(email, accountId)) ?? entry);
  return { ...summary(stored), added };
};

/** The account's members, by e-mail. */
export const listMembers = async (
  deps: MembersDeps,
  input: { accountId: string },
): Promise<{ account: string; members: MemberSummary[] }> => {
  const accountId = checkAccountId(input.accountId);
  await requireWallet(deps, accountId);
  const members = await deps.members.listByAccount(accountId);
  return { account: accountId, members: members.map(summary) };
};

/**
 * Takes away `email`'s access to the account. Their console sessions lose the account at their next
 * request (membership is checked on every request).
 */
export const removeMember = async (
  deps: MembersDeps,
  input: { accountId: string; email: string },
): Promise<MemberSummary> => {
  const accountId = checkAccountId(input.accountId);
  const email = checkEmail(input.email);
  const member = await deps.members.get(email, accountId);
  if (!member || !(await deps.members.remove(accountId, email))) {
    throw new NotFoundError('member', email, `'${email}' is not a member of account '${accountId}'`);
  }
  return summary(member);
};

/** A one-time sign-in link. */
export interface SignInLink {
  url: string;
  email: string;
  expires_at: string;
}

/** The console's base URL without a trailing slash, e.g. `http://127.0.0.1:8787/console`. */
const linkUrl = (consoleUrl: string, secret: string): string =>
  `${consoleUrl.replace(/\/+$/, '')}/auth?token=${encodeURIComponent(secret)}`;

const mintLink = async (deps: SignInDeps, email: string, consoleUrl: string): Promise<SignInLink> => {
  const now = clock(deps).getTime();
  const secret = newSecret();
  const expiresAt = now + SIGN_IN_LINK_TTL_MS;
  await deps.sessions.putLink(secretHash(secret), email, expiresAt, now);
  return { url: linkUrl(consoleUrl, secret), email, expires_at: new Date(expiresAt).toISOString() };
};

/**
 * `tollgate members link`: a one-time sign-in link for a member, valid 15 minutes. The operator
 * hands it over; nothing is sent.
 */
export const createSignInLink = async (
  deps: SignInDeps,
  input: { email: string; consoleUrl: string },
): Promise<SignInLink> => {
  const email = checkEmail(input.email);
  if ((await deps.members.accountsOf(email)).length === 0) {
    throw new NotFoundError('member', email, `'${email}' is not a member of any account: add them with members add`);
  }
  return mintLink(deps, email, input.consoleUrl);
};

/** What the sign-in page says, whoever asked. */
export type SignInRequestOutcome = 'sent' | 'rate_limited';

/**
 * The sign-in form: mails a one-time link when `email` is a member of an account, and answers the
 * same either way, so the form does not tell who is a member. Limited per address and per source
 * before anything else is read, so the limit says nothing about membership either.
 */
export const requestSignIn = async (
  deps: SignInDeps & ServiceDeps<'counters'> & { mailer: Mailer },
  input: { email: string; consoleUrl: string; source: string },
): Promise<SignInRequestOutcome> => {
  const email = checkEmail(input.email);
  const now = clock(deps).getTime();
  const [forEmail, forSource] = await Promise.all([
    deps.counters.countEvent(`signin-email#${secretHash(email)}`, SIGN_IN_WINDOW_MS, now),
    deps.counters.countEvent(`signin-source#${input.source}`, SIGN_IN_WINDOW_MS, now),
  ]);
  if (forEmail > SIGN_IN_LIMITS.perEmail || forSource > SIGN_IN_LIMITS.perSource) return 'rate_limited';
  if ((await deps.members.accountsOf(email)).length === 0) return 'sent';
  const link = await mintLink(deps, email, input.consoleUrl);
  await deps.mailer.send({
    to: email,
    subject: 'Your Tollgate sign-in link',
    text: [
      'Open this link to sign in to the Tollgate console:',
      '',
      link.url,
      '',
      `It works once, until ${link.expires_at} (15 minutes).`,
      'If you did not ask to sign in, ignore this e-mail: nothing happens without the link.',
    ].join('\n'),
  });
  return 'sent';
};

/**
 * Uses a sign-in link: the e-mail it was minted for and the accounts that e-mail may open, or
 * undefined when the link is unknown, used or expired.
 */
export const redeemSignInLink = async (
  deps: SignInDeps,
  input: { token: string },
): Promise<{ email: string; accounts: string[] } | undefined> => {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(input.token)) return undefined;
  const email = await deps.sessions.consumeLink(secretHash(input.token), clock(deps).getTime());
  if (email === undefined) return undefined;
  const accounts = (await deps.members.accountsOf(email)).map((member) => member.accountId);
  return { email, accounts };
};
