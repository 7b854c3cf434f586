import { randomBytes, timingSafeEqual } from 'node:crypto';
import { newSecret, secretHash } from '../services/members.ts';
import type { MemberStore } from '../store/members.ts';
import type { SessionRecord, SessionStore } from '../store/sessions.ts';
import type { ConsoleRequest } from './http.ts';

export interface SessionConfig {
  /** A session ends this long after its last request. */
  idleMs: number;
  /** …and this long after sign-in, however active. */
  maxMs: number;
}

export const DEFAULT_SESSION_CONFIG: SessionConfig = { idleMs: 8 * 3600_000, maxMs: 7 * 24 * 3600_000 };

/** The idle expiry is written again only when it has moved this much: one write per 5 minutes at most. */
const TOUCH_EVERY_MS = 5 * 60_000;

export interface SessionDeps {
  sessions: SessionStore;
  members: Pick<MemberStore, 'get' | 'accountsOf'>;
  config: SessionConfig;
  now: () => number;
}

/** A signed-in member looking at one of their accounts. */
export interface Session {
  hash: string;
  email: string;
  accountId: string;
  /** Every account this e-mail may open (for the switcher). */
  accounts: string[];
  /** The form token of this session (CSRF). */
  csrf: string;
}

/** `__Host-` pins the cookie to this origin and path `/`, and needs `Secure`: loopback http has neither. */
const cookieName = (secure: boolean): string => (secure ? '__Host-tollgate_session' : 'tollgate_session');

const cookie = (secure: boolean, value: string, maxAgeSeconds: number): string =>
  [
    `${cookieName(secure)}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : []),
    `Max-Age=${maxAgeSeconds}`,
  ].join('; ');

/** The cookie that ends the session in the browser. */
export const clearedSessionCookie = (secure: boolean): string => cookie(secure, '', 0);

/** Starts a session for `email` on `accountId`; returns its `Set-Cookie`. */
export const startSession = async (
  deps: SessionDeps,
  request: Pick<ConsoleRequest, 'secure'>,
  email: string,
  accountId: string,
): Promise<string> => {
  const now = deps.now();
  const secret = newSecret();
  const record: SessionRecord = {
    hash: secretHash(secret),
    email,
    accountId,
    csrf: randomBytes(24).toString('base64url'),
    createdAt: now,
    seenAt: now,
    endsAt: now + deps.config.maxMs,
    idleEndsAt: now + deps.config.idleMs,
  };
  await deps.sessions.putSession(record);
  return cookie(request.secure, secret, Math.ceil(deps.config.maxMs / 1000));
};

/** The session secret the request carries, if any. */
const presentedSecret = (request: ConsoleRequest): string | undefined => {
  const value = request.cookies.get(cookieName(request.secure));
  return value && /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
};

/**
 * The request's live session, with its membership checked again: a member removed from the
 * account loses it at once (the session moves to another of their accounts, or ends).
 */
export const loadSession = async (deps: SessionDeps, request: ConsoleRequest): Promise<Session | undefined> => {
  const secret = presentedSecret(request);
  if (secret === undefined) return undefined;
  const hash = secretHash(secret);
  const now = deps.now();
  const record = await deps.sessions.getSession(hash, now);
  if (!record) return undefined;
  const memberships = await deps.members.accountsOf(record.email);
  const accounts = memberships.map((member) => member.accountId);
  if (accounts.length === 0) {
    await deps.sessions.deleteSession(hash);
    return undefined;
  }
  const accountId = accounts.includes(record.accountId) ? record.accountId : (accounts[0] as string);
  // At most one write per 5 minutes, and never so rarely that an active session idles out: with a
  // short idle time, every quarter of it.
  const touchEvery = Math.min(TOUCH_EVERY_MS, deps.config.idleMs / 4);
  if (accountId !== record.accountId || now - record.seenAt >= touchEvery) {
    await deps.sessions.touch(hash, {
      seenAt: now,
      idleEndsAt: Math.min(now + deps.config.idleMs, record.endsAt),
      endsAt: record.endsAt,
      ...(accountId === record.accountId ? {} : { accountId }),
    });
  }
  return { hash, email: record.email, accountId, accounts, csrf: record.csrf };
};

/** Points the session at another of the member's accounts; false when they are not a member of it. */
export const switchAccount = async (deps: SessionDeps, session: Session, accountId: string): Promise<boolean> => {
  if (!session.accounts.includes(accountId)) return false;
  const record = await deps.sessions.getSession(session.hash, deps.now());
  if (!record) return false;
  const now = deps.now();
  return deps.sessions.touch(session.hash, {
    seenAt: now,
    idleEndsAt: Math.min(now + deps.config.idleMs, record.endsAt),
    endsAt: record.endsAt,
    accountId,
  });
};

export const endSession = async (deps: SessionDeps, session: Session): Promise<void> => {
  await deps.sessions.deleteSession(session.hash);
};

/** True when the form carries this session's token (compared in constant time). */
export const validCsrf = (session: Session, presented: string | null): boolean => {
  if (presented === null) return false;
  const expected = Buffer.from(session.csrf);
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
};

/**
 * True when a state-changing request may come from the console's own pages: a browser names the
 * page's origin (`Origin`) and says the request is same-origin (`Sec-Fetch-Site`). A request
 * without either header is not from a modern browser's cross-site form; signed-in forms also need
 * the session's CSRF token.
 */
export const sameOrigin = (request: ConsoleRequest): boolean => {
  const origin = request.headers['origin'];
  if (origin !== undefined && origin !== request.origin) return false;
  const site = request.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
};
