import { setTimeout as sleep } from 'node:timers/promises';
import { BillingError, isDatabaseTimeout } from '../errors.ts';
import {
  InsufficientFundsError,
  KeyLimitError,
  type Settlement,
  UnknownAccountError,
  type WalletStore,
} from '../store/wallets.ts';
import type { KeyRecord, Route, Usage, UsageRow, Wallet } from '../vocabulary.ts';
import type { Completion, Progress } from './forward.ts';
import { keyBudgetSk, keyLimitMessage, limitPeriod, limitResetOf } from './key-budget.ts';
import { type Lease, LeaseBook, type LeaseOptions } from './leases.ts';
import { formatUsd } from './money.ts';
import { costOf, FULL_PRICE_PPM, type HoldQuote, insufficientBalanceMessage, quoteHold } from './pricing.ts';
import type { OutputCap } from './spend-guard.ts';

/** A hold taken for one request. `committed` settles once DynamoDB has it (or refused it). */
export interface Hold {
  /** The pending row; `answeredBy` replaces its route fields when a fallback route answered. */
  row: UsageRow;
  answeredBy?: Route;
  quote: HoldQuote;
  committed: Promise<void>;
  /** How many characters of the request the estimates were made from. */
  bodyChars: number;
  /** The running cost last written onto the pending row (see `Billing.checkpoint`). */
  checkpointed?: number;
  /** The credit lease it is held in (gateway/leases.ts); absent: held in the wallet. */
  lease?: Lease;
}

/** Characters per token for billing an answer whose upstream reported no usage (documented). */
export const ESTIMATE_CHARS_PER_TOKEN = 4;

/**
 * What a finished request is charged (DESIGN §4). Every token the upstream produced is paid for;
 * nothing it did not produce is:
 * - usage the upstream reported is priced exactly, even beyond the hold (the row is then flagged
 *   `overrun`; the output cap makes that rare);
 * - an upstream that failed before producing anything costs nothing (the hold is released);
 * - output produced without (final) usage — a stream cut mid-way, an answer with no usage — is billed
 *   by the documented estimate (request characters / 4 in, output characters / 4 out), raised to any
 *   usage already reported, each side at most what was held for, and the row is marked `estimated`.
 *   An estimate never costs more than the hold.
 */
export const settlementFor = (
  handle: Hold,
  result: Completion | { outcome: 'upstream_error' | 'rejected' },
): Settlement => {
  const { row, answeredBy, quote } = handle;
  const billed: Partial<Settlement> =
    answeredBy && answeredBy.model !== row.model
      ? {
          fallbackFrom: row.model,
          model: answeredBy.model,
          provider: answeredBy.provider,
          upstreamModel: answeredBy.upstreamModel ?? answeredBy.model,
          prices: answeredBy.prices,
        }
      : {};
  const prices = billed.prices ?? row.prices;
  const released = { ...billed, cost: 0, outcome: result.outcome };
  if (!('usage' in result)) return released;
  const reported = result.usage;
  // Only a completed answer's usage is final; any other ending may have produced more than it reported.
  const complete = reported !== undefined && result.outcome !== 'upstream_error';
  if (reported === undefined && result.outputChars === 0 && result.outcome === 'upstream_error') return released;
  let usage: Usage;
  let estimated = false;
  if (complete) usage = reported;
  else {
    const outputEstimate = Math.min(Math.ceil(result.outputChars / ESTIMATE_CHARS_PER_TOKEN), quote.maxOutputTokens);
    const inputEstimate = Math.min(Math.ceil(handle.bodyChars / ESTIMATE_CHARS_PER_TOKEN), quote.inputTokens);
    usage = reported
      ? { ...reported, outputTokens: Math.max(reported.outputTokens, outputEstimate) }
      : { inputTokens: inputEstimate, outputTokens: outputEstimate, cacheReadTokens: 0, cacheWriteTokens: 0 };
    estimated = reported === undefined || usage.outputTokens > reported.outputTokens;
  }
  const cost = costOf(usage, prices, row.discountPpm);
  const settlement: Settlement = { ...billed, cost, outcome: result.outcome, usage };
  if (result.rawUsage !== undefined) settlement.rawUsage = result.rawUsage;
  if (estimated) settlement.estimated = true;
  if (cost > row.hold) settlement.overrun = true;
  return settlement;
};

type LeaseWallets = Pick<WalletStore, 'checkpointLeased' | 'settleLeased' | 'openLease' | 'closeLease'>;

interface Snapshot {
  wallet: Wallet;
  /** What this instance believes is spendable: the last read, less holds taken since. */
  spendable: number;
  fetchedAt: number;
}

export interface BillingOptions {
  wallets: Pick<WalletStore, 'get' | 'hold' | 'settle' | 'checkpoint'> & Partial<LeaseWallets>;
  /**
   * Credit leases for well-funded accounts (gateway/leases.ts), on wallets that have them; absent:
   * every request holds in the wallet.
   */
  leases?: LeaseOptions;
  onLeaseCloseFailure?: (lease: Lease, error: unknown) => void;
  /** A hold may overlap the upstream call when the snapshot covers this many such holds. */
  plentyFactor?: number;
  /** How long a wallet snapshot is trusted before it is read again (in the background). */
  snapshotTtlMs?: number;
  /** Waits between settle attempts when DynamoDB is failing; then the sweeper takes over (config.ts). */
  settleRetryDelaysMs: readonly number[];
  onSettleFailure?: (row: UsageRow, settlement: Settlement, error: unknown) => void;
  /** A settle that found its row already final (the sweeper got there first): nothing was charged by it. */
  onAlreadySettled?: (row: UsageRow, settlement: Settlement) => void;
}

/**
 * The wallet side of a request (DESIGN §4): a hold before the upstream call, a settle after the
 * final usage. Holds overlap the upstream call only when this instance's wallet snapshot shows
 * plenty of funds; otherwise the hold commits first. Either way the first byte waits for it.
 */
export class Billing {
  private readonly wallets: BillingOptions['wallets'];
  private readonly plentyFactor: number;
  private readonly snapshotTtlMs: number;
  private readonly settleRetryDelaysMs: readonly number[];
  private readonly onSettleFailure: NonNullable<BillingOptions['onSettleFailure']>;
  private readonly onAlreadySettled: NonNullable<BillingOptions['onAlreadySettled']>;
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly leases: LeaseBook | undefined;
  private readonly leaseWallets: LeaseWallets | undefined;

  constructor(options: BillingOptions) {
    this.wallets = options.wallets;
    const { wallets } = options;
    const leaseWallets =
      wallets.checkpointLeased && wallets.settleLeased && wallets.openLease && wallets.closeLease
        ? (wallets as LeaseWallets)
        : undefined;
    this.leaseWallets = leaseWallets;
    this.leases =
      options.leases &&
      leaseWallets &&
      new LeaseBook({
        ...options.leases,
        wallets: leaseWallets,
        // The snapshot follows the wallet: a lease's slice leaves it, what the close gives back returns.
        onWalletChange: (accountId, delta) => {
          const snapshot = this.snapshots.get(accountId);
          if (snapshot) snapshot.spendable += delta;
        },
        ...(options.onLeaseCloseFailure && { onCloseFailure: options.onLeaseCloseFailure }),
      });
    this.plentyFactor = options.plentyFactor ?? 50;
    this.snapshotTtlMs = options.snapshotTtlMs ?? 30_000;
    this.settleRetryDelaysMs = options.settleRetryDelaysMs;
    this.onSettleFailure = options.onSettleFailure ?? (() => {});
    this.onAlreadySettled = options.onAlreadySettled ?? (() => {});
  }

  private refresh(accountId: string): Promise<void> {
    const running = this.refreshing.get(accountId);
    if (running) return running;
    const refreshing = this.wallets
      .get(accountId)
      .then((wallet) => {
        if (wallet) this.snapshots.set(accountId, { wallet, spendable: wallet.spendable, fetchedAt: Date.now() });
        else this.snapshots.delete(accountId);
      })
      .catch((error: unknown) => {
        // A read that timed out says the hold's write would too: answer 503 now, not after a second deadline.
        if (isDatabaseTimeout(error)) throw error;
      })
      .finally(() => this.refreshing.delete(accountId));
    this.refreshing.set(accountId, refreshing);
    return refreshing;
  }

  /** The instance's snapshot of a wallet; read once when unknown, refreshed in the background when stale. */
  private async snapshot(accountId: string): Promise<Snapshot | undefined> {
    const known = this.snapshots.get(accountId);
    if (!known) {
      await this.refresh(accountId);
      return this.snapshots.get(accountId);
    }
    if (Date.now() - known.fetchedAt > this.snapshotTtlMs) this.refresh(accountId).catch(() => undefined);
    return known;
  }

  /**
   * Refuses (402) an account already past its credit limit, for requests that hold nothing (token
   * counts). Reads this instance's wallet snapshot, so it costs no database call when warm.
   */
  async assertSolvent(accountId: string): Promise<void> {
    const snapshot = await this.snapshot(accountId);
    if (!snapshot || snapshot.spendable >= 0) return;
    const { balance, creditLimit } = snapshot.wallet;
    throw new BillingError(
      `Insufficient balance: the balance is $${formatUsd(balance)}${
        creditLimit > 0 ? ` with a credit limit of $${formatUsd(creditLimit)}` : ''
      }, past what this account may spend. Top up the account.`,
    );
  }

  /**
   * Takes the hold for a routed request. Resolves when the upstream may be called: at once when
   * funds are plenty (await `committed` before the first byte), after the commit otherwise.
   * Throws 402 when the wallet cannot cover the worst case.
   */
  async hold(input: {
    requestId: string;
    key: KeyRecord;
    route: Route;
    /** Fallback routes that may answer instead: the hold covers the dearest of them. */
    fallbacks?: readonly Route[];
    body: unknown;
    bodyText: string;
    /** The output cap the upstream body carries (gateway/spend-guard.ts): the hold is priced on it. */
    cap: OutputCap;
    at?: Date;
  }): Promise<Hold> {
    const { requestId, key, route, body, bodyText, cap } = input;
    const heldAt = input.at ?? new Date();
    const at = heldAt.toISOString();
    const snapshot = await this.snapshot(key.accountId);
    const discountPpm = snapshot?.wallet.discountPpm ?? FULL_PRICE_PPM;
    const candidates = [route, ...(input.fallbacks ?? [])];
    const dearest = (pick: (r: Route) => number | undefined) => Math.max(...candidates.map((r) => pick(r) ?? 0));
    const quotePrices = {
      input: dearest((r) => r.prices.input),
      output: dearest((r) => r.prices.output),
      cacheWrite: dearest((r) => r.prices.cacheWrite),
    };
    const quote = quoteHold(bodyText, body, cap, quotePrices, discountPpm);
    if (!Number.isSafeInteger(quote.amount)) {
      // A max output no wallet could ever cover (billions of tokens): refuse it as such.
      throw new BillingError(
        insufficientBalanceMessage(
          quote,
          route.model,
          snapshot?.wallet.balance ?? 0,
          snapshot?.wallet.creditLimit ?? 0,
        ),
      );
    }
    const row: UsageRow = {
      accountId: key.accountId,
      sk: `${at}#${requestId}`,
      kind: 'usage',
      requestId,
      status: 'pending',
      hold: quote.amount,
      model: route.model,
      provider: route.provider,
      upstreamModel: route.upstreamModel ?? route.model,
      keyId: key.keyId,
      at,
      prices: route.prices,
      discountPpm,
    };
    // A key with a spend limit holds in its period's spend row too, within the same transaction.
    const limit = key.spendLimit;
    const period = limit === undefined ? undefined : limitPeriod(limitResetOf(key), heldAt);
    if (period !== undefined) row.keyBudget = keyBudgetSk(key.keyId, period);
    const budget = limit === undefined ? undefined : { room: limit - quote.amount };
    // A well-funded account holds in this instance's credit lease (gateway/leases.ts): no write of any
    // kind before the upstream call, one ledger write at the settle, none on the wallet.
    const lease =
      budget === undefined && this.leases
        ? await this.leases.take(key.accountId, quote.amount, snapshot?.spendable, heldAt)
        : undefined;
    if (lease) {
      // The lease's slice is the committed hold: nothing to write now. A stream that runs long
      // writes its pending row with its first checkpoint; every request's row is written at its settle.
      row.lease = lease.row.sk;
      return { row, quote, committed: Promise.resolve(), bodyChars: bodyText.length, lease };
    }
    // Only the wallet's snapshot can say "plenty"; a key's limit is always checked before the upstream call.
    const plenty =
      budget === undefined && snapshot !== undefined && snapshot.spendable >= quote.amount * this.plentyFactor;
    if (snapshot) snapshot.spendable -= quote.amount;
    // With plenty of funds the hold's write starts a timer tick later, so the upstream request goes
    // out first instead of queueing behind the SDK's work (the first byte still waits for it).
    const write = plenty
      ? new Promise<void>((tick) => setTimeout(tick, 0)).then(() => this.wallets.hold(row))
      : this.wallets.hold(row, budget);
    const committed = write.catch((error: unknown) => {
      if (error instanceof InsufficientFundsError) {
        this.snapshots.set(key.accountId, {
          wallet: error.wallet,
          spendable: error.wallet.spendable,
          fetchedAt: Date.now(),
        });
        throw new BillingError(
          insufficientBalanceMessage(quote, route.model, error.wallet.balance, error.wallet.creditLimit),
        );
      }
      if (snapshot) snapshot.spendable += quote.amount;
      if (error instanceof KeyLimitError && limit !== undefined && period !== undefined) {
        throw new BillingError(
          keyLimitMessage({
            limit,
            reset: period.reset,
            used: error.spend?.used ?? 0,
            hold: quote.amount,
            ...(period.endsAt !== undefined && { endsAt: period.endsAt }),
          }),
        );
      }
      if (error instanceof UnknownAccountError) {
        throw new BillingError(
          `Insufficient balance: account '${key.accountId}' has no wallet. Ask the operator to create it.`,
        );
      }
      throw error;
    });
    const handle: Hold = { row, quote, committed, bodyChars: bodyText.length };
    if (!plenty) await committed;
    else committed.catch(() => undefined); // awaited before the first byte; never unhandled
    return handle;
  }

  /** Closes this instance's credit leases once their requests have settled (shutdown, tests). */
  closeLeases(): Promise<void> {
    return this.leases?.closeAll() ?? Promise.resolve();
  }

  /**
   * Writes what a running stream would cost if it ended now onto its pending row, so that the
   * sweeper charges it, not nothing, if the invocation dies before its settle. Only a higher cost
   * is written; a failed write is left to the next checkpoint. Moves no money.
   */
  async checkpoint(handle: Hold, progress: Progress): Promise<void> {
    const { cost } = settlementFor(handle, { ...progress, outcome: 'upstream_error', endedAt: Date.now() });
    if (cost <= (handle.checkpointed ?? 0)) return;
    const previous = handle.checkpointed ?? 0;
    handle.checkpointed = cost;
    try {
      await handle.committed;
      if (handle.lease && this.leaseWallets) await this.leaseWallets.checkpointLeased(handle.row, cost);
      else await this.wallets.checkpoint(handle.row, cost);
    } catch {
      if (handle.checkpointed === cost) handle.checkpointed = previous; // the next checkpoint retries
    }
  }

  /**
   * Settles a committed hold, retrying while DynamoDB fails; a hold that cannot be settled stays
   * pending for the sweeper, so no money is lost or counted twice (the settle is idempotent).
   */
  async settle(
    handle: Hold,
    result: Completion | { outcome: 'upstream_error' | 'rejected' },
  ): Promise<Settlement | undefined> {
    try {
      await handle.committed;
    } catch {
      return undefined; // never held: nothing to settle
    }
    const settlement = settlementFor(handle, result);
    // Only a wallet with a low-balance threshold (as this instance last read it) pays the alert's
    // conditional write; a threshold set since counts once the snapshot is read again.
    const known = this.snapshots.get(handle.row.accountId);
    const checkAlert = known === undefined || known.wallet.alertBelow !== undefined;
    for (let attempt = 0; ; attempt += 1) {
      try {
        if (handle.lease && this.leaseWallets) {
          await this.leaseWallets.settleLeased(handle.row, settlement);
          this.leases?.settled(handle.lease, handle.row.hold, settlement.cost);
          return settlement;
        }
        if (!(await this.wallets.settle(handle.row, settlement, new Date(), { checkAlert }))) {
          // Already final: the sweeper charged the hold's checkpoint first. Nothing changed here.
          this.onAlreadySettled(handle.row, settlement);
          return undefined;
        }
        // The snapshot follows locally; it is read again only once stale (see `snapshot`).
        const snapshot = this.snapshots.get(handle.row.accountId);
        if (snapshot) snapshot.spendable += handle.row.hold - settlement.cost;
        return settlement;
      } catch (error) {
        // A malformed write will not get better by waiting; a failing database may.
        const delay = (error as Error).name === 'ValidationException' ? undefined : this.settleRetryDelaysMs[attempt];
        if (delay === undefined) {
          if (handle.lease) this.leases?.abandoned(handle.lease); // the sweeper settles the row and closes the lease
          this.onSettleFailure(handle.row, settlement, error);
          return undefined;
        }
        await sleep(delay);
      }
    }
  }
}
