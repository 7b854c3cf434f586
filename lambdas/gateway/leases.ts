import { randomUUID } from 'node:crypto';
import type { WalletStore } from '../store/wallets.ts';
import { LEASE_ROW_SKEW_MS, LEASE_SK_PREFIX } from '../store/wallets.ts';
import type { LeaseRow } from '../vocabulary.ts';

/**
 * Credit leases ("granted units", as prepaid telecom grants a switch a block of a subscriber's
 * credit): one gateway instance reserves a slice of a well-funded wallet in one transaction, then
 * holds its requests in that slice in memory — nothing is written before the upstream call — and
 * writes each request's ledger row once, final, at its settle (a long stream also at its
 * checkpoints). The lease's close gives the wallet back the slice less the requests' costs, in one
 * transaction. So a busy account's wallet item is written twice per lease, not twice per request,
 * and concurrent requests never queue on it.
 *
 * The money rules hold as with a hold per request:
 * - **never below −(credit limit)**: the slice is taken by the wallet's own conditional decrement, and
 *   a request is held in it only while the slice still covers its hold;
 * - **the hold bounds the spend**: each request is still held for its worst case, priced and capped
 *   as before, and its row records that hold;
 * - **settle is idempotent**: a request's final row is written whole (the same row again changes
 *   nothing; a late checkpoint is conditional on the row not being final), the lease's close is
 *   conditional on `open`;
 * - **audit is exact**: an open lease counts as held in full, a closed one as its cost, and its
 *   requests' rows are summed into it (gateway/audit.ts).
 *
 * If the instance dies, the sweeper closes its lease once the lease's requests may no longer run: it
 * settles what is still pending in it (charged its checkpoint), sums the costs from the rows and closes.
 */

export interface LeaseOptions {
  /** Only accounts with at least this much spendable (nano-USD) lease; below, every request holds in the wallet. */
  minSpendable: number;
  /** A lease takes this share of what is spendable… */
  share: number;
  /** …at most this much (nano-USD)… */
  maxAmount: number;
  /** …and only when that covers at least this many holds like the one asking. */
  minHolds: number;
  /** New requests are held in a lease for this long after it opened; then a new one opens. */
  holdWindowMs: number;
  /** A lease with nothing in flight closes after this long without a new request. */
  idleCloseMs: number;
}

export const DEFAULT_LEASE_OPTIONS: LeaseOptions = {
  minSpendable: 100_000_000_000, // $100
  share: 1 / 20,
  maxAmount: 20_000_000_000, // $20
  minHolds: 20,
  holdWindowMs: 60_000,
  idleCloseMs: 2_000,
};

/** One open lease of this instance, and what it holds now. */
export interface Lease {
  readonly row: Pick<LeaseRow, 'accountId' | 'sk' | 'amount' | 'openedAt' | 'holdUntil'>;
  /** `row.openedAt` and `row.holdUntil` as epoch ms, read on every request. */
  readonly openedAtMs: number;
  readonly holdUntilMs: number;
  /** nano-USD not held and not spent: amount − Σ open holds − Σ settled costs (negative after an overrun). */
  available: number;
  /** Σ settled costs of its requests. */
  spent: number;
  /** Requests held in it and not yet settled. */
  inFlight: number;
  /** False once it takes no new request (expired, exhausted, idle): it closes when nothing is in flight. */
  accepting: boolean;
  /** A request of it could not be settled here: the sweeper closes it from the rows. */
  abandoned: boolean;
  idleTimer?: NodeJS.Timeout;
}

export interface LeaseBookOptions extends LeaseOptions {
  wallets: Pick<WalletStore, 'openLease' | 'closeLease'>;
  /** A lease opened (`delta` < 0) or closed (`delta` = what went back to the wallet): the instance's wallet snapshot follows. */
  onWalletChange?: (accountId: string, delta: number) => void;
  onCloseFailure?: (lease: Lease, error: unknown) => void;
}

/**
 * This instance's leases, by account. `take` answers the lease a request is held in (or undefined:
 * hold in the wallet), `settled` gives back what the request did not spend.
 */
export class LeaseBook {
  private readonly options: LeaseBookOptions;
  private readonly current = new Map<string, Lease>();
  private readonly opening = new Map<string, Promise<Lease | undefined>>();
  /** Every lease not yet closed (closing ones included), for `closeAll`. */
  private readonly live = new Set<Lease>();
  private readonly closing = new Set<Promise<void>>();
  /** Accounts whose last lease open was refused or failed, until when: they hold in the wallet meanwhile. */
  private readonly refusedUntil = new Map<string, number>();

  constructor(options: LeaseBookOptions) {
    this.options = options;
  }

  /**
   * Reserves `hold` for a request stamped `at` in a lease of the account, opening one when none
   * covers it; undefined when the account should hold in its wallet (too little spendable, a hold
   * too large for a slice, or the wallet refused the slice).
   */
  async take(accountId: string, hold: number, spendable: number | undefined, at: Date): Promise<Lease | undefined> {
    const now = Date.now();
    const amount =
      spendable === undefined || spendable < this.options.minSpendable
        ? 0
        : Math.min(this.options.maxAmount, Math.floor(spendable * this.options.share));
    const current = this.current.get(accountId);
    const held = this.reserve(current, hold, at, now);
    if (held) {
      // Nearly spent or nearly expired: the next lease opens now, in the background, so that no
      // request of a busy account waits on the wallet before its upstream call.
      if (amount >= hold * this.options.minHolds && this.runningLow(held, now)) this.openNext(accountId, amount, now);
      return held;
    }
    if (amount === 0 || amount < hold * this.options.minHolds) return undefined;
    return this.reserve(await this.openNext(accountId, amount, now), hold, at, Date.now());
  }

  /** Less than a quarter left, or less than a sixth of its window. */
  private runningLow(lease: Lease, now: number): boolean {
    return lease.available < lease.row.amount / 4 || lease.holdUntilMs - now < this.options.holdWindowMs / 6;
  }

  /** The account's next lease: the one opening, or a new one (none for a while after a refusal). */
  private openNext(accountId: string, amount: number, now: number): Promise<Lease | undefined> {
    if ((this.refusedUntil.get(accountId) ?? 0) > now) return Promise.resolve(undefined);
    let opening = this.opening.get(accountId);
    if (!opening) {
      opening = this.open(accountId, amount, now).finally(() => this.opening.delete(accountId));
      opening.catch(() => undefined);
      this.opening.set(accountId, opening);
    }
    return opening;
  }

  /** The request's row is final at `cost`. */
  settled(lease: Lease, hold: number, cost: number): void {
    lease.available += hold - cost;
    lease.spent += cost;
    lease.inFlight -= 1;
    this.afterRequest(lease);
  }

  /** The request's row could not be settled here (or was settled by the sweeper): the lease is the sweeper's. */
  abandoned(lease: Lease): void {
    lease.abandoned = true;
    lease.accepting = false;
    lease.inFlight -= 1;
    if (this.current.get(lease.row.accountId) === lease) this.current.delete(lease.row.accountId);
    clearTimeout(lease.idleTimer);
    this.live.delete(lease);
  }

  /** Stops every lease taking requests and closes those with nothing in flight; resolves when they are closed. */
  async closeAll(): Promise<void> {
    for (const lease of this.live) {
      lease.accepting = false;
      this.afterRequest(lease);
    }
    await Promise.all([...this.closing]);
  }

  private reserve(lease: Lease | undefined, hold: number, at: Date, now: number): Lease | undefined {
    if (!lease?.accepting) return undefined;
    const usable =
      now < lease.holdUntilMs &&
      at.getTime() >= lease.openedAtMs - LEASE_ROW_SKEW_MS &&
      at.getTime() <= lease.holdUntilMs;
    if (!usable || lease.available < hold) {
      // Expired or spent: it takes nothing more, and closes once its requests have settled.
      lease.accepting = false;
      if (this.current.get(lease.row.accountId) === lease) this.current.delete(lease.row.accountId);
      this.afterRequest(lease);
      return undefined;
    }
    lease.available -= hold;
    lease.inFlight += 1;
    clearTimeout(lease.idleTimer);
    return lease;
  }

  private async open(accountId: string, amount: number, now: number): Promise<Lease | undefined> {
    const openedAt = new Date(now).toISOString();
    const row = {
      accountId,
      sk: `${LEASE_SK_PREFIX}${openedAt}#${randomUUID()}`,
      amount,
      openedAt,
      holdUntil: new Date(now + this.options.holdWindowMs).toISOString(),
    };
    try {
      await this.options.wallets.openLease(row);
    } catch {
      // Refused (the wallet moved) or failed: requests hold in the wallet, which decides, and no
      // lease is tried again for a while — not a wallet transaction per request.
      this.refusedUntil.set(accountId, Date.now() + this.options.idleCloseMs * 5);
      return undefined;
    }
    this.refusedUntil.delete(accountId);
    const lease: Lease = {
      row,
      openedAtMs: now,
      holdUntilMs: now + this.options.holdWindowMs,
      available: amount,
      spent: 0,
      inFlight: 0,
      accepting: true,
      abandoned: false,
    };
    this.live.add(lease);
    const previous = this.current.get(accountId);
    this.current.set(accountId, lease);
    if (previous) {
      // Opened ahead of it: the old lease takes nothing more and closes once its requests have settled.
      previous.accepting = false;
      this.afterRequest(previous);
    }
    this.options.onWalletChange?.(accountId, -amount);
    return lease;
  }

  /** After a request ends (or the lease stops taking them): close now, or once idle. */
  private afterRequest(lease: Lease): void {
    if (lease.inFlight > 0 || lease.abandoned || !this.live.has(lease)) return;
    clearTimeout(lease.idleTimer);
    if (lease.accepting && Date.now() < lease.holdUntilMs) {
      lease.idleTimer = setTimeout(() => {
        lease.accepting = false;
        if (this.current.get(lease.row.accountId) === lease) this.current.delete(lease.row.accountId);
        this.afterRequest(lease);
      }, this.options.idleCloseMs);
      lease.idleTimer.unref();
      return;
    }
    this.close(lease);
  }

  private close(lease: Lease): void {
    this.live.delete(lease);
    if (this.current.get(lease.row.accountId) === lease) this.current.delete(lease.row.accountId);
    const closing = this.options.wallets
      .closeLease(lease.row, lease.spent)
      .then((closed) => {
        if (closed) this.options.onWalletChange?.(lease.row.accountId, lease.row.amount - lease.spent);
      })
      .catch((error: unknown) => this.options.onCloseFailure?.(lease, error)) // the sweeper closes it
      .finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }
}
