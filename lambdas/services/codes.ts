import { createHash, randomBytes } from 'node:crypto';
import { formatUsd } from '../gateway/money.ts';
import type { CodeRecord, CodeStatus } from '../store/codes.ts';
import { MoneyLimitError, TopUpConditionError, UnknownAccountError } from '../store/wallets.ts';
import { MAX_TOP_UP_NANO } from '../vocabulary.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { ConflictError, InvalidInputError, LimitExceededError, NotFoundError, unknownAccount } from './errors.ts';
import { amountOf, checkAccountId, checkPositiveInteger, parseExpiry } from './validate.ts';

export type CodesDeps = ServiceDeps<'codes'>;
export type RedeemDeps = ServiceDeps<'codes' | 'wallets'>;

/** Crockford's base32: no I, L, O or U, so a code read aloud or retyped has no look-alikes. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 20 characters × 5 bits = 100 bits of randomness. */
const CODE_CHARS = 20;
const PREFIX = 'TG';
/** The most codes one `codes create` mints. */
export const MAX_CODES_PER_BATCH = 1000;

/**
 * A new redemption code, `TG-XXXXX-XXXXX-XXXXX-XXXXX`: 20 characters of Crockford base32 from the
 * system's CSPRNG (each byte's low 5 bits: 256 is a multiple of 32, so every character is uniform).
 */
export const generateCode = (): string => {
  const chars = [...randomBytes(CODE_CHARS)].map((byte) => ALPHABET[byte & 31]).join('');
  return [PREFIX, ...(chars.match(/.{5}/g) ?? [])].join('-');
};

/**
 * A code as typed, in the one form that is hashed: upper case, dashes and spaces dropped, the `TG`
 * prefix dropped, Crockford's look-alikes read as digits (I, L → 1; O → 0). Undefined when it cannot
 * be a code.
 *
 * @example normaliseCode('tg-abcde-fghjk-mnpqr-stvwx') // 'ABCDEFGHJKMNPQRSTVWX'
 */
export const normaliseCode = (text: string): string | undefined => {
  let body = text.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (body.length === CODE_CHARS + PREFIX.length && body.startsWith(PREFIX)) body = body.slice(PREFIX.length);
  if (body.length !== CODE_CHARS || [...body].some((char) => !ALPHABET.includes(char))) return undefined;
  return body;
};

/** The SHA-256 (hex) of a normalised code: what the codes table is keyed by. */
export const hashCode = (normalised: string): string => createHash('sha256').update(normalised).digest('hex');

/** A code as `codes list` and `codes create --json` show it: never the secret. */
export interface CodeSummary {
  code_id: string;
  /** The code's last four characters. */
  last4: string;
  batch_id: string;
  amount_usd: string;
  amount_nano: number;
  created_at: string;
  expires_at: string | null;
  note: string | null;
  /** `expired` is an active code past its expiry. */
  status: CodeStatus | 'expired';
  redeemed_by: string | null;
  redeemed_at: string | null;
}

const summary = (code: CodeRecord, now: Date): CodeSummary => ({
  code_id: code.codeId,
  last4: code.last4,
  batch_id: code.batchId,
  amount_usd: formatUsd(code.amount),
  amount_nano: code.amount,
  created_at: code.createdAt,
  expires_at: code.expiresAt ?? null,
  note: code.note ?? null,
  status:
    code.status === 'active' && code.expiresAt !== undefined && code.expiresAt <= now.toISOString()
      ? 'expired'
      : code.status,
  redeemed_by: code.redeemedBy ?? null,
  redeemed_at: code.redeemedAt ?? null,
});

export interface NewCodes {
  /** USD, exact decimal, e.g. "25.00"; at most the top-up limit. */
  amountUsd: string;
  count: number;
  /** ISO-8601 date or date-time in the future. */
  expires?: string;
  note?: string;
}

export interface CreatedCodes {
  batch_id: string;
  amount_usd: string;
  amount_nano: number;
  expires_at: string | null;
  note: string | null;
  /** The codes themselves: shown this once, only their hashes are stored. */
  codes: { code: string; code_id: string }[];
}

/**
 * Checks {@link NewCodes} without reading anything.
 */
export const checkNewCodes = (input: NewCodes, now = new Date()) => {
  const amount = amountOf({ usd: input.amountUsd }, 'amount', { positive: true, max: MAX_TOP_UP_NANO });
  const count = checkPositiveInteger(input.count, 'count', MAX_CODES_PER_BATCH);
  const expiresAt = input.expires === undefined ? undefined : parseExpiry(input.expires, now);
  const note = input.note?.trim();
  if (note !== undefined && note.length > 200) throw new InvalidInputError('A note is at most 200 characters');
  return { amount, count, expiresAt, note: note || undefined };
};

/**
 * Mints `count` single-use codes worth `amountUsd` each, as one batch. Returns the codes once;
 * only their SHA-256 hashes are stored.
 *
 * @example await createCodes(stores, { amountUsd: '25.00', count: 10, note: 'conference' })
 */
export const createCodes = async (deps: CodesDeps, input: NewCodes): Promise<CreatedCodes> => {
  const now = clock(deps);
  const { amount, count, expiresAt, note } = checkNewCodes(input, now);
  const batchId = `batch_${randomBytes(6).toString('hex')}`;
  const createdAt = now.toISOString();
  const codes: CreatedCodes['codes'] = [];
  while (codes.length < count) {
    const code = generateCode();
    const normalised = normaliseCode(code) as string;
    const codeId = `code_${randomBytes(8).toString('hex')}`;
    const stored = await deps.codes.create({
      codeHash: hashCode(normalised),
      codeId,
      last4: normalised.slice(-4),
      batchId,
      amount,
      createdAt,
      status: 'active',
      ...(expiresAt !== undefined && { expiresAt }),
      ...(note !== undefined && { note }),
    });
    // A collision of 100 random bits does not happen; if it did, the new code is simply not kept.
    if (stored) codes.push({ code, code_id: codeId });
  }
  return {
    batch_id: batchId,
    amount_usd: formatUsd(amount),
    amount_nano: amount,
    expires_at: expiresAt ?? null,
    note: note ?? null,
    codes,
  };
};

/** Every code, or one batch's, oldest first: status only, never the secret. */
export const listCodes = async (
  deps: CodesDeps,
  input: { batchId?: string } = {},
): Promise<{ codes: CodeSummary[] }> => {
  const now = clock(deps);
  return { codes: (await deps.codes.list(input.batchId)).map((code) => summary(code, now)) };
};

const CODE_ID = /^code_[0-9a-f]{16}$/;

/** The code a `codes revoke` argument names: its id, or the code itself. */
const findCode = async (deps: CodesDeps, idOrCode: string): Promise<CodeRecord> => {
  const text = idOrCode.trim();
  const normalised = CODE_ID.test(text) ? undefined : normaliseCode(text);
  const code = CODE_ID.test(text)
    ? await deps.codes.getById(text)
    : normalised === undefined
      ? undefined
      : await deps.codes.get(hashCode(normalised));
  if (!code) throw new NotFoundError('code', text, `Unknown code '${text}'`);
  return code;
};

/**
 * Revokes an active code by its id (`code_…`) or by the code itself; a redeemed or revoked code is a
 * {@link ConflictError}.
 */
export const revokeCode = async (deps: CodesDeps, input: { code: string }): Promise<CodeSummary> => {
  const now = clock(deps);
  const code = await findCode(deps, input.code);
  if (!(await deps.codes.revoke(code.codeHash, now))) {
    const current = (await deps.codes.get(code.codeHash)) ?? code;
    throw new ConflictError(
      current.status === 'redeemed'
        ? `Code ${code.codeId} was already redeemed by ${current.redeemedBy} at ${current.redeemedAt}`
        : `Code ${code.codeId} is already revoked`,
    );
  }
  return summary({ ...code, status: 'revoked', revokedAt: now.toISOString() }, now);
};

export type CodeRefusal = 'unknown' | 'redeemed' | 'expired' | 'revoked';

/** Why a code cannot be redeemed; the message names no account and no other detail of the code. */
export class CodeRefusedError extends ConflictError {
  readonly reason: CodeRefusal;
  constructor(reason: CodeRefusal) {
    super(REFUSALS[reason]);
    this.reason = reason;
  }
}

const REFUSALS: Record<CodeRefusal, string> = {
  unknown: 'This code is not valid. Check that it was typed as given, e.g. TG-XXXXX-XXXXX-XXXXX-XXXXX.',
  redeemed: 'This code has already been redeemed.',
  expired: 'This code has expired.',
  revoked: 'This code has been revoked.',
};

const refusalOf = (code: Record<string, unknown> | CodeRecord | undefined, now: Date): CodeRefusal => {
  if (!code) return 'unknown';
  if (code['status' as keyof typeof code] === 'redeemed') return 'redeemed';
  if (code['status' as keyof typeof code] === 'revoked') return 'revoked';
  const expiresAt = code['expiresAt' as keyof typeof code];
  if (typeof expiresAt === 'string' && expiresAt <= now.toISOString()) return 'expired';
  return 'unknown';
};

export interface Redemption {
  account: string;
  code_id: string;
  top_up_id: string;
  amount_usd: string;
  amount_nano: number;
  balance_usd: string;
  balance_nano: number;
}

/**
 * Redeems a code for `accountId`: ONE transaction turns the code from active to redeemed (only while
 * it is active and unexpired), credits the wallet and writes the top-up ledger row (top-up id
 * `code-<codeId>`) with its guard row. Concurrent redemptions of one code credit exactly once; the
 * others get a {@link CodeRefusedError} ("already redeemed"), as do unknown, expired and revoked codes.
 *
 * @example await redeemCode(stores, { accountId: 'acme', code: 'TG-7K2QM-…' }) // { amount_usd: '25.00', … }
 */
export const redeemCode = async (deps: RedeemDeps, input: { accountId: string; code: string }): Promise<Redemption> => {
  const accountId = checkAccountId(input.accountId);
  const now = clock(deps);
  const normalised = normaliseCode(input.code);
  if (normalised === undefined) throw new CodeRefusedError('unknown');
  const code = await deps.codes.get(hashCode(normalised));
  if (code?.status !== 'active' || (code.expiresAt !== undefined && code.expiresAt <= now.toISOString())) {
    throw new CodeRefusedError(refusalOf(code, now));
  }
  const topUpId = `code-${code.codeId}`;
  try {
    const credit = deps.codes.redeemItem(code, accountId, now);
    const result = await deps.wallets.topUp(accountId, code.amount, topUpId, now, undefined, credit);
    // Only reachable at the balance ceiling, where the top-up checks its id before the code.
    if (!result.applied) throw new CodeRefusedError('redeemed');
  } catch (error) {
    if (error instanceof TopUpConditionError) throw new CodeRefusedError(refusalOf(error.item, now));
    if (error instanceof UnknownAccountError) throw unknownAccount(accountId);
    if (error instanceof MoneyLimitError) throw new LimitExceededError(error.message, { cause: error });
    throw error;
  }
  const balance = (await deps.wallets.get(accountId))?.balance ?? 0;
  return {
    account: accountId,
    code_id: code.codeId,
    top_up_id: topUpId,
    amount_usd: formatUsd(code.amount),
    amount_nano: code.amount,
    balance_usd: formatUsd(balance),
    balance_nano: balance,
  };
};
